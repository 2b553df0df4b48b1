#!/usr/bin/env bash
# Deploys behalf to Azure in one command: the resource group deployment of
# bicep/main.bicep, the session keys into Key Vault (generated once, never
# printed), the zip package onto the Flex Consumption app, and a health
# smoke check. Safe to run again: every step converges.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	cat <<'EOF'
Usage: scripts/deploy-azure.sh --resource-group RG [--location LOCATION] [--env dev|test|prod]
                               [--params FILE.bicepparam] [--skip-package] [--dry-run]

Reads from the environment (see bicep/README.md):
  BEHALF_CLIENT_ID, BEHALF_TENANT_IDS, BEHALF_DATABRICKS_HOST   required (scripts/entra-app.sh prints the first two)
  BEHALF_GENIE_SPACE_ID, BEHALF_SQL_WAREHOUSE_ID, BEHALF_ALLOWED_ORIGINS, ... optional, per the .bicepparam file
  TEAMS_WEBHOOK_URL_FILE   a file holding the Teams Workflows webhook URL, stored in Key Vault (optional)

  --resource-group RG   resource group (created when missing)
  --location LOCATION   region for a new resource group (default: westeurope)
  --env ENV             dev, test or prod (default: dev); picks bicep/main.ENV.bicepparam
  --params FILE         another .bicepparam file
  --skip-package        deploy dist/behalf-functions.zip as it is
  --dry-run             print what would run, change nothing
EOF
}

rg=""
location=westeurope
env=dev
params=""
skip_package=0
while [[ $# -gt 0 ]]; do
	case "$1" in
	--resource-group | -g) require_value "$1" "${2:-}"; rg="$2"; shift 2 ;;
	--location | -l) require_value "$1" "${2:-}"; location="$2"; shift 2 ;;
	--env) require_value "$1" "${2:-}"; env="$2"; shift 2 ;;
	--params) require_value "$1" "${2:-}"; params="$2"; shift 2 ;;
	--skip-package) skip_package=1; shift ;;
	--dry-run) DRY_RUN=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument: $1" ;;
	esac
done
[[ -n "$rg" ]] || { usage >&2; die "--resource-group is required"; }
[[ "$rg" =~ ^[A-Za-z0-9._()-]{1,90}$ ]] || die "--resource-group is not a valid resource group name"
[[ "$env" =~ ^(dev|test|prod)$ ]] || die "--env must be dev, test or prod"
if [[ -n "$params" ]]; then
	[[ -f "$params" ]] || die "parameter file $params not found"
	params="$(cd "$(dirname "$params")" && pwd)/$(basename "$params")"
fi
root="$(repo_root)"
cd "$root"
params="${params:-bicep/main.$env.bicepparam}"
[[ -f "$params" ]] || die "parameter file $params not found"
for v in BEHALF_CLIENT_ID BEHALF_TENANT_IDS BEHALF_DATABRICKS_HOST; do
	[[ -n "${!v:-}" || "$DRY_RUN" == 1 ]] || die "$v must be set (bicep/README.md)"
done
need az
if [[ "$DRY_RUN" != 1 ]]; then
	az account show --output none 2>/dev/null || die "not signed in: run az login"
fi

# output NAME: a deployment output (placeholder in a dry run).
deployment="behalf-$env"
output() {
	if [[ "$DRY_RUN" == 1 ]]; then
		case "$1" in
		url) printf 'https://dry-run.invalid' ;;
		*) printf '<%s>' "$1" ;;
		esac
		return
	fi
	az deployment group show --resource-group "$rg" --name "$deployment" --query "properties.outputs.$1.value" --output tsv
}

log "resource group $rg"
if [[ "$DRY_RUN" == 1 ]] || ! az group show --name "$rg" --output none 2>/dev/null; then
	run az group create --name "$rg" --location "$location" --output none
fi

# The deployer may write the vault's secrets (Key Vault Secrets Officer).
if [[ -z "${BEHALF_DEPLOYER_OBJECT_ID:-}" && "$DRY_RUN" != 1 ]]; then
	BEHALF_DEPLOYER_OBJECT_ID="$(az ad signed-in-user show --query id --output tsv 2>/dev/null || true)"
	[[ -n "$BEHALF_DEPLOYER_OBJECT_ID" ]] || warn "could not read the signed-in user's object id; set BEHALF_DEPLOYER_OBJECT_ID (a service principal's object id) to write the session keys"
fi
export BEHALF_DEPLOYER_OBJECT_ID="${BEHALF_DEPLOYER_OBJECT_ID:-}"

log "deploying bicep/main.bicep with $params"
run az deployment group create --resource-group "$rg" --name "$deployment" --parameters "$params" --output none

app="$(output functionAppName)"
vault="$(output vaultName)"
sessions="$(output vaultItemSessions)"
base="$(output url)"

# set_secret NAME FILE: stores FILE's content as a secret. Role
# assignments take a few minutes to apply, so a fresh deployer is retried.
set_secret() {
	local attempt
	for attempt in 1 2 3 4 5 6 7 8 9 10; do
		if run az keyvault secret set --vault-name "$vault" --name "$1" --file "$2" --encoding utf-8 --output none; then
			return 0
		fi
		log "Key Vault refused the write (attempt $attempt/10; a new role assignment may still be applying)"
		sleep 30
	done
	die "could not write secret $1 to $vault"
}

log "session keys in $vault"
if [[ "$DRY_RUN" == 1 ]]; then
	run az keyvault secret set --vault-name "$vault" --name "$sessions" --file "<private file: k1:<32 random bytes, base64>>" --encoding utf-8 --output none
elif az keyvault secret show --vault-name "$vault" --name "$sessions" --query id --output none 2>/dev/null; then
	log "session keys exist; kept (rotate: docs in bicep/README.md)"
else
	need openssl
	keys="$(private_file)"
	printf 'k1:%s' "$(openssl rand -base64 32)" >"$keys"
	set_secret "$sessions" "$keys"
fi

if [[ -n "${TEAMS_WEBHOOK_URL_FILE:-}" ]]; then
	[[ -f "$TEAMS_WEBHOOK_URL_FILE" ]] || die "TEAMS_WEBHOOK_URL_FILE $TEAMS_WEBHOOK_URL_FILE does not exist"
	log "Teams webhook URL into $vault"
	set_secret "$(output vaultItemTeamsWebhook)" "$TEAMS_WEBHOOK_URL_FILE"
fi

if [[ "$skip_package" != 1 ]]; then
	run "$root/scripts/package.sh"
fi
zip="dist/behalf-functions.zip"
[[ -f "$zip" || "$DRY_RUN" == 1 ]] || die "$zip not found; run scripts/package.sh"

log "deploying $zip to $app"
run az functionapp deployment source config-zip --resource-group "$rg" --name "$app" --src "$zip" --output none

log "smoke check"
smoke=("$root/scripts/smoke.sh" --url "$base")
[[ "$DRY_RUN" == 1 ]] && smoke+=(--dry-run)
"${smoke[@]}"
log "deployed: $base"
