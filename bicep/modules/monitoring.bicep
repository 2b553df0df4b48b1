// Log Analytics and workspace-based Application Insights. Local
// (instrumentation-key) ingestion is disabled: the function app sends
// telemetry with the managed identity (APPLICATIONINSIGHTS_AUTHENTICATION_STRING),
// which holds Monitoring Metrics Publisher on this component only.

param logAnalyticsName string
param appInsightsName string
param location string
param tags object = {}

@description('Principal id of the identity that sends telemetry.')
param publisherPrincipalId string

@minValue(30)
@maxValue(730)
param retentionInDays int = 90

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: retentionInDays
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
  }
}

// Monitoring Metrics Publisher
var metricsPublisher = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '3913510d-42f4-4e42-8a64-420c390055eb')

resource publisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, publisherPrincipalId, metricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: metricsPublisher
    principalId: publisherPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The connection string names the component and its ingestion endpoint;
// with local auth disabled it grants nothing by itself.
output appInsightsConnectionString string = appInsights.properties.ConnectionString
output workspaceId string = workspace.id
