#!/usr/bin/env bash
# Smoke test of a deployed behalf: health answers, a call without a token
# is refused with 401, and — when a user token is given in an environment
# variable — an authenticated call succeeds as that person. The token is
# handed to curl through a private config file: it never appears in the
# command line, the output or the logs.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	cat <<'EOF'
Usage: scripts/smoke.sh --url BASE_URL [--token-env VAR] [--attempts N] [--dry-run]

  --url BASE_URL   behalf's base URL, e.g. https://behalf-prod-xxxx.azurewebsites.net
  --token-env VAR  environment variable holding a user access token for behalf's
                   API (scope api://<client id>/access_as_user); default
                   BEHALF_SMOKE_TOKEN. Unset: the authenticated call is skipped.
  --attempts N     health attempts, 10 s apart, while a new deployment starts (default 18)
  --dry-run        print what would run

Get a token, e.g.:
  export BEHALF_SMOKE_TOKEN="$(az account get-access-token --scope api://<client id>/access_as_user --query accessToken -o tsv)"
EOF
}

url=""
token_env=BEHALF_SMOKE_TOKEN
attempts=18
while [[ $# -gt 0 ]]; do
	case "$1" in
	--url) require_value "$1" "${2:-}"; url="${2%/}"; shift 2 ;;
	--token-env) require_value "$1" "${2:-}"; token_env="$2"; shift 2 ;;
	--attempts) require_value "$1" "${2:-}"; attempts="$2"; shift 2 ;;
	--dry-run) DRY_RUN=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument: $1" ;;
	esac
done
[[ -n "$url" ]] || { usage >&2; die "--url is required"; }
[[ "$url" =~ ^https://[A-Za-z0-9.-]+(:[0-9]+)?(/.*)?$ || "$url" =~ ^http://(localhost|127\.0\.0\.1)(:[0-9]+)?(/.*)?$ ]] ||
	die "--url must be an https URL (http only for localhost)"
[[ "$attempts" =~ ^[0-9]+$ && "$attempts" -ge 1 && "$attempts" -le 100 ]] || die "--attempts must be 1-100"
[[ "$token_env" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "--token-env must be a variable name"
need curl

body="$(private_file)"

# status GET PATH [CURL CONFIG FILE]: prints the HTTP status, keeps the body.
status() {
	local args=(--silent --show-error --output "$body" --write-out '%{http_code}' --max-time 30)
	if [[ -n "${2:-}" ]]; then
		args+=(--config "$2")
	fi
	curl "${args[@]}" "$url$1" || printf '000'
}

if [[ "$DRY_RUN" == 1 ]]; then
	run curl --silent --fail "$url/api/health"
	run curl --silent "$url/api/auth/me" "# expect 401"
	if [[ -n "${!token_env:-}" ]]; then
		run curl --silent --config "<private file with the Authorization header from \$$token_env>" "$url/api/auth/me" "# expect 200"
	fi
	exit 0
fi

log "health: $url/api/health"
code=000
for ((i = 1; i <= attempts; i++)); do
	code="$(status /api/health)"
	[[ "$code" == 200 ]] && break
	log "health answered $code (attempt $i/$attempts); waiting for the app to start"
	sleep 10
done
[[ "$code" == 200 ]] || die "health did not answer 200 (last: $code): $(head -c 500 "$body")"
grep -q '"status"' "$body" || die "health answered 200 without a status: $(head -c 500 "$body")"
log "health: ok"

code="$(status /api/auth/me)"
[[ "$code" == 401 ]] || die "an unauthenticated call answered $code, not 401: $(head -c 500 "$body")"
log "unauthenticated call refused: ok (401)"

if [[ -z "${!token_env:-}" ]]; then
	warn "\$$token_env is unset: skipping the authenticated call"
	exit 0
fi
config="$(private_file)"
# curl reads the header from the private file; the token never reaches argv.
printf 'header = "Authorization: Bearer %s"\n' "${!token_env}" >"$config"
code="$(status /api/auth/me "$config")"
[[ "$code" == 200 ]] || die "the authenticated call answered $code: $(head -c 500 "$body")"
log "authenticated call as the token's person: ok"
