#!/usr/bin/env bash
# Shared helpers for behalf's scripts; sourced, never run.
#
#   run CMD ARGS...   runs a command, or only prints it with --dry-run.
#                     Never pass a secret as an argument: arguments are
#                     printed (and visible in ps); use files or stdin.
#   log / warn / die  messages on stderr.
#   need CMD...       fails with a clear message when a tool is missing.
#   private_file      prints the path of a new 0600 temp file that is
#                     removed when the script exits.

DRY_RUN="${DRY_RUN:-0}"
BEHALF_TMP_FILES=()

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# run prints the command (quoted so it can be pasted) and runs it unless
# this is a dry run.
run() {
	local quoted
	printf -v quoted '%q ' "$@"
	if [[ "$DRY_RUN" == 1 ]]; then
		printf '[dry-run] %s\n' "${quoted% }"
		return 0
	fi
	printf '+ %s\n' "${quoted% }" >&2
	"$@"
}

# need fails unless the tools exist; a dry run only warns, so that it can
# show the plan on any machine.
need() {
	local c
	for c in "$@"; do
		if ! command -v "$c" >/dev/null 2>&1; then
			[[ "$DRY_RUN" == 1 ]] || die "$c is required but not installed (see the README's prerequisites)"
			warn "$c is not installed (dry run: continuing)"
		fi
	done
}

cleanup_private_files() {
	local f
	for f in "${BEHALF_TMP_FILES[@]}"; do
		rm -f -- "$f"
	done
}
trap cleanup_private_files EXIT

private_file() {
	local f
	f="$(umask 077 && mktemp "${TMPDIR:-/tmp}/behalf.XXXXXX")"
	BEHALF_TMP_FILES+=("$f")
	printf '%s\n' "$f"
}

# repo_root prints the repository root (the scripts live in scripts/).
repo_root() {
	cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd
}

# require_value fails unless $2 (the value of option $1) is non-empty.
require_value() {
	[[ -n "${2:-}" ]] || die "$1 needs a value (see --help)"
}
