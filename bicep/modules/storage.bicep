// The function app's own storage account: host state (timer locks, keys)
// through identity-based AzureWebJobsStorage, and the Flex Consumption
// deployment container the zip package is uploaded to. Shared keys are
// disabled, so only Entra identities can use it.

param name string
param location string
param tags object = {}

@description('Blob container holding the deployment package (Flex Consumption).')
param deploymentContainerName string = 'deployment-package'

@description('Principal id of the function app identity.')
param appPrincipalId string

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  sku: { name: 'Standard_LRS' }
  kind: 'StorageV2'
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    publicNetworkAccess: 'Enabled'
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource deployment 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobs
  name: deploymentContainerName
  properties: { publicAccess: 'None' }
}

// Storage Blob Data Owner: the Functions host needs it on its own account
// for identity-based AzureWebJobsStorage (blob leases for timer and
// singleton locks, host keys). The account holds nothing but this app's
// host state and package, so the account is the narrowest useful scope.
// The platform reads the deployment package with this identity too
// (functionAppConfig.deployment.storage.authentication).
var blobDataOwner = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b')

resource hostRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, appPrincipalId, blobDataOwner)
  scope: account
  properties: {
    roleDefinitionId: blobDataOwner
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output deploymentContainerUrl string = '${account.properties.primaryEndpoints.blob}${deploymentContainerName}'
