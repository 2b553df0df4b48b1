package entra

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/behalf-dev/behalf/infra/devstack/directory"
)

// Grant type and assertion type URNs.
const (
	grantJWTBearer    = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	assertionTypeJWT  = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	maxTokenBody      = 256 << 10
	maxAssertionBytes = 16 << 10
	// clockSkew is tolerated on assertion times, as Entra does.
	clockSkew = 5 * time.Minute
)

// tokenResponse is a successful token answer in the shape MSAL reads.
type tokenResponse struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope,omitempty"`
	ExpiresIn    int64  `json:"expires_in"`
	ExtExpiresIn int64  `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	ClientInfo   string `json:"client_info,omitempty"`
}

// tokenCall is one token request after client authentication.
type tokenCall struct {
	r      *http.Request
	form   url.Values
	tenant directory.Tenant
	caller caller
	claims claimsRequest
}

func (e *Emulator) handleToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenBody)
	if err := r.ParseForm(); err != nil {
		e.writeOAuthError(w, r, invalidRequest(CodeInvalidParameter, "The request body must be application/x-www-form-urlencoded and at most %d bytes.", maxTokenBody))
		return
	}
	form := r.PostForm
	grant := grantOf(form)
	e.counters.add(func(c *Counters) { c.TokenRequests[grant]++ })
	t, ok := e.world.tenant(r.PathValue("tenant"))
	if !ok {
		e.writeOAuthError(w, r, invalidRequest(CodeTenantNotFound, "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", clip(r.PathValue("tenant"))))
		return
	}
	if form.Get("grant_type") == "" {
		e.writeOAuthError(w, r, invalidRequest(CodeMissingParameter, "The request body must contain the following parameter: 'grant_type'."))
		return
	}
	if grant == GrantOther && form.Get("grant_type") == grantJWTBearer {
		e.writeOAuthError(w, r, invalidRequest(CodeInvalidParameter, "A jwt-bearer grant needs requested_token_use=on_behalf_of."))
		return
	}
	if grant == GrantOther {
		e.writeOAuthError(w, r, oauthErr("unsupported_grant_type", CodeUnsupportedGrant, "The provided grant_type '%s' is not supported.", clip(form.Get("grant_type"))))
		return
	}
	a, acr, oe := e.authenticateClient(r, form, t)
	if oe != nil {
		e.writeOAuthError(w, r, oe)
		return
	}
	cr, err := parseClaimsParam(form.Get("claims"))
	if err != nil {
		e.writeOAuthError(w, r, invalidRequest(CodeInvalidParameter, "%s", err.Error()))
		return
	}
	call := &tokenCall{r: r, form: form, tenant: t, caller: caller{app: a, acr: acr}, claims: cr}
	var resp *tokenResponse
	switch grant {
	case GrantAuthorizationCode:
		resp, oe = e.grantAuthorizationCode(call)
	case GrantRefreshToken:
		resp, oe = e.grantRefreshToken(call)
	case GrantOnBehalfOf:
		resp, oe = e.grantOnBehalfOf(call)
	case GrantClientCredentials:
		resp, oe = e.grantClientCredentials(call)
	}
	if oe != nil {
		e.writeOAuthError(w, r, oe)
		return
	}
	e.counters.add(func(c *Counters) { c.TokensIssued[grant]++ })
	e.log.Info("entra token issued", "tenant", t.ID, "grant", string(grant), "client_id", a.ClientID)
	writeJSON(w, http.StatusOK, resp)
}

func grantOf(form url.Values) GrantType {
	switch form.Get("grant_type") {
	case "authorization_code":
		return GrantAuthorizationCode
	case "refresh_token":
		return GrantRefreshToken
	case "client_credentials":
		return GrantClientCredentials
	case grantJWTBearer:
		if form.Get("requested_token_use") == "on_behalf_of" {
			return GrantOnBehalfOf
		}
	}
	return GrantOther
}

// authenticateClient identifies the calling app by client secret (post or
// basic) or by client assertion, and returns the azpacr it earned.
func (e *Emulator) authenticateClient(r *http.Request, form url.Values, t directory.Tenant) (*app, string, *Error) {
	clientID := form.Get("client_id")
	secret := form.Get("client_secret")
	if user, pass, ok := r.BasicAuth(); ok {
		u, err1 := url.QueryUnescape(user)
		p, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil || (clientID != "" && clientID != u) || secret != "" {
			return nil, "", invalidRequest(CodeInvalidParameter, "Client credentials were sent both in the body and in the Authorization header, or are malformed.")
		}
		clientID, secret = u, p
	}
	if clientID == "" {
		return nil, "", invalidRequest(CodeMissingParameter, "The request body must contain the following parameter: 'client_id'.")
	}
	a, ok := e.world.appIn(t.ID, clientID)
	if !ok {
		return nil, "", oauthErr("unauthorized_client", CodeAppNotFound,
			"Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant.", clip(clientID), t.Name)
	}
	assertion := form.Get("client_assertion")
	switch {
	case secret != "" && assertion != "":
		return nil, "", invalidRequest(CodeInvalidParameter, "Send either client_secret or client_assertion, not both.")
	case secret != "":
		if a.Secret == "" || !equalSecret(secret, a.Secret) {
			return nil, "", invalidClient(CodeInvalidSecret, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", a.ClientID)
		}
		return a, "1", nil
	case assertion != "":
		if form.Get("client_assertion_type") != assertionTypeJWT {
			return nil, "", invalidRequest(CodeInvalidParameter, "client_assertion_type must be %s.", assertionTypeJWT)
		}
		if oe := e.verifyClientAssertion(assertion, a, t); oe != nil {
			return nil, "", oe
		}
		return a, "2", nil
	}
	return nil, "", invalidClient(CodeMissingClientAuth, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
}

// responseScope echoes the requested scopes (MSAL fails on any requested
// scope missing from the answer).
func responseScope(form url.Values, sr *scopeRequest) string {
	out := append([]string(nil), sr.requested...)
	for _, f := range strings.Fields(form.Get("scope")) {
		for _, o := range oidcScopes {
			if strings.EqualFold(f, o) {
				out = append(out, f)
			}
		}
	}
	return strings.Join(out, " ")
}

// expiresIn is the advertised lifetime: one second short of the token's,
// as Entra's 3599 for an hour.
func expiresIn(now, exp time.Time) int64 {
	return max(int64(exp.Sub(now)/time.Second)-1, 1)
}

// userTokens issues the access token for sr and, as asked, a refresh
// token of family, an ID token and client_info.
func (e *Emulator) userTokens(call *tokenCall, u user, sr *scopeRequest, family, nonce string) (*tokenResponse, *Error) {
	now := e.now()
	at, exp, err := e.userAccessToken(u, call.caller, sr.res, sr.delegated(), e.life.AccessToken)
	if err != nil {
		return nil, serverError(err)
	}
	resp := &tokenResponse{TokenType: "Bearer", Scope: responseScope(call.form, sr), ExpiresIn: expiresIn(now, exp),
		ExtExpiresIn: expiresIn(now, exp), AccessToken: at}
	if sr.offline {
		rt, err := e.grants.putRefresh(&refreshGrant{clientID: call.caller.app.ClientID, user: u, nonce: nonce,
			expiresAt: now.Add(e.life.RefreshToken), family: family})
		if err != nil {
			return nil, serverError(err)
		}
		resp.RefreshToken = rt
	}
	if sr.openid && call.form.Get("grant_type") != grantJWTBearer {
		if resp.IDToken, err = e.idToken(u, call.caller.app, nonce); err != nil {
			return nil, serverError(err)
		}
	}
	if call.form.Get("client_info") == "1" {
		resp.ClientInfo = clientInfo(u.person.OID, u.tenantID)
	}
	return resp, nil
}

func serverError(err error) *Error {
	oe := oauthErr("server_error", CodeTransient, "The emulator could not issue the token.")
	oe.Status = http.StatusInternalServerError
	if errors.Is(err, errStoreFull) {
		oe = oauthErr("temporarily_unavailable", CodeTransient, "Too many outstanding grants; retry shortly.")
		oe.Status = http.StatusServiceUnavailable
	}
	return oe
}
