package entra

import (
	"html/template"
	"net/http"
	"strconv"
)

// discoveryDoc is the OpenID Provider metadata MSAL and OIDC verifiers read.
type discoveryDoc struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint,omitempty"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	EndSessionEndpoint                string   `json:"end_session_endpoint,omitempty"`
	JWKSURI                           string   `json:"jwks_uri"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ResponseModesSupported            []string `json:"response_modes_supported,omitempty"`
	ScopesSupported                   []string `json:"scopes_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported,omitempty"`
	GrantTypesSupported               []string `json:"grant_types_supported,omitempty"`
	ClaimsParameterSupported          bool     `json:"claims_parameter_supported"`
	ClaimsSupported                   []string `json:"claims_supported"`
	TenantRegionScope                 string   `json:"tenant_region_scope,omitempty"`
	CloudInstanceName                 string   `json:"cloud_instance_name,omitempty"`
}

// handleDiscovery serves the v2 metadata. As in Entra, a tenant named by
// its domain gets the GUID form in every URL.
func (e *Emulator) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	t, ok := e.world.tenant(r.PathValue("tenant"))
	if !ok {
		e.writeOAuthError(w, r, invalidRequest(CodeTenantNotFound, "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", clip(r.PathValue("tenant"))))
		return
	}
	base := e.URL() + "/" + t.ID
	writeJSON(w, http.StatusOK, discoveryDoc{
		Issuer:                            e.v2Issuer(t.ID),
		AuthorizationEndpoint:             base + "/oauth2/v2.0/authorize",
		TokenEndpoint:                     base + "/oauth2/v2.0/token",
		EndSessionEndpoint:                base + "/oauth2/v2.0/logout",
		JWKSURI:                           base + "/discovery/v2.0/keys",
		TokenEndpointAuthMethodsSupported: []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		ResponseTypesSupported:            []string{"code"},
		ResponseModesSupported:            []string{"query", "fragment", "form_post"},
		ScopesSupported:                   []string{"openid", "profile", "email", "offline_access"},
		SubjectTypesSupported:             []string{"pairwise"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		CodeChallengeMethodsSupported:     []string{"S256"},
		GrantTypesSupported:               []string{"authorization_code", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:jwt-bearer"},
		ClaimsParameterSupported:          true,
		ClaimsSupported:                   []string{"sub", "iss", "aud", "exp", "iat", "nbf", "nonce", "name", "preferred_username", "oid", "tid", "ver", "acrs", "groups", "roles", "scp"},
		TenantRegionScope:                 "EU",
		CloudInstanceName:                 "behalf.dev",
	})
}

// handleDiscoveryV1 serves the v1 metadata (issuer sts.windows.net), for
// verifiers of v1 tokens such as the Azure Databricks ones.
func (e *Emulator) handleDiscoveryV1(w http.ResponseWriter, r *http.Request) {
	t, ok := e.world.tenant(r.PathValue("tenant"))
	if !ok {
		e.writeOAuthError(w, r, invalidRequest(CodeTenantNotFound, "Tenant '%s' not found.", clip(r.PathValue("tenant"))))
		return
	}
	base := e.URL() + "/" + t.ID
	writeJSON(w, http.StatusOK, discoveryDoc{
		Issuer: v1Issuer(t.ID), TokenEndpoint: base + "/oauth2/token", JWKSURI: base + "/discovery/keys",
		TokenEndpointAuthMethodsSupported: []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		ResponseTypesSupported:            []string{"code"}, ScopesSupported: []string{"openid"},
		SubjectTypesSupported: []string{"pairwise"}, IDTokenSigningAlgValuesSupported: []string{"RS256"},
		ClaimsSupported: []string{"sub", "iss", "aud", "exp", "iat", "nbf", "upn", "unique_name", "oid", "tid", "ver", "appid"},
	})
}

func (e *Emulator) handleKeys(w http.ResponseWriter, r *http.Request) {
	t, ok := e.world.tenant(r.PathValue("tenant"))
	if !ok {
		e.writeOAuthError(w, r, invalidRequest(CodeTenantNotFound, "Tenant '%s' not found.", clip(r.PathValue("tenant"))))
		return
	}
	writeJSON(w, http.StatusOK, e.keys.jwks(e.v2Issuer(t.ID)))
}

func (e *Emulator) handlePartnerDiscovery(w http.ResponseWriter, _ *http.Request) {
	iss := e.PartnerIssuer()
	writeJSON(w, http.StatusOK, discoveryDoc{
		Issuer: iss, TokenEndpoint: iss + "/dev/token", JWKSURI: iss + "/discovery/keys",
		TokenEndpointAuthMethodsSupported: []string{"none"}, ResponseTypesSupported: []string{"id_token"},
		ScopesSupported: []string{"openid", "profile", "email"}, SubjectTypesSupported: []string{"public"},
		IDTokenSigningAlgValuesSupported: []string{"RS256"},
		ClaimsSupported:                  []string{"sub", "iss", "aud", "exp", "iat", "nbf", "email", "preferred_username", "name", "groups"},
	})
}

func (e *Emulator) handlePartnerKeys(w http.ResponseWriter, r *http.Request) {
	keys, err := e.partner.get()
	if err != nil {
		e.writeOAuthError(w, r, serverError(err))
		return
	}
	writeJSON(w, http.StatusOK, keys.jwks(""))
}

// handleErrorPage is where error_uri points: the AADSTS code, in words.
func (e *Emulator) handleErrorPage(w http.ResponseWriter, r *http.Request) {
	code, err := strconv.Atoi(r.URL.Query().Get("code"))
	if err != nil || code < 0 {
		http.Error(w, "code must be an AADSTS number", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = errorPage.Execute(w, struct {
		Code  int
		Title string
	}{code, "Entra ID emulator error"})
}

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body><h1>AADSTS{{.Code}}</h1><p>This error was returned by the behalf dev stack's Entra ID emulator.
The error_description of the answer explains it; the package documentation of infra/devstack/entra lists every code it uses.</p></body></html>`))
