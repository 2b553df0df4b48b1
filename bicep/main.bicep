// behalf on Azure: one resource group holding the function app (Flex
// Consumption, Linux, custom handler), its user-assigned managed identity,
// host storage, Service Bus with the pending-operations and audit queues,
// Key Vault for the session keys and the Teams webhook URL, Application
// Insights with Log Analytics, and (optionally) WORM storage for audit
// exports. The managed identity is the only credential: every connection
// is identity-based, every secret a Key Vault reference, and no parameter
// or output carries a secret.
//
// Deploy with scripts/deploy-azure.sh (bicep/README.md). The app settings
// below are checked against behalf's configuration by
// scripts/deploycheck: every BEHALF_* setting is a real setting, and every
// setting the code reads is set here or listed, with its reason, in
// scripts/deploycheck/optional-settings.json. Keep one entry per line.

targetScope = 'resourceGroup'

@description('Short name used in every resource name: 3-11 lowercase letters or digits.')
@minLength(3)
@maxLength(11)
param name string = 'behalf'

@description('Environment label used in resource names and tags.')
@allowed(['dev', 'test', 'prod'])
param environment string

param location string = resourceGroup().location

param tags object = {}

// ---- Identity: the Entra app registration (scripts/entra-app.sh) ----

@description('Application (client) id of behalf\'s Entra app registration.')
param clientId string

@description('Comma-separated Entra tenant ids whose people may call behalf; the first is the home tenant.')
param tenantIds string

@description('Databricks workspace URL, e.g. https://adb-1234567890123456.7.azuredatabricks.net.')
param databricksHost string

@description('How a person\'s token becomes a Databricks token.')
@allowed(['entra-obo', 'federation', 'forwarded'])
param exchange string = 'entra-obo'

@description('Client app ids allowed to call obo-exchange, comma-separated; empty allows none.')
param brokerAllowedApps string = ''

@description('Frontend origins a sign-in may redirect back to, comma-separated.')
param allowedOrigins string = ''

@description('Public base URL of behalf; empty: https://<function app>.azurewebsites.net.')
param publicUrl string = ''

// ---- Genie and SQL ----

@description('Genie space asked when a request names none.')
param genieSpaceId string = ''

@description('Other Genie spaces callers may name, comma-separated.')
param genieAllowedSpaces string = ''

@description('SQL warehouse statements run on when a request names none.')
param sqlWarehouseId string = ''

@description('Other warehouses callers may name, comma-separated.')
param sqlAllowedWarehouses string = ''

@description('Approval policy overrides (class or risk = self or four-eyes, comma-separated); empty: the built-in policy.')
param sqlPolicies string = ''

@description('Object id of the Entra group whose members approve four-eyes operations.')
param approversGroupId string = ''

@description('Minutes a proposed change waits for approval: BEHALF_APPROVAL_WINDOW and the pending queue\'s time to live.')
@minValue(1)
@maxValue(10080)
param approvalWindowMinutes int = 60

@description('Post approval cards to Teams: the Workflows webhook URL must be stored in the vault as secret teams-webhook-url.')
param teamsNotifications bool = false

// ---- Queues ----

@description('Session-enabled queue of pending operations (BEHALF_PENDING_QUEUE).')
param pendingQueueName string = 'pending-operations'

@description('Queue of audit events read by audit-writer (BEHALF_AUDIT_QUEUE).')
param auditQueueName string = 'audit'

@description('Deliveries of an audit event before it is dead-lettered.')
@minValue(1)
@maxValue(100)
param auditMaxDeliveryCount int = 10

// ---- Audit trail ----

@description('Delta table (catalog.schema.table) of the audit store, written by behalf\'s managed identity as a Databricks service principal.')
param auditTable string = 'main.behalf.audit_events'

@description('SQL warehouse of the audit store; empty: sqlWarehouseId.')
param auditWarehouseId string = ''

@description('When audit-export runs: six-field NCRONTAB, UTC.')
param auditExportSchedule string = '0 0 2 * * *'

@description('Create the audit export storage account and container (the export sink is then blob; otherwise none).')
param auditExportStorage bool = true

@description('Days each exported audit file stays immutable (WORM); 0: no immutability policy.')
@minValue(0)
param exportImmutabilityDays int = 0

// ---- Operations ----

@description('Log level: debug, info, warn or error.')
@allowed(['debug', 'info', 'warn', 'error'])
param logLevel string = 'info'

@description('Object id of whoever runs the deployment (written by deploy-azure.sh); it may then write the vault\'s secrets. Empty: none.')
param deployerPrincipalId string = ''

@allowed(['User', 'ServicePrincipal', 'Group'])
param deployerPrincipalType string = 'User'

@description('Most instances the app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Flex Consumption runtime version of the custom handler stack (az functionapp list-flexconsumption-runtimes).')
param flexRuntimeVersion string = '1.0'

var suffix = uniqueString(resourceGroup().id, name, environment)
var prefix = '${name}-${environment}'
var allTags = union({ app: 'behalf', environment: environment }, tags)
var appName = '${prefix}-${suffix}'
var sessionKeysSecret = 'session-keys'
var teamsWebhookSecret = 'teams-webhook-url'
var effectivePublicUrl = empty(publicUrl) ? 'https://${appName}.azurewebsites.net' : publicUrl

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: { name: 'id-${prefix}', location: location, tags: allTags }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: 'log-${prefix}'
    appInsightsName: 'appi-${prefix}'
    location: location
    tags: allTags
    publisherPrincipalId: identity.outputs.principalId
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: take('st${name}${environment}${suffix}', 24)
    location: location
    tags: allTags
    appPrincipalId: identity.outputs.principalId
  }
}

module serviceBus 'modules/servicebus.bicep' = {
  name: 'servicebus'
  params: {
    name: 'sb-${prefix}-${suffix}'
    location: location
    tags: allTags
    pendingQueueName: pendingQueueName
    auditQueueName: auditQueueName
    approvalWindowMinutes: approvalWindowMinutes
    auditMaxDeliveryCount: auditMaxDeliveryCount
    appPrincipalId: identity.outputs.principalId
  }
}

module vault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: take('kv-${name}-${environment}-${suffix}', 24)
    location: location
    tags: allTags
    appPrincipalId: identity.outputs.principalId
    deployerPrincipalId: deployerPrincipalId
    deployerPrincipalType: deployerPrincipalType
  }
}

module exportStorage 'modules/export-storage.bicep' = if (auditExportStorage) {
  name: 'export-storage'
  params: {
    name: take('stx${name}${environment}${suffix}', 24)
    location: location
    tags: allTags
    immutabilityDays: exportImmutabilityDays
    appPrincipalId: identity.outputs.principalId
  }
}

// Instances of Flex Consumption share no disk, so the audit store is the
// Databricks table (an embedded SQLite file would split the hash chain).
var exportContainerUrl = auditExportStorage ? '${exportStorage.outputs.blobEndpoint}${exportStorage.outputs.containerName}' : ''

// Key Vault references without a version follow the secret's latest
// version, so rotating a session key needs no redeployment.
var sessionKeysRef = '@Microsoft.KeyVault(VaultName=${vault.outputs.name};SecretName=${sessionKeysSecret})'
var teamsWebhookRef = '@Microsoft.KeyVault(VaultName=${vault.outputs.name};SecretName=${teamsWebhookSecret})'

var appSettings = [
  { name: 'AzureWebJobsStorage__accountName', value: storage.outputs.name }
  { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
  { name: 'AzureWebJobsStorage__clientId', value: identity.outputs.clientId }
  { name: 'ServiceBusConnection__fullyQualifiedNamespace', value: serviceBus.outputs.fullyQualifiedNamespace }
  { name: 'ServiceBusConnection__credential', value: 'managedidentity' }
  { name: 'ServiceBusConnection__clientId', value: identity.outputs.clientId }
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: monitoring.outputs.appInsightsConnectionString }
  { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identity.outputs.clientId};Authorization=AAD' }
  { name: 'BEHALF_LOG_LEVEL', value: logLevel }
  { name: 'BEHALF_CLIENT_ID', value: clientId }
  { name: 'BEHALF_TENANT_IDS', value: tenantIds }
  { name: 'BEHALF_CREDENTIAL', value: 'managed-identity' }
  { name: 'BEHALF_MANAGED_IDENTITY_CLIENT_ID', value: identity.outputs.clientId }
  { name: 'BEHALF_DATABRICKS_HOST', value: databricksHost }
  { name: 'BEHALF_EXCHANGE', value: exchange }
  { name: 'BEHALF_BROKER_ALLOWED_APPS', value: brokerAllowedApps }
  { name: 'BEHALF_SESSION_KEYS', value: sessionKeysRef }
  { name: 'BEHALF_PUBLIC_URL', value: effectivePublicUrl }
  { name: 'BEHALF_ALLOWED_ORIGINS', value: allowedOrigins }
  { name: 'BEHALF_GENIE_SPACE_ID', value: genieSpaceId }
  { name: 'BEHALF_GENIE_ALLOWED_SPACES', value: genieAllowedSpaces }
  { name: 'BEHALF_SQL_WAREHOUSE_ID', value: sqlWarehouseId }
  { name: 'BEHALF_SQL_ALLOWED_WAREHOUSES', value: sqlAllowedWarehouses }
  { name: 'BEHALF_SQL_POLICIES', value: sqlPolicies }
  { name: 'BEHALF_APPROVAL_WINDOW', value: '${approvalWindowMinutes}m' }
  { name: 'BEHALF_APPROVERS_GROUP', value: approversGroupId }
  { name: 'BEHALF_TEAMS_WEBHOOK_URL', value: teamsNotifications ? teamsWebhookRef : '' }
  { name: 'BEHALF_QUEUE', value: 'servicebus' }
  { name: 'BEHALF_SERVICEBUS_NAMESPACE', value: serviceBus.outputs.fullyQualifiedNamespace }
  { name: 'BEHALF_PENDING_QUEUE', value: pendingQueueName }
  { name: 'BEHALF_AUDIT_QUEUE', value: auditQueueName }
  { name: 'BEHALF_AUDIT_MAX_DELIVERIES', value: string(auditMaxDeliveryCount) }
  { name: 'BEHALF_AUDIT_STORE', value: 'databricks' }
  { name: 'BEHALF_AUDIT_TABLE', value: auditTable }
  { name: 'BEHALF_AUDIT_WAREHOUSE_ID', value: empty(auditWarehouseId) ? sqlWarehouseId : auditWarehouseId }
  { name: 'BEHALF_AUDIT_EXPORT_SCHEDULE', value: auditExportSchedule }
  { name: 'BEHALF_AUDIT_EXPORT_SINK', value: auditExportStorage ? 'blob' : 'none' }
  { name: 'BEHALF_AUDIT_EXPORT_BLOB_CONTAINER_URL', value: exportContainerUrl }
  { name: 'BEHALF_DATABRICKS_M2M_CREDENTIAL', value: 'managed-identity' }
]

module app 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    name: appName
    planName: 'plan-${prefix}'
    location: location
    tags: allTags
    identityId: identity.outputs.id
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    appSettings: appSettings
    maximumInstanceCount: maximumInstanceCount
    runtimeVersion: flexRuntimeVersion
  }
}

output functionAppName string = app.outputs.name
output url string = 'https://${app.outputs.defaultHostName}'
output publicUrl string = effectivePublicUrl
output identityClientId string = identity.outputs.clientId
output identityPrincipalId string = identity.outputs.principalId
output vaultName string = vault.outputs.name
output vaultItemSessions string = sessionKeysSecret
output vaultItemTeamsWebhook string = teamsWebhookSecret
output serviceBusNamespace string = serviceBus.outputs.fullyQualifiedNamespace
output exportBlobEndpoint string = auditExportStorage ? exportStorage.outputs.blobEndpoint : ''
output exportContainer string = auditExportStorage ? exportStorage.outputs.containerName : ''
