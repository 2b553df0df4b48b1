package databricks

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"
)

const (
	grantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	grantClientCreds   = "client_credentials"
)

// oauthError is an RFC 6749 error response.
type oauthError struct {
	status      int
	code        string
	description string
}

func (e *oauthError) Error() string { return e.code + ": " + e.description }

func (e *Emulator) writeOAuthError(w http.ResponseWriter, err error) {
	var oe *oauthError
	if !errors.As(err, &oe) {
		e.log.Error("token endpoint failed", "err", err)
		oe = &oauthError{status: http.StatusInternalServerError, code: "server_error", description: "The workspace emulator failed to issue a token."}
	}
	if oe.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="databricks"`)
		e.counters.add(func(c *Counters) { c.Unauthenticated++ })
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, oe.status, map[string]string{"error": oe.code, "error_description": oe.description})
}

// handleToken is POST /oidc/v1/token: client credentials for service
// principals with a secret (M2M), and RFC 8693 token exchange under the
// configured federation policies.
func (e *Emulator) handleToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		e.writeOAuthError(w, &oauthError{http.StatusBadRequest, "invalid_request", "The request body must be application/x-www-form-urlencoded."})
		return
	}
	scope := r.PostForm.Get("scope")
	if scope == "" {
		scope = "all-apis"
	}
	var (
		p        *Principal
		ttl      = e.cfg.TokenTTL
		clientID string
		err      error
	)
	switch gt := r.PostForm.Get("grant_type"); gt {
	case grantClientCreds:
		if p, err = e.clientCredentials(r); err == nil {
			clientID = p.UserName
		}
	case grantTokenExchange:
		p, ttl, err = e.tokenExchange(r.Context(), r.PostForm)
		clientID = r.PostForm.Get("client_id")
	case "":
		err = &oauthError{http.StatusBadRequest, "invalid_request", "grant_type is required."}
	default:
		err = &oauthError{http.StatusBadRequest, "unsupported_grant_type", "grant_type " + gt + " is not supported by the workspace emulator."}
	}
	if err != nil {
		e.writeOAuthError(w, err)
		return
	}
	tok, err := e.issueFor(p, ttl, scope, clientID)
	if err != nil {
		e.writeOAuthError(w, err)
		return
	}
	e.counters.add(func(c *Counters) {
		c.TokensIssued++
		if r.PostForm.Get("grant_type") == grantTokenExchange {
			c.TokenExchanges++
		}
	})
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(ttl / time.Second), "scope": scope})
}

// clientCredentials authenticates a service principal by its OAuth secret
// (HTTP Basic, as databricks-sdk-go sends it, or form fields).
func (e *Emulator) clientCredentials(r *http.Request) (*Principal, error) {
	id, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 §2.3.1: Basic credentials are form-urlencoded first.
		if v, err := url.QueryUnescape(id); err == nil {
			id = v
		}
		if v, err := url.QueryUnescape(secret); err == nil {
			secret = v
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	bad := &oauthError{http.StatusUnauthorized, "invalid_client", "Client authentication failed."}
	if id == "" || secret == "" {
		return nil, bad
	}
	for _, sp := range e.cfg.Directory.ServicePrincipals {
		if sp.ApplicationID == id && sp.Secret != "" && subtle.ConstantTimeCompare([]byte(sp.Secret), []byte(secret)) == 1 {
			if p := e.principals.byUserName(id); p != nil {
				return p, nil
			}
		}
	}
	return nil, bad
}

// tokenExchange verifies the subject token against the federation policy
// for its issuer and maps it to a user (no client_id) or to the policy's
// service principal (client_id).
func (e *Emulator) tokenExchange(ctx context.Context, form url.Values) (*Principal, time.Duration, error) {
	raw := form.Get("subject_token")
	switch form.Get("subject_token_type") {
	case "urn:ietf:params:oauth:token-type:jwt", "urn:ietf:params:oauth:token-type:id_token", "urn:ietf:params:oauth:token-type:access_token":
	default:
		return nil, 0, &oauthError{http.StatusBadRequest, "invalid_request", "subject_token_type must be urn:ietf:params:oauth:token-type:jwt."}
	}
	if raw == "" {
		return nil, 0, &oauthError{http.StatusBadRequest, "invalid_request", "subject_token is required."}
	}
	iss, err := peekIssuer(raw)
	if err != nil {
		return nil, 0, &oauthError{http.StatusBadRequest, "invalid_grant", "The subject token is not a signed JWT."}
	}
	clientID := form.Get("client_id")
	var lastErr error
	matched := false
	for _, pol := range e.cfg.FederationPolicies {
		if pol.Issuer != iss || pol.ServicePrincipal != clientID {
			continue
		}
		matched = true
		p, exp, err := e.applyPolicy(ctx, pol, raw)
		if err != nil {
			lastErr = err
			continue
		}
		ttl := min(e.cfg.TokenTTL, time.Until(exp))
		return p, ttl, nil
	}
	if !matched {
		what := "user federation"
		if clientID != "" {
			what = "service principal " + clientID
		}
		return nil, 0, &oauthError{http.StatusBadRequest, "invalid_grant", "No federation policy for " + what + " trusts the issuer " + iss + "."}
	}
	if errors.Is(lastErr, errExpired) {
		return nil, 0, &oauthError{http.StatusBadRequest, "invalid_grant", "The subject token is expired."}
	}
	return nil, 0, &oauthError{http.StatusBadRequest, "invalid_grant", "The subject token does not satisfy the federation policy: " + lastErr.Error()}
}

func (e *Emulator) applyPolicy(ctx context.Context, pol FederationPolicy, raw string) (*Principal, time.Time, error) {
	ks, err := e.keys.forIssuer(ctx, pol.Issuer, pol.JWKSURL)
	if err != nil {
		return nil, time.Time{}, err
	}
	aud := pol.Audiences
	if len(aud) == 0 {
		aud = []string{e.URL() + "/oidc/v1/token"}
	}
	claims, err := verifyJWT(ctx, ks, pol.Issuer, raw, aud)
	if err != nil {
		return nil, time.Time{}, err
	}
	exp := time.Now().Add(e.cfg.TokenTTL)
	if v, ok := claims["exp"].(float64); ok {
		exp = time.Unix(int64(v), 0)
	}
	claim := pol.SubjectClaim
	if claim == "" {
		claim = "sub"
	}
	values := claimValues(claims, claim)
	if pol.ServicePrincipal != "" {
		if !e.subjectMatches(pol.Subject, values) {
			return nil, exp, errors.New("claim " + claim + " does not match the policy subject")
		}
		p := e.principals.byUserName(pol.ServicePrincipal)
		if p == nil || !p.ServicePrincipal {
			return nil, exp, errors.New("the policy's service principal is not in this workspace")
		}
		return p, exp, nil
	}
	for _, v := range values {
		if p := e.principals.byUserName(v); p != nil && !p.ServicePrincipal {
			return p, exp, nil
		}
		if p := e.principals.byOID[v]; p != nil {
			return p, exp, nil
		}
	}
	return nil, exp, errors.New("claim " + claim + " names no user of this workspace")
}

// subjectMatches accepts the policy subject, or for a group name the
// group's object id (IdPs put either in the groups claim).
func (e *Emulator) subjectMatches(subject string, values []string) bool {
	if slices.Contains(values, subject) {
		return true
	}
	if g, ok := e.cfg.Directory.GroupByName(subject); ok {
		return slices.Contains(values, g.ID)
	}
	return false
}

// handleOAuthDiscovery is the workspace's OAuth authorization server
// metadata; databricks-sdk-go reads authorization_endpoint and
// token_endpoint from it.
func (e *Emulator) handleOAuthDiscovery(w http.ResponseWriter, _ *http.Request) {
	base := e.URL()
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                base + "/oidc",
		"authorization_endpoint":                base + "/oidc/v1/authorize",
		"token_endpoint":                        base + "/oidc/v1/token",
		"jwks_uri":                              base + "/oidc/v1/keys",
		"grant_types_supported":                 []string{grantClientCreds, grantTokenExchange},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "none"},
		"scopes_supported":                      []string{"all-apis", "sql"},
		"response_types_supported":              []string{"code"},
		"code_challenge_methods_supported":      []string{"S256"},
	})
}

func (e *Emulator) handleJWKS(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, e.tokens.jwks())
}

// handleHostMetadata is /.well-known/databricks-config, which
// databricks-sdk-go reads (best effort) while resolving its config.
func (e *Emulator) handleHostMetadata(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"oidc_endpoint": e.URL() + "/oidc",
		"workspace_id":  e.cfg.WorkspaceID,
		"host_type":     "WORKSPACE_HOST",
	})
}
