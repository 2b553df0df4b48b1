// Storage for audit exports (JSON Lines files plus a manifest per
// period), kept apart from the function app's own storage so that its
// retention, access and immutability are the compliance team's. The
// container can carry a time-based retention (WORM) policy: exported files
// can then be neither changed nor deleted until it ends.

param name string
param location string
param tags object = {}

@description('Container the exports are written to.')
param containerName string = 'audit-export'

@description('Days each exported file stays immutable (WORM); 0: no immutability policy.')
@minValue(0)
@maxValue(146000)
param immutabilityDays int = 0

@description('Principal id of the function app identity (writes exports).')
param appPrincipalId string

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  sku: { name: 'Standard_ZRS' }
  kind: 'StorageV2'
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    accessTier: 'Cool'
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: { enabled: true, days: 30 }
    containerDeleteRetentionPolicy: { enabled: true, days: 30 }
  }
}

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobs
  name: containerName
  properties: { publicAccess: 'None' }
}

// The policy is created unlocked, so that a mistaken period can still be
// corrected; lock it once verified (bicep/README.md, "Audit exports").
resource worm 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = if (immutabilityDays > 0) {
  parent: container
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: immutabilityDays
    allowProtectedAppendWrites: false
  }
}

// Storage Blob Data Contributor on the export container only.
var blobDataContributor = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')

resource writer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(container.id, appPrincipalId, blobDataContributor)
  scope: container
  properties: { roleDefinitionId: blobDataContributor, principalId: appPrincipalId, principalType: 'ServicePrincipal' }
}

output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output containerName string = container.name
