#!/usr/bin/env bash
# Creates or updates behalf's Entra app registration from
# infra/entra/app-manifest.json: the API scope api://{client id}/access_as_user,
# the delegated Azure Databricks user_impersonation permission (plus sign-in
# scopes), the redirect URI {base}/api/auth/callback, the app roles approver
# and auditor, and — once the Azure deployment exists — a federated
# identity credential that lets behalf's managed identity sign in as the
# app, so production holds no client secret. Safe to run again: it finds
# the app and converges it to the manifest.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	cat <<'EOF'
Usage: scripts/entra-app.sh (--name DISPLAY_NAME | --app-id CLIENT_ID) --redirect-base URL
                            [--mi-principal-id OBJECT_ID | --from-deployment RESOURCE_GROUP [--env ENV]]
                            [--tenant TENANT_ID] [--dry-run]

  --name NAME              display name; the app is created when no app has it
  --app-id CLIENT_ID       update this app instead of looking it up by name
  --redirect-base URL      behalf's public base URL; the redirect URI is URL/api/auth/callback
  --mi-principal-id ID     object (principal) id of behalf's user-assigned managed identity:
                           adds the federated identity credential
  --from-deployment RG     read the identity and the URL from the Azure deployment behalf-ENV in RG
  --env ENV                deployment environment for --from-deployment (default: dev)
  --tenant TENANT_ID       tenant (default: the az CLI's current tenant)
  --dry-run                print what would run, change nothing

Run it before the first Azure deployment (to get the client id), and again
with --from-deployment after it (to add the federated credential).
EOF
}

guid='^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
name=""
app_id=""
redirect_base=""
mi=""
from_rg=""
env=dev
tenant=""
while [[ $# -gt 0 ]]; do
	case "$1" in
	--name) require_value "$1" "${2:-}"; name="$2"; shift 2 ;;
	--app-id) require_value "$1" "${2:-}"; app_id="$2"; shift 2 ;;
	--redirect-base) require_value "$1" "${2:-}"; redirect_base="${2%/}"; shift 2 ;;
	--mi-principal-id) require_value "$1" "${2:-}"; mi="$2"; shift 2 ;;
	--from-deployment) require_value "$1" "${2:-}"; from_rg="$2"; shift 2 ;;
	--env) require_value "$1" "${2:-}"; env="$2"; shift 2 ;;
	--tenant) require_value "$1" "${2:-}"; tenant="$2"; shift 2 ;;
	--dry-run) DRY_RUN=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument: $1" ;;
	esac
done
[[ -n "$name" || -n "$app_id" ]] || { usage >&2; die "--name or --app-id is required"; }
[[ -z "$app_id" || "$app_id" =~ $guid ]] || die "--app-id must be a GUID"
[[ -z "$mi" || "$mi" =~ $guid ]] || die "--mi-principal-id must be a GUID"
[[ -z "$tenant" || "$tenant" =~ $guid ]] || die "--tenant must be a GUID"
[[ "$name" =~ ^[A-Za-z0-9\ ._-]{0,120}$ ]] || die "--name may hold letters, digits, spaces and . _ -"
[[ "$env" =~ ^(dev|test|prod)$ ]] || die "--env must be dev, test or prod"
need az
root="$(repo_root)"

if [[ -n "$from_rg" ]]; then
	if [[ "$DRY_RUN" == 1 ]]; then
		mi="${mi:-00000000-0000-0000-0000-000000000000}"
		redirect_base="${redirect_base:-https://<deployment url>}"
	else
		q() { az deployment group show --resource-group "$from_rg" --name "behalf-$env" --query "properties.outputs.$1.value" --output tsv; }
		mi="$(q identityPrincipalId)"
		redirect_base="${redirect_base:-$(q publicUrl)}"
	fi
fi
[[ -n "$redirect_base" ]] || { usage >&2; die "--redirect-base (or --from-deployment) is required"; }
[[ "$redirect_base" =~ ^https://[A-Za-z0-9.:-]+(/[A-Za-z0-9._~/-]*)?$ || "$redirect_base" =~ ^http://localhost(:[0-9]+)?$ ||
	"$redirect_base" == "https://<deployment url>" ]] || die "--redirect-base must be an https URL (http only for localhost)"
redirect_uri="$redirect_base/api/auth/callback"

# value CMD...: a command's output, or a placeholder in a dry run (the
# command is printed either way).
value() {
	local placeholder="$1"
	shift
	if [[ "$DRY_RUN" == 1 ]]; then
		run "$@" >&2
		printf '%s' "$placeholder"
		return
	fi
	"$@"
}

if [[ -z "$tenant" ]]; then
	tenant="$(value 11111111-1111-1111-1111-111111111111 az account show --query tenantId --output tsv)"
fi

if [[ -z "$app_id" ]]; then
	found="$(value "" az ad app list --display-name "$name" --query '[].appId' --output tsv)"
	if [[ "$(printf '%s\n' "$found" | grep -c .)" -gt 1 ]]; then
		die "several apps are named '$name'; pass --app-id"
	fi
	app_id="$found"
fi
if [[ -z "$app_id" ]]; then
	log "creating app registration '$name'"
	app_id="$(value 22222222-2222-2222-2222-222222222222 az ad app create --display-name "$name" --sign-in-audience AzureADMyOrg --query appId --output tsv)"
fi
log "app registration $app_id"
object_id="$(value 33333333-3333-3333-3333-333333333333 az ad app show --id "$app_id" --query id --output tsv)"

# Azure Databricks' delegated scope id, read from its service principal
# (present in every tenant that has a workspace).
databricks_app=2ff814a6-3304-4ab8-85cb-cd0e6f879c1d
scope_id="$(value 44444444-4444-4444-4444-444444444444 az ad sp show --id "$databricks_app" \
	--query "oauth2PermissionScopes[?value=='user_impersonation'].id | [0]" --output tsv)"
[[ "$scope_id" =~ $guid ]] || die "Azure Databricks (app $databricks_app) has no service principal in this tenant; create a workspace first or run: az ad sp create --id $databricks_app"

manifest="$(private_file)"
# Every substituted value was validated above (GUIDs, a URL without sed metacharacters).
sed -e "s|__CLIENT_ID__|$app_id|g" -e "s|__DATABRICKS_USER_IMPERSONATION__|$scope_id|g" -e "s|__REDIRECT_URI__|$redirect_uri|g" \
	"$root/infra/entra/app-manifest.json" >"$manifest"
log "applying infra/entra/app-manifest.json (scope access_as_user, roles, permissions, redirect $redirect_uri)"
run az rest --method PATCH --uri "https://graph.microsoft.com/v1.0/applications/$object_id" \
	--headers Content-Type=application/json --body "@$manifest"

if [[ "$DRY_RUN" == 1 ]] || ! az ad sp show --id "$app_id" --output none 2>/dev/null; then
	run az ad sp create --id "$app_id" --output none
fi

if [[ -n "$mi" ]]; then
	fic="$(private_file)"
	sed -e "s|__TENANT_ID__|$tenant|g" -e "s|__MI_PRINCIPAL_ID__|$mi|g" "$root/infra/entra/federated-credential.json" >"$fic"
	existing="$(value "" az ad app federated-credential list --id "$app_id" --query "[?name=='behalf-managed-identity'].id | [0]" --output tsv)"
	if [[ -n "$existing" ]]; then
		log "updating the federated credential for managed identity $mi"
		run az ad app federated-credential update --id "$app_id" --federated-credential-id "$existing" --parameters "@$fic" --output none
	else
		log "adding the federated credential for managed identity $mi"
		run az ad app federated-credential create --id "$app_id" --parameters "@$fic" --output none
	fi
else
	warn "no managed identity given: add the federated credential after the Azure deployment (--from-deployment RG)"
fi

[[ "$DRY_RUN" == 1 ]] && log "dry run: the ids below are placeholders"
cat <<EOF

Done. Settings for behalf:
  BEHALF_CLIENT_ID=$app_id
  BEHALF_TENANT_IDS=$tenant

Admin consent (a Global or Privileged Role Administrator, once per tenant):
  az ad app permission admin-consent --id $app_id
or open
  https://login.microsoftonline.com/$tenant/adminconsent?client_id=$app_id

Then assign people or groups to the approver and auditor app roles
(Enterprise applications > $app_id > Users and groups).
EOF
