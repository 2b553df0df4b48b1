// Package lambdahost runs behalf's function app on AWS Lambda
// (provided.al2023, the binary installed as bootstrap). One Lambda function
// receives every event and routes it by shape:
//
//   - API Gateway HTTP API (payload format 2.0) and Function URL requests go
//     to the app's http.Handler, the same one the Azure Functions host
//     forwards to. Only paths under /api/ are served: the app's
//     POST /<trigger> invocation endpoints exist for the Functions host on
//     the loopback interface and must never be reachable from the internet.
//   - EventBridge "Scheduled Event"s name the function to run through the
//     rule name (…-<function>): a timer function gets the same timer
//     invocation payload the Functions host sends; a Service Bus queue
//     function gets a drain loop that receives from its queue (the Azure
//     Service Bus namespace, reached with a connection string on AWS) and
//     delivers each message as the host would, completing or abandoning it.
//
// The HTTP conversion is this package's own (adapter.go), not
// aws-lambda-go-api-proxy's httpadapter: that adapter splits every
// non-allow-listed header on commas and answers 504 when a handler writes
// nothing. Both differ from net/http, which the app is tested against; the
// tests pin the upstream behaviour so the choice can be revisited.
//
// Secrets on AWS come from Secrets Manager: a setting NAME is read from the
// secret whose ARN is in NAME_SECRET_ARN (secrets.go), at cold start.
package lambdahost
