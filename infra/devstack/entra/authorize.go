package entra

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/behalf-dev/behalf/infra/devstack/directory"
)

// authRequest is a validated authorize request.
type authRequest struct {
	tenantID     string
	client       *app
	clientID     string
	redirectURI  string
	responseMode string
	state        string
	nonce        string
	scopes       *scopeRequest
	challenge    string
	loginHint    string
	prompt       string
	claims       claimsRequest
	expiresAt    time.Time
}

// Bounds of authorize parameters.
const (
	maxState     = 2048
	maxNonce     = 1024
	maxLoginHint = 256
	maxURI       = 2048
	maxFormBody  = 16 << 10
)

var prompts = []string{"", "login", "none", "consent", "select_account"}

// handleAuthorize validates the request; errors before the redirect URI
// is known to be registered are shown as a page (never redirected), later
// ones go back to the redirect URI. Then it signs in silently (session,
// prompt) or shows the sign-in page.
func (e *Emulator) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	t, ok := e.world.tenant(r.PathValue("tenant"))
	if !ok {
		e.errorPage(w, r, http.StatusBadRequest, invalidRequest(CodeTenantNotFound, "Tenant '%s' not found.", clip(r.PathValue("tenant"))))
		return
	}
	a, ok := e.world.appIn(t.ID, q.Get("client_id"))
	if !ok {
		e.errorPage(w, r, http.StatusBadRequest, oauthErr("unauthorized_client", CodeAppNotFound,
			"Application with identifier '%s' was not found in the directory '%s'.", clip(q.Get("client_id")), t.Name))
		return
	}
	redirect := q.Get("redirect_uri")
	if len(redirect) > maxURI || !e.redirectAllowed(a, redirect) {
		e.errorPage(w, r, http.StatusBadRequest, invalidRequest(CodeRedirectMismatch,
			"The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'.", clip(redirect), a.ClientID))
		return
	}
	ar := &authRequest{tenantID: t.ID, client: a, clientID: a.ClientID, redirectURI: redirect, state: q.Get("state"),
		nonce: q.Get("nonce"), loginHint: q.Get("login_hint"), prompt: q.Get("prompt"), responseMode: q.Get("response_mode"),
		challenge: q.Get("code_challenge"), expiresAt: e.now().Add(e.life.SignIn)}
	if len(ar.state) > maxState {
		// The state is not echoed when it is the problem.
		ar.state = ""
		e.redirectError(w, r, ar, invalidRequest(CodeInvalidParameter, "The state parameter is longer than %d characters.", maxState))
		return
	}
	if oe := e.validateAuthorize(ar, q); oe != nil {
		e.redirectError(w, r, ar, oe)
		return
	}
	sess, hasSession := e.readSession(r, t.ID)
	hintOK := ar.loginHint == "" || (hasSession && strings.EqualFold(sess.person.UPN, ar.loginHint))
	// A session without MFA cannot silently satisfy a resource or a
	// claims request that needs it.
	needMFA := hasSession && !sess.mfa && (slices.Contains(ar.claims.acrs, e.cfg.MFAContext) || requiresMFA(sess, ar.scopes.res))
	switch {
	case ar.prompt == "none" && (!hasSession || !hintOK):
		e.redirectError(w, r, ar, oauthErr("login_required", CodeLoginRequired,
			"There are no signed-in users matching the request (prompt=none needs a sign-in session of the hinted person)."))
	case ar.prompt == "none" && needMFA:
		oe := oauthErr("interaction_required", CodeMFARequired, "You must use multi-factor authentication to access '%s'; prompt=none cannot ask for it.", ar.scopes.res.id)
		oe.Claims = e.mfaChallengeClaims()
		e.redirectError(w, r, ar, oe)
	case ar.prompt == "none", ar.prompt == "" && hasSession && hintOK && !needMFA:
		e.issueCode(w, r, ar, sess)
	default:
		e.showSignIn(w, r, ar)
	}
}

// validateAuthorize checks everything after the redirect URI.
func (e *Emulator) validateAuthorize(ar *authRequest, q url.Values) *Error {
	switch ar.responseMode {
	case "":
		ar.responseMode = "query"
	case "query", "fragment", "form_post":
	default:
		mode := ar.responseMode
		ar.responseMode = "query"
		return invalidRequest(CodeInvalidParameter, "The response_mode '%s' is not supported; use query, fragment or form_post.", clip(mode))
	}
	if rt := q.Get("response_type"); rt != "code" {
		if rt == "" {
			return invalidRequest(CodeMissingParameter, "The request body must contain the following parameter: 'response_type'.")
		}
		return oauthErr("unsupported_response_type", CodeUnsupportedResponse, "The provided response_type '%s' is not supported; this emulator issues codes only (response_type=code).", clip(rt))
	}
	switch {
	case len(ar.nonce) > maxNonce:
		return invalidRequest(CodeInvalidParameter, "The nonce parameter is longer than %d characters.", maxNonce)
	case len(ar.loginHint) > maxLoginHint:
		return invalidRequest(CodeInvalidParameter, "The login_hint parameter is longer than %d characters.", maxLoginHint)
	case !slices.Contains(prompts, ar.prompt):
		return invalidRequest(CodeInvalidPrompt, "Invalid prompt value '%s'; use login, none, consent or select_account.", clip(ar.prompt))
	}
	if ar.challenge == "" {
		return invalidRequest(CodePKCERequired, "Proof Key for Code Exchange is required: send code_challenge and code_challenge_method=S256.")
	}
	if m := q.Get("code_challenge_method"); m != "S256" {
		return invalidRequest(CodePKCERequired, "The code_challenge_method '%s' is not accepted; only S256 is (plain is refused).", clip(m))
	}
	if !validChallenge(ar.challenge) {
		return invalidRequest(CodeChallengeSize, "Invalid size of Code_Challenge parameter: an S256 challenge is 43 base64url characters.")
	}
	sr, oe := e.world.parseScopes(q.Get("scope"))
	if oe != nil {
		return oe
	}
	if sr.res.appOnly {
		return invalidScope(CodeInvalidScope, "The resource '%s' does not accept delegated tokens.", sr.res.id)
	}
	if !e.world.consented(ar.client, sr.res) {
		oe := oauthErr("consent_required", CodeConsentRequired,
			"The user or administrator has not consented to use the application with ID '%s' named '%s'. Send an interactive authorization request for this user and resource.", ar.clientID, ar.client.Name)
		oe.SubError = "consent_required"
		return oe
	}
	ar.scopes = sr
	cr, err := parseClaimsParam(q.Get("claims"))
	if err != nil {
		return invalidRequest(CodeInvalidParameter, "%s", err.Error())
	}
	ar.claims = cr
	return nil
}

// validChallenge: base64url of a SHA-256 digest is 43 characters.
func validChallenge(s string) bool {
	if len(s) != 43 {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// handleSignIn is the sign-in page's form: the chosen person, for the
// pending request the page was rendered for.
func (e *Emulator) handleSignIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		e.errorPage(w, r, http.StatusBadRequest, invalidRequest(CodeInvalidParameter, "The sign-in form could not be read."))
		return
	}
	ar, ok := e.grants.takePending(r.PostForm.Get("request"))
	if !ok {
		e.errorPage(w, r, http.StatusBadRequest, invalidRequest(CodeInvalidParameter, "This sign-in page has expired or was already used; start the sign-in again."))
		return
	}
	if t, ok := e.world.tenant(r.PathValue("tenant")); !ok || t.ID != ar.tenantID {
		e.errorPage(w, r, http.StatusBadRequest, invalidRequest(CodeTenantNotFound, "The sign-in form was posted to another tenant."))
		return
	}
	p, ok := e.world.person(ar.tenantID, r.PostForm.Get("person"))
	if !ok {
		e.redirectError(w, r, ar, invalidRequest(CodeInvalidParameter, "The chosen account is not a member of this tenant."))
		return
	}
	u := user{person: p, tenantID: ar.tenantID}
	// Entra asks for the second factor during an interactive sign-in
	// when the resource needs it or the claims request asks for it; the
	// dev sign-in completes it without asking.
	if requiresMFA(u, ar.scopes.res) || slices.Contains(ar.claims.acrs, e.cfg.MFAContext) {
		u.mfa = true
	}
	e.issueCode(w, r, ar, u)
}

// issueCode ends a sign-in: a single-use code bound to the client, the
// redirect URI and the PKCE challenge.
func (e *Emulator) issueCode(w http.ResponseWriter, r *http.Request, ar *authRequest, u user) {
	if u.mfa {
		u.acrs = []string{e.cfg.MFAContext}
	}
	code, err := e.grants.putCode(&codeGrant{clientID: ar.clientID, redirectURI: ar.redirectURI, challenge: ar.challenge,
		user: u, nonce: ar.nonce, expiresAt: e.now().Add(e.life.AuthorizationCode)})
	if err != nil {
		e.redirectError(w, r, ar, oauthErr("temporarily_unavailable", CodeTransient, "Too many sign-ins are in progress; retry shortly."))
		return
	}
	e.writeSession(w, u)
	e.counters.add(func(c *Counters) { c.SignIns++ })
	e.log.Info("entra sign-in", "tenant", ar.tenantID, "client_id", ar.clientID, "oid", u.person.OID, "mfa", u.mfa)
	v := url.Values{}
	v.Set("code", code)
	if ar.state != "" {
		v.Set("state", ar.state)
	}
	v.Set("session_state", derivedID("session", u.person.OID, ar.tenantID))
	respond(w, r, ar.redirectURI, ar.responseMode, v)
}

func (e *Emulator) showSignIn(w http.ResponseWriter, r *http.Request, ar *authRequest) {
	id, err := e.grants.putPending(ar)
	if err != nil {
		e.redirectError(w, r, ar, oauthErr("temporarily_unavailable", CodeTransient, "Too many sign-ins are in progress; retry shortly."))
		return
	}
	t, _ := e.world.tenant(ar.tenantID)
	page := signInView{Tenant: t.Name, TenantID: t.ID, App: ar.client.Name, Resource: ar.scopes.res.name,
		Scopes: strings.Join(ar.scopes.requested, " "), Request: id, Action: "/" + t.ID + "/oauth2/v2.0/authorize",
		Prompt: ar.prompt}
	people := e.world.people(t.ID)
	// login_hint puts the hinted person first and marks them.
	slices.SortStableFunc(people, func(a, b directory.Person) int {
		ah, bh := strings.EqualFold(a.UPN, ar.loginHint), strings.EqualFold(b.UPN, ar.loginHint)
		switch {
		case ah && !bh:
			return -1
		case bh && !ah:
			return 1
		}
		return 0
	})
	for _, p := range people {
		page.People = append(page.People, personView{OID: p.OID, Name: p.Name, UPN: p.UPN, Role: p.Role,
			Hinted: strings.EqualFold(p.UPN, ar.loginHint), MFA: requiresMFA(user{person: p}, ar.scopes.res) || slices.Contains(ar.claims.acrs, e.cfg.MFAContext)})
	}
	writePage(w, http.StatusOK, signInPage, page)
}

// handleLogout ends the emulator session and returns to
// post_logout_redirect_uri when it is on the origin of a registered
// redirect URI of the tenant's apps.
func (e *Emulator) handleLogout(w http.ResponseWriter, r *http.Request) {
	t, ok := e.world.tenant(r.PathValue("tenant"))
	if !ok {
		e.errorPage(w, r, http.StatusBadRequest, invalidRequest(CodeTenantNotFound, "Tenant '%s' not found.", clip(r.PathValue("tenant"))))
		return
	}
	e.clearSession(w)
	target := r.URL.Query().Get("post_logout_redirect_uri")
	if target != "" && len(target) <= maxURI && e.logoutTargetAllowed(t.ID, target) {
		http.Redirect(w, r, target, http.StatusFound)
		return
	}
	writePage(w, http.StatusOK, signedOutPage, struct{ Tenant string }{t.Name})
}

func (e *Emulator) logoutTargetAllowed(tenantID, target string) bool {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" || u.User != nil {
		return false
	}
	origin := u.Scheme + "://" + u.Host
	for _, a := range e.world.apps {
		if a.Tenant != tenantID {
			continue
		}
		e.redirectMu.RLock()
		uris := append(slices.Clone(a.RedirectURIs), e.redirects[a.ClientID]...)
		e.redirectMu.RUnlock()
		for _, ru := range uris {
			if p, err := url.Parse(ru); err == nil && p.Scheme+"://"+p.Host == origin {
				return true
			}
		}
	}
	return false
}
