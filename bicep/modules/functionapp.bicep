// The function app: Flex Consumption (Linux), custom handler runtime, the
// user-assigned identity as its only identity, and the app settings
// main.bicep computes. The package is deployed by zip to the deployment
// container (scripts/deploy-azure.sh).
//
// functionAppConfig.runtime for custom handlers is {name: 'custom',
// version: '1.0'} as far as the public material goes; confirm with
// `az functionapp list-flexconsumption-runtimes --location <region> --runtime custom`
// (bicep/README.md says what to do if it differs).

param name string
param planName string
param location string
param tags object = {}

@description('Resource id of the user-assigned identity.')
param identityId string

@description('Deployment container URL (https://<account>.blob.core.windows.net/<container>).')
param deploymentContainerUrl string

@description('App settings: [{name, value}]. No secret values: secrets are Key Vault references.')
param appSettings array

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

param runtimeName string = 'custom'
param runtimeVersion string = '1.0'

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references resolve with the user-assigned identity (the
    // default would be a system-assigned one, which this app has not).
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: appSettings
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: identityId }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: { name: runtimeName, version: runtimeVersion }
    }
  }
}

// Publishing with basic (user/password) credentials is off: deployments
// use Entra (az functionapp deploy with the signed-in identity).
resource ftp 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: { allow: false }
}

resource scm 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: { allow: false }
}

output name string = site.name
output defaultHostName string = site.properties.defaultHostName
