// Development example. Values come from the environment so that the same
// file serves every developer (scripts/deploy-azure.sh exports them; see
// bicep/README.md). No secret is a parameter: the session keys and the
// Teams webhook URL live in Key Vault.
using './main.bicep'

param environment = 'dev'
param clientId = readEnvironmentVariable('BEHALF_CLIENT_ID')
param tenantIds = readEnvironmentVariable('BEHALF_TENANT_IDS')
param databricksHost = readEnvironmentVariable('BEHALF_DATABRICKS_HOST')
param genieSpaceId = readEnvironmentVariable('BEHALF_GENIE_SPACE_ID', '')
param sqlWarehouseId = readEnvironmentVariable('BEHALF_SQL_WAREHOUSE_ID', '')
param allowedOrigins = readEnvironmentVariable('BEHALF_ALLOWED_ORIGINS', 'http://localhost:5173')
param brokerAllowedApps = readEnvironmentVariable('BEHALF_BROKER_ALLOWED_APPS', '')
param deployerPrincipalId = readEnvironmentVariable('BEHALF_DEPLOYER_OBJECT_ID', '')
param logLevel = 'debug'
param approvalWindowMinutes = 30
param teamsNotifications = false
param auditExportStorage = true
param exportImmutabilityDays = 0
