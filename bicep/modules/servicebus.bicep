// The Service Bus namespace with behalf's two queues, and the data roles
// of the function app identity scoped to each queue (never the namespace).
//
//   pending operations: one session per operation (session id = op id,
//     message id = op id), time to live = the approval window, expired
//     operations dead-lettered (the expiry sweep reports them), duplicate
//     detection by message id.
//   audit: events for audit-writer; after maxDeliveryCount failed
//     deliveries an event is dead-lettered and counted by /api/health.

param name string
param location string
param tags object = {}

@description('Queue of pending operations (BEHALF_PENDING_QUEUE).')
param pendingQueueName string

@description('Queue of audit events (BEHALF_AUDIT_QUEUE).')
param auditQueueName string

@description('Approval window in minutes: the pending queue\'s default time to live.')
@minValue(1)
@maxValue(10080)
param approvalWindowMinutes int

@description('Deliveries of an audit event before it is dead-lettered.')
@minValue(1)
@maxValue(100)
param auditMaxDeliveryCount int = 10

@description('Principal id of the function app identity; empty: no role assignments (a namespace for behalf on AWS, reached with the shared access rule).')
param appPrincipalId string

@description('Name of a Listen+Send shared access rule for deployments that cannot use Entra (behalf on AWS Lambda); empty: none, and local (SAS) auth stays disabled.')
param sasRuleName string = ''

resource namespace 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' = {
  name: name
  location: location
  tags: tags
  // Standard is the smallest tier with sessions and duplicate detection.
  sku: { name: 'Standard', tier: 'Standard' }
  properties: {
    minimumTlsVersion: '1.2'
    disableLocalAuth: empty(sasRuleName)
    publicNetworkAccess: 'Enabled'
  }
}

resource pending 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' = {
  parent: namespace
  name: pendingQueueName
  properties: {
    requiresSession: true
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'P1D'
    defaultMessageTimeToLive: 'PT${approvalWindowMinutes}M'
    deadLetteringOnMessageExpiration: true
    lockDuration: 'PT1M'
    maxDeliveryCount: 10
    enablePartitioning: false
  }
}

resource audit 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' = {
  parent: namespace
  name: auditQueueName
  properties: {
    requiresSession: false
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT1H'
    maxDeliveryCount: auditMaxDeliveryCount
    deadLetteringOnMessageExpiration: true
    defaultMessageTimeToLive: 'P14D'
    lockDuration: 'PT2M'
    enablePartitioning: false
  }
}

resource sasRule 'Microsoft.ServiceBus/namespaces/authorizationRules@2022-10-01-preview' = if (!empty(sasRuleName)) {
  parent: namespace
  name: empty(sasRuleName) ? 'unused' : sasRuleName
  properties: {
    rights: ['Listen', 'Send']
  }
}

var dataSender = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39')
var dataReceiver = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0')

// sql-propose sends, sql-approve and the expiry sweep receive and keep
// session state: both roles, on this queue only.
resource pendingSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(appPrincipalId)) {
  name: guid(pending.id, appPrincipalId, dataSender)
  scope: pending
  properties: { roleDefinitionId: dataSender, principalId: appPrincipalId, principalType: 'ServicePrincipal' }
}

resource pendingReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(appPrincipalId)) {
  name: guid(pending.id, appPrincipalId, dataReceiver)
  scope: pending
  properties: { roleDefinitionId: dataReceiver, principalId: appPrincipalId, principalType: 'ServicePrincipal' }
}

// Every function emits audit events; audit-writer receives them.
resource auditSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(appPrincipalId)) {
  name: guid(audit.id, appPrincipalId, dataSender)
  scope: audit
  properties: { roleDefinitionId: dataSender, principalId: appPrincipalId, principalType: 'ServicePrincipal' }
}

resource auditReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(appPrincipalId)) {
  name: guid(audit.id, appPrincipalId, dataReceiver)
  scope: audit
  properties: { roleDefinitionId: dataReceiver, principalId: appPrincipalId, principalType: 'ServicePrincipal' }
}

output name string = namespace.name
output fullyQualifiedNamespace string = '${namespace.name}.servicebus.windows.net'
output pendingQueueName string = pending.name
output auditQueueName string = audit.name
