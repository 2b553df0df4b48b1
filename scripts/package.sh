#!/usr/bin/env bash
# Builds both deployable zips into dist/ with the Go packager
# (scripts/package): behalf-functions.zip for Azure Functions and
# behalf-lambda.zip (bootstrap) for AWS Lambda.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	cat <<'EOF'
Usage: scripts/package.sh [--out DIR] [--version V] [--lambda-arch arm64|amd64] [--dry-run]

Builds dist/behalf-functions.zip (Azure Functions custom handler: host.json,
one folder per function, the linux/amd64 binary) and dist/behalf-lambda.zip
(AWS Lambda provided.al2023: bootstrap, built with -tags lambda.norpc).
Neither contains the dev-stack emulators.

  --out DIR          output folder (default: dist)
  --version V        version stamped into the binary (default: git describe)
  --lambda-arch A    Lambda architecture; must match infra/aws/template.yaml (default: arm64)
  --dry-run          print what would run
EOF
}

out=dist
version=""
arch=arm64
while [[ $# -gt 0 ]]; do
	case "$1" in
	--out) require_value "$1" "${2:-}"; out="$2"; shift 2 ;;
	--version) require_value "$1" "${2:-}"; version="$2"; shift 2 ;;
	--lambda-arch) require_value "$1" "${2:-}"; arch="$2"; shift 2 ;;
	--dry-run) DRY_RUN=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument: $1" ;;
	esac
done
[[ "$arch" == arm64 || "$arch" == amd64 ]] || die "--lambda-arch must be arm64 or amd64"

need go
cd "$(repo_root)"
if [[ -z "$version" ]]; then
	version="$(git describe --always --dirty 2>/dev/null || echo dev)"
fi
run go run ./scripts/package -out "$out" -version "$version" -lambda-arch "$arch"
