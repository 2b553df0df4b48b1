// Production example: four-eyes approvals for every change, Teams cards,
// and audit exports kept immutable for seven years. Review every value;
// no secret is a parameter (Key Vault holds them).
using './main.bicep'

param environment = 'prod'
param clientId = readEnvironmentVariable('BEHALF_CLIENT_ID')
param tenantIds = readEnvironmentVariable('BEHALF_TENANT_IDS')
param databricksHost = readEnvironmentVariable('BEHALF_DATABRICKS_HOST')
param genieSpaceId = readEnvironmentVariable('BEHALF_GENIE_SPACE_ID', '')
param sqlWarehouseId = readEnvironmentVariable('BEHALF_SQL_WAREHOUSE_ID', '')
param allowedOrigins = readEnvironmentVariable('BEHALF_ALLOWED_ORIGINS', '')
param brokerAllowedApps = readEnvironmentVariable('BEHALF_BROKER_ALLOWED_APPS', '')
param publicUrl = readEnvironmentVariable('BEHALF_PUBLIC_URL', '')
param approversGroupId = readEnvironmentVariable('BEHALF_APPROVERS_GROUP', '')
param deployerPrincipalId = readEnvironmentVariable('BEHALF_DEPLOYER_OBJECT_ID', '')
param sqlPolicies = 'write=four-eyes,ddl=four-eyes,dcl=four-eyes,unknown=four-eyes'
param approvalWindowMinutes = 240
param teamsNotifications = true
param logLevel = 'info'
param auditExportStorage = true
param exportImmutabilityDays = 2557
param maximumInstanceCount = 100
