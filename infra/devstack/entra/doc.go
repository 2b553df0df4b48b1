// Package entra is the dev stack's offline Microsoft Entra ID (v2
// endpoints): an HTTPS server that MSAL Go's confidential client,
// azidentity's ManagedIdentityCredential and standard OIDC verifiers
// (go-oidc) work against unchanged, given the authority URL, an
// http.Client trusting the dev CA, and instance discovery turned off. It
// serves the people, groups, app registrations and managed identity of
// package directory (one JSON file; directory/demo.json is the demo), and
// the partner IdP whose people reach Databricks through token federation.
//
// It mints tokens, so it is development code only: nothing outside
// infra/devstack imports it, and a test proves the production function app
// links none of it.
//
// # Using it
//
//	emu, err := entra.New(entra.Config{Directory: directory.Demo(), CA: ca})
//	err = emu.Start(ctx) // emu.URL() is https://127.0.0.1:port
//	cca, err := confidential.New(emu.Authority(tenantID), clientID, cred,
//		confidential.WithHTTPClient(ca.HTTPClient()),
//		confidential.WithInstanceDiscovery(false),
//		confidential.WithAzureRegion("DisableMsalForceRegion"))
//
// Managed identity (App Service protocol): set IDENTITY_ENDPOINT to
// emu.ManagedIdentityEndpoint() and IDENTITY_HEADER to emu.IdentityHeader(),
// then azidentity.NewManagedIdentityCredential with ClientOptions.Transport
// trusting the CA and ID = the identity's client id. Its token for
// api://AzureADTokenExchange is accepted as client_assertion by apps that
// list the identity in federated_managed_identities (shared/obo's
// ManagedIdentityAssertion), so an app authenticates with no secret.
//
// Tests can skip the sign-in and mint tokens directly: MintUserToken,
// UserAccessToken, MintAppToken, MintManagedIdentityToken, PartnerToken.
// Counters (per endpoint, per grant type, per AADSTS code), SetFault
// (latency, error rate, outage per endpoint), RotateKeys and Config.Now
// are the other test knobs.
//
// # Endpoints
//
// Per tenant (GUID or domain): /{t}/v2.0/.well-known/openid-configuration,
// /{t}/.well-known/openid-configuration (v1 issuer), /{t}/discovery/v2.0/keys
// (also /{t}/discovery/keys), /{t}/oauth2/v2.0/authorize (GET: validate and
// show the sign-in page; POST: the page's form), /{t}/oauth2/v2.0/token,
// /{t}/oauth2/v2.0/logout. Managed identity: /msi/token. Partner IdP
// (PartnerIdP.Issuer, default /partner): /.well-known/openid-configuration,
// /discovery/keys, and the dev sign-in POST /dev/token (username=<upn>).
//
// Signing keys: RS256, two published from the start (kid = x5t = the
// SHA-1 thumbprint of a self-signed certificate, x5c included). RotateKeys
// makes the already-published second key the signer, keeps the old key
// published until every token it signed has expired, and publishes a new
// second key, so a cached JWKS never misses a signing key.
//
// Tokens: access tokens for behalf's API and other registered APIs are v2
// (iss {URL}/{tid}/v2.0, aud = the API's client id, azp/azpacr,
// preferred_username, scp, roles, group ids, idtyp, uti); tokens for
// Azure Databricks (2ff814a6-…) are v1 (iss https://sts.windows.net/{tid}/,
// upn, unique_name, appid/appidacr, amr), signed by the same keys. ID
// tokens carry the authorize nonce. Responses: token_type Bearer,
// expires_in 3599 for an hour, the requested scopes echoed, client_info
// when client_info=1, refresh tokens when offline_access is asked for.
//
// # Flows and rules
//
// Authorize: response_type=code only; PKCE S256 required (plain and
// missing challenges refused); redirect_uri must equal a registered one
// exactly (AddRedirectURI registers more at run time); state and nonce
// round-trip; errors before the redirect URI is trusted are shown as a
// page, later ones go to the redirect URI as error, error_description
// ("AADSTSnnn: … Trace ID: … Correlation ID: … Timestamp: …"), error_uri
// and state. response_mode query, fragment or form_post. prompt: login,
// select_account and consent show the page; none needs the emulator's
// session cookie (single sign-on after a first sign-in) of the login_hint's
// person; login_hint puts that person first.
//
// Token grants: authorization_code (single use; a replay also revokes the
// refresh tokens its first redemption issued; 10-minute lifetime; bound to
// client, redirect URI and code_challenge), refresh_token (rotating: a
// reused one revokes its family), jwt-bearer with
// requested_token_use=on_behalf_of (the assertion must be a person's token
// signed by the tenant keys, unexpired, for the calling app; the result is
// for the same oid/upn/tid), client_credentials (resource/.default). Client
// authentication: client_secret (post or basic, compared in constant time)
// or client_assertion: a JWT signed by a certificate of the app
// (certificates in the directory; x5t#S256 or x5t; aud = the token
// endpoint; iss = sub = client id), or a managed identity's token for
// api://AzureADTokenExchange (a federated credential).
//
// Consent: an app may get delegated tokens for its own API and for the
// APIs in calls_apis and obo_resources; anything else is AADSTS65001.
// MFA: a person whose require_mfa_for lists a resource gets
// interaction_required (AADSTS50076) with the claims challenge
// {"access_token":{"acrs":{"essential":true,"value":"c1"}}} unless the
// incoming token or session already has MFA. Dev mode has no second
// factor to ask for: an interactive sign-in for such a resource, or any
// authorize or token request whose claims parameter asks for the challenged
// acrs, counts as MFA done, and the tokens then carry acrs ["c1"] and amr
// ["pwd","mfa"].
//
// # Error codes
//
// The numbers follow Entra ID's AADSTS codes as the fact sheet and memory
// have them (not verified against Microsoft's reference offline): 28000,
// 50011, 50013, 50058, 50076, 50173, 54005, 65001, 70000, 70003, 70005,
// 70008, 70011, 70021, 90002, 90033, 500011, 500112, 500133, 501481,
// 501491, 700016, 700024, 700027, 700082, 700212, 900144, 1002012,
// 7000215, 7000218, 9002313. The emulator's own choices: 9002325 for a
// missing or non-S256 PKCE challenge (Entra itself accepts plain), 90014
// for malformed or oversized parameters, 90023 for an unknown prompt, and
// 90033 (HTTP 503, temporarily_unavailable) for injected faults. HTTP
// status is 400, except 401 for invalid_client. The constants Code* list
// them all.
//
// # Not emulated
//
// Passwords and real second factors, consent screens, the common,
// organizations and consumers tenants, v1 token endpoints, implicit and
// hybrid response types, device code, ROPC and the user-FIC grants, token
// revocation APIs, and Conditional Access beyond the MFA rule above.
//
// Managed-identity tokens live 4 minutes by default, below MSAL Go's
// 5-minute caching margin, because MSAL keeps managed-identity tokens in a
// process-wide cache: a cached token of an earlier emulator (another test,
// an earlier dev stack) would otherwise be presented to a new emulator
// whose keys differ.
package entra
