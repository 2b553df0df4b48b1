// Package databricks is the dev stack's offline Azure Databricks workspace:
// an HTTPS server that databricks-sdk-go v0.130.0 works against unchanged
// (host URL, a bearer token, an HTTP client trusting the dev CA).
//
// It serves the SQL Statement Execution API, the Genie Conversation API,
// SCIM Me, the SQL warehouse getters and the workspace OAuth endpoints
// (/oidc/v1/token with client credentials and RFC 8693 token federation,
// discovery, JWKS, /.well-known/databricks-config), backed by a governed
// SQL engine (package govsql: SQLite with Unity Catalog-style grants, row
// filters and column masks). Every call is authenticated: Entra ID tokens
// for the Azure Databricks resource from configured trusted issuers, or
// tokens this workspace issued itself; the token's person or service
// principal is current_user() for everything that call runs.
//
// # Plugging in the Entra emulator
//
//	ws, err := databricks.New(databricks.Config{
//		Directory:      dir,                                    // directory.Demo()
//		CA:             ca,                                     // devca
//		TrustedIssuers: databricks.EntraIssuers(entraURL, tenantID), // v2 and v1 (sts.windows.net) forms
//		FederationPolicies: databricks.PartnerFederationPolicies(dir, entraURL+dir.PartnerIdP.Issuer, ""),
//	})
//	err = ws.Start(ctx) // ws.URL() is the workspace host
//
// EntraIssuers verifies tokens with the keys at
// {entraURL}/{tenant}/discovery/v2.0/keys and accepts aud = the Azure
// Databricks resource id; the JWKS client defaults to one trusting the dev
// CA. An empty JWKSURL (as for the partner IdP above) is discovered from
// {issuer}/.well-known/openid-configuration.
//
// # Demo world
//
// People, groups and service principals come from package directory. The
// data: main.sales.deals (row filter: sales-west sees WEST, sales-east
// EAST, managers/executives/finance/admins everything; margin_pct masked
// except for finance, executives and admins; MODIFY for sales-west and
// sales-east only), main.sales.deal_events (visible with the deal; all of
// it for auditors), main.finance.forecasts (finance and executives),
// the view main.sales.partner_pipeline (the partner role service
// principal, WEST only) and the empty schema main.behalf where the
// behalf-audit-writer service principal may CREATE TABLE and MERGE.
// Warehouses: dev-warehouse (every demo role; not Nina, who has no grants
// at all) and locked-warehouse (admins). Genie spaces: Sales and Partner
// pipeline.
//
// # Choices where Databricks' behaviour is not pinned down
//
// SQL failures are HTTP 200 with status FAILED, error_code BAD_REQUEST
// and the Databricks error class in the message ("[INSUFFICIENT_PERMISSIONS]
// ... SQLSTATE: 42501"); missing CAN USE on a warehouse or CAN RUN on a
// space is a 403 PERMISSION_DENIED request error. A statement of another
// person is 404; a Genie conversation of another person is 403.
// Questions a space cannot map get a COMPLETED message with a
// FOLLOW_UP_QUESTION text attachment. A query that fails (for example on
// governance) ends the message FAILED with SQL_EXECUTION_EXCEPTION.
//
// The emulator mints tokens, so it is development code only and must never
// be linked into a deployment.
package databricks
