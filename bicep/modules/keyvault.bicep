// Key Vault (RBAC authorization) for behalf's secrets: the cookie-session
// keys and, when approvals post to Teams, the Workflows webhook URL (its
// sig= parameter is a credential). The templates never hold a value:
// scripts/deploy-azure.sh generates the session keys into the vault, and
// the operator stores the webhook URL; the function app reads them through
// Key Vault references with its managed identity, as Key Vault Secrets
// User (read secret values, nothing else).

param name string
param location string
param tags object = {}

@description('Principal id of the function app identity (reads secrets).')
param appPrincipalId string

@description('Principal id of the deployer that writes the secrets (Key Vault Secrets Officer); empty: none.')
param deployerPrincipalId string = ''

@allowed(['User', 'ServicePrincipal', 'Group'])
param deployerPrincipalType string = 'User'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
  }
}

var secretsUser = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6')
var secretsOfficer = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7')

// The vault holds only behalf's secrets, and the secrets do not exist when
// this runs (no template holds their values), so the vault is the scope.
resource appReads 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appPrincipalId, secretsUser)
  scope: vault
  properties: { roleDefinitionId: secretsUser, principalId: appPrincipalId, principalType: 'ServicePrincipal' }
}

resource deployerWrites 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(vault.id, deployerPrincipalId, secretsOfficer)
  scope: vault
  properties: { roleDefinitionId: secretsOfficer, principalId: deployerPrincipalId, principalType: deployerPrincipalType }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
