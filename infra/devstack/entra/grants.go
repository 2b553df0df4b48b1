package entra

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"slices"
	"time"
)

func (e *Emulator) grantAuthorizationCode(call *tokenCall) (*tokenResponse, *Error) {
	code, redirect := call.form.Get("code"), call.form.Get("redirect_uri")
	switch {
	case code == "":
		return nil, invalidRequest(CodeMissingParameter, "The request body must contain the following parameter: 'code'.")
	case redirect == "":
		return nil, invalidRequest(CodeMissingParameter, "The request body must contain the following parameter: 'redirect_uri'.")
	case len(code) > 4096:
		return nil, invalidGrant(CodeMalformedGrant, "Invalid request. Request is malformed or invalid.")
	}
	// Taking the code burns it, whatever follows: a code is good for one
	// attempt only.
	g, redeemed, ok := e.grants.takeCode(code)
	switch {
	case !ok || g.user.tenantID != call.tenant.ID:
		return nil, invalidGrant(CodeMalformedGrant, "Invalid request. Request is malformed or invalid: the authorization code is not known.")
	case g.clientID != call.caller.app.ClientID:
		return nil, invalidGrant(CodeCodeOtherClient, "The provided authorization code was issued to a different client.")
	case redeemed:
		// A replayed code revokes what its first redemption issued.
		e.grants.revokeFamily(g.family)
		return nil, invalidGrant(CodeCodeRedeemed, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
	case !e.now().Before(g.expiresAt):
		return nil, invalidGrant(CodeCodeExpired, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
	case g.redirectURI != redirect:
		return nil, invalidGrant(CodeReplyMismatch, "The reply address does not match the reply address provided when requesting authorization code.")
	}
	verifier := call.form.Get("code_verifier")
	sum := sha256.Sum256([]byte(verifier))
	if len(verifier) < 43 || len(verifier) > 128 ||
		subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(g.challenge)) != 1 {
		return nil, invalidGrant(CodeVerifierMismatch, "The code_verifier does not match the code_challenge supplied in the authorization request.")
	}
	sr, oe := e.delegatedScopes(call)
	if oe != nil {
		return nil, oe
	}
	u := g.user
	if oe := e.stepUp(&u, sr.res, call.claims); oe != nil {
		return nil, oe
	}
	family := randomToken(12)
	e.grants.setCodeFamily(code, family)
	return e.userTokens(call, u, sr, family, g.nonce)
}

func (e *Emulator) grantRefreshToken(call *tokenCall) (*tokenResponse, *Error) {
	rt := call.form.Get("refresh_token")
	if rt == "" {
		return nil, invalidRequest(CodeMissingParameter, "The request body must contain the following parameter: 'refresh_token'.")
	}
	if len(rt) > 4096 {
		return nil, invalidGrant(CodeMalformedGrant, "Invalid request. Request is malformed or invalid.")
	}
	g, used, ok := e.grants.takeRefresh(rt)
	switch {
	case !ok || g.user.tenantID != call.tenant.ID:
		return nil, invalidGrant(CodeMalformedGrant, "Invalid request. Request is malformed or invalid: the refresh token is not known.")
	case g.clientID != call.caller.app.ClientID:
		return nil, invalidGrant(CodeCodeOtherClient, "The refresh token was issued to a different client.")
	case used:
		// Refresh tokens rotate: a second use of one means it leaked, so
		// the whole family goes.
		e.grants.revokeFamily(g.family)
		return nil, invalidGrant(CodeGrantRevoked, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.")
	case !e.now().Before(g.expiresAt):
		return nil, invalidGrant(CodeRefreshExpired, "The refresh token has expired due to inactivity. The token was issued on %s and was inactive for %s.",
			g.expiresAt.Add(-e.life.RefreshToken).UTC().Format(time.RFC3339), e.life.RefreshToken)
	}
	p, ok := e.world.person(g.user.tenantID, g.user.person.OID)
	if !ok {
		return nil, invalidGrant(CodeGrantRevoked, "The provided grant has been revoked: the account no longer exists.")
	}
	sr, oe := e.delegatedScopes(call)
	if oe != nil {
		return nil, oe
	}
	u := g.user
	u.person = p
	if oe := e.stepUp(&u, sr.res, call.claims); oe != nil {
		return nil, oe
	}
	return e.userTokens(call, u, sr, g.family, g.nonce)
}

// delegatedScopes parses the scope of a delegated grant and checks
// consent.
func (e *Emulator) delegatedScopes(call *tokenCall) (*scopeRequest, *Error) {
	sr, oe := e.world.parseScopes(call.form.Get("scope"))
	if oe != nil {
		return nil, oe
	}
	if sr.res.appOnly {
		return nil, invalidScope(CodeInvalidScope, "The resource '%s' does not accept delegated tokens.", sr.res.id)
	}
	if !e.world.consented(call.caller.app, sr.res) {
		return nil, consentRequired(call.caller.app, sr.res)
	}
	return sr, nil
}

func consentRequired(a *app, res *resource) *Error {
	oe := invalidGrant(CodeConsentRequired, "The user or administrator has not consented to use the application with ID '%s' named '%s' for the resource '%s'. Send an interactive authorization request for this user and resource.",
		a.ClientID, a.Name, res.id)
	oe.SubError = "consent_required"
	return oe
}

// assertionClaims are the members of an incoming OBO assertion read here.
type assertionClaims struct {
	Iss   string          `json:"iss"`
	Aud   json.RawMessage `json:"aud"`
	Exp   *float64        `json:"exp"`
	Nbf   *float64        `json:"nbf"`
	TID   string          `json:"tid"`
	OID   string          `json:"oid"`
	Scp   string          `json:"scp"`
	IDTyp string          `json:"idtyp"`
	Acrs  []string        `json:"acrs"`
	Amr   []string        `json:"amr"`
}

func (c assertionClaims) audiences() []string {
	var one string
	if json.Unmarshal(c.Aud, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(c.Aud, &many)
	return many
}

// grantOnBehalfOf exchanges a person's token for the calling app (its
// audience) for a token for another resource, for the same person.
func (e *Emulator) grantOnBehalfOf(call *tokenCall) (*tokenResponse, *Error) {
	raw := call.form.Get("assertion")
	switch {
	case raw == "":
		return nil, invalidRequest(CodeMissingParameter, "The request body must contain the following parameter: 'assertion'.")
	case len(raw) > maxAssertionBytes:
		return nil, invalidGrant(CodeAssertionInvalid, "The assertion is larger than %d bytes.", maxAssertionBytes)
	}
	payload, err := e.keys.verify(raw)
	if err != nil {
		return nil, invalidGrant(CodeAssertionInvalid, "Assertion failed signature validation. [Reason - The key was not found or the signature does not verify.]")
	}
	var c assertionClaims
	if err := json.Unmarshal(payload, &c); err != nil || c.Exp == nil {
		return nil, invalidGrant(CodeAssertionInvalid, "The assertion's claims are malformed.")
	}
	t := call.tenant.ID
	now := e.now()
	a := call.caller.app
	switch {
	case c.Iss != e.v2Issuer(t) && c.Iss != v1Issuer(t):
		return nil, invalidGrant(CodeAssertionInvalid, "The assertion was not issued by this tenant.")
	case c.TID != t:
		return nil, invalidGrant(CodeAssertionInvalid, "The assertion's tid does not match its issuer.")
	case !now.Before(time.Unix(int64(*c.Exp), 0)):
		return nil, invalidGrant(CodeAssertionTimeRange, "Assertion is not within its valid time range. Ensure that the access token is not expired before using it for user assertion, or request a new token.")
	case c.Nbf != nil && now.Add(clockSkew).Before(time.Unix(int64(*c.Nbf), 0)):
		return nil, invalidGrant(CodeAssertionTimeRange, "Assertion is not within its valid time range: it is not valid yet.")
	case !slices.ContainsFunc(c.audiences(), func(s string) bool { return s == a.ClientID || s == "api://"+a.ClientID }):
		return nil, invalidGrant(CodeAssertionInvalid, "Assertion audience does not match the Client app presenting the assertion. The audience in the assertion was '%s' and the expected audience is '%s' or one of the Application Id URIs of this application.",
			clip(firstOf(c.audiences())), a.ClientID)
	case c.IDTyp == "app" || c.Scp == "":
		return nil, invalidGrant(CodeAssertionInvalid, "The assertion is an app-only token; on-behalf-of needs a person's delegated token.")
	}
	p, ok := e.world.person(t, c.OID)
	if !ok {
		return nil, invalidGrant(CodeAssertionInvalid, "The assertion's user does not exist in the tenant.")
	}
	sr, oe := e.delegatedScopes(call)
	if oe != nil {
		return nil, oe
	}
	u := user{person: p, tenantID: t, acrs: c.Acrs,
		mfa: slices.Contains(c.Amr, "mfa") || slices.Contains(c.Acrs, e.cfg.MFAContext)}
	if oe := e.stepUp(&u, sr.res, call.claims); oe != nil {
		return nil, oe
	}
	return e.userTokens(call, u, sr, randomToken(12), "")
}

func firstOf(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}

// grantClientCredentials issues an app-only token for resource/.default.
func (e *Emulator) grantClientCredentials(call *tokenCall) (*tokenResponse, *Error) {
	sr, oe := e.world.parseScopes(call.form.Get("scope"))
	if oe != nil {
		return nil, oe
	}
	if len(sr.names) != 1 || sr.names[0] != ".default" || sr.res.appOnly {
		return nil, invalidScope(CodeDefaultScopeRequired, "The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).",
			clip(call.form.Get("scope")))
	}
	a := call.caller.app
	now := e.now()
	at, exp, err := e.appAccessToken(appPrincipal{clientID: a.ClientID, objectID: a.objectID, tenantID: call.tenant.ID, acr: call.caller.acr}, sr.res, e.life.AccessToken)
	if err != nil {
		return nil, serverError(err)
	}
	return &tokenResponse{TokenType: "Bearer", ExpiresIn: expiresIn(now, exp), ExtExpiresIn: expiresIn(now, exp), AccessToken: at,
		Scope: responseScope(call.form, sr)}, nil
}
