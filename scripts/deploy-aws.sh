#!/usr/bin/env bash
# Deploys behalf to AWS Lambda in one command: the Lambda zip, the SAM
# stack (infra/aws/template.yaml), the public URL fed back into the stack
# when no custom domain is given, and a health smoke check. Safe to run
# again: sam deploy converges and an unchanged stack is not an error.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	cat <<'EOF'
Usage: scripts/deploy-aws.sh --stack NAME --params FILE [--region REGION] [--skip-package] [--dry-run]

  --stack NAME     CloudFormation stack name (also the prefix of the schedule rules;
                   keep it under 40 characters)
  --params FILE    parameter overrides, one Key=Value per line (infra/aws/params.example);
                   secrets are Secrets Manager ARNs, never values
  --region REGION  AWS region (default: $AWS_REGION, else the CLI's default)
  --skip-package   deploy dist/behalf-lambda.zip as it is
  --dry-run        print what would run, change nothing

The template is deployed as it is (the zip is prebuilt by scripts/package.sh),
so `sam build` is not needed.
EOF
}

stack=""
params=""
region="${AWS_REGION:-}"
skip_package=0
while [[ $# -gt 0 ]]; do
	case "$1" in
	--stack) require_value "$1" "${2:-}"; stack="$2"; shift 2 ;;
	--params) require_value "$1" "${2:-}"; params="$2"; shift 2 ;;
	--region) require_value "$1" "${2:-}"; region="$2"; shift 2 ;;
	--skip-package) skip_package=1; shift ;;
	--dry-run) DRY_RUN=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument: $1" ;;
	esac
done
[[ -n "$stack" && -n "$params" ]] || { usage >&2; die "--stack and --params are required"; }
[[ "$stack" =~ ^[A-Za-z][A-Za-z0-9-]{0,39}$ ]] || die "--stack must be a CloudFormation stack name of at most 40 characters (rule names add -<function>)"
[[ -f "$params" ]] || die "parameter file $params not found"
params="$(cd "$(dirname "$params")" && pwd)/$(basename "$params")"
root="$(repo_root)"
cd "$root"
need sam aws

# Parameter overrides: Key=Value lines; comments and blank lines skipped.
overrides=()
public_url=""
while IFS= read -r line || [[ -n "$line" ]]; do
	[[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
	[[ "$line" =~ ^([A-Za-z0-9]+)=(.*)$ ]] || die "$params: not Key=Value: $line"
	key="${BASH_REMATCH[1]}"
	value="${BASH_REMATCH[2]}"
	case "$key" in
	*Secret | *Password | *Token | *ConnectionString) die "$params: $key looks like a secret value; store it in Secrets Manager and pass ${key}Arn" ;;
	PublicUrl) public_url="$value" ;;
	esac
	# Empty values keep the template's default (always empty here).
	if [[ -n "$value" ]]; then
		overrides+=("$key=$value")
	fi
done <"$params"

region_args=()
[[ -n "$region" ]] && region_args=(--region "$region")

if [[ "$skip_package" != 1 ]]; then
	run "$root/scripts/package.sh"
fi
[[ -f dist/behalf-lambda.zip || "$DRY_RUN" == 1 ]] || die "dist/behalf-lambda.zip not found; run scripts/package.sh"

deploy() {
	run sam deploy --template-file infra/aws/template.yaml --stack-name "$stack" "${region_args[@]}" \
		--capabilities CAPABILITY_IAM --resolve-s3 --no-fail-on-empty-changeset --no-confirm-changeset \
		--parameter-overrides "$@"
}

api_url() {
	if [[ "$DRY_RUN" == 1 ]]; then
		printf 'https://dry-run.invalid'
		return
	fi
	aws cloudformation describe-stacks --stack-name "$stack" "${region_args[@]}" \
		--query "Stacks[0].Outputs[?OutputKey=='ApiUrl'].OutputValue" --output text
}

log "deploying stack $stack"
deploy "${overrides[@]}"
url="$(api_url)"
if [[ -z "$public_url" ]]; then
	# The API's URL exists only once the stack does; the sign-in redirect
	# needs it, so the stack is updated with it (a no-op on later runs).
	log "setting PublicUrl to $url"
	deploy "${overrides[@]}" "PublicUrl=$url"
	public_url="$url"
fi

log "smoke check"
smoke=("$root/scripts/smoke.sh" --url "$url")
[[ "$DRY_RUN" == 1 ]] && smoke+=(--dry-run)
"${smoke[@]}"
log "deployed: $url (public URL $public_url)"
log "Entra: add $public_url/api/auth/callback as a redirect URI (scripts/entra-app.sh --redirect-base $public_url)"
