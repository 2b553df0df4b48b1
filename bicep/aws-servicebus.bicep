// A Service Bus namespace for behalf on AWS Lambda (infra/aws): the same
// two queues as the Azure deployment, and a Listen+Send shared access rule,
// because Lambda has no Entra identity. This is the design's choice: the
// queues stay Service Bus (sessions, session state, duplicate detection,
// dead-lettering) on every cloud. The rule's connection string is never
// produced by this template: read it once with
//   az servicebus namespace authorization-rule keys list ... --query primaryConnectionString
// straight into AWS Secrets Manager (infra/aws/README.md).

targetScope = 'resourceGroup'

@minLength(3)
@maxLength(11)
param name string = 'behalf'

@allowed(['dev', 'test', 'prod'])
param environment string

param location string = resourceGroup().location

param pendingQueueName string = 'pending-operations'
param auditQueueName string = 'audit'

@minValue(1)
@maxValue(10080)
param approvalWindowMinutes int = 60

module serviceBus 'modules/servicebus.bicep' = {
  name: 'servicebus-aws'
  params: {
    name: 'sb-${name}-${environment}-aws-${uniqueString(resourceGroup().id, name, environment)}'
    location: location
    tags: { app: 'behalf', environment: environment, cloud: 'aws' }
    pendingQueueName: pendingQueueName
    auditQueueName: auditQueueName
    approvalWindowMinutes: approvalWindowMinutes
    appPrincipalId: ''
    sasRuleName: 'behalf-aws'
  }
}

output namespace string = serviceBus.outputs.name
output fullyQualifiedNamespace string = serviceBus.outputs.fullyQualifiedNamespace
output sasRule string = 'behalf-aws'
