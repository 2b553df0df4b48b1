// The user-assigned managed identity behalf runs as. It is the only
// credential of the deployment: host storage, Service Bus, Key Vault
// references, Application Insights and the Entra federated credential all
// use it, so no secret appears in any app setting.

@description('Name of the user-assigned managed identity.')
param name string

@description('Azure region.')
param location string

param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
