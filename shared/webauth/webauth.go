// Package webauth is the authentication edge every function shares: it
// finds the caller's credential (a bearer token, or a session cookie whose
// state-changing requests must carry the CSRF token), validates it with
// shared/identity, and maps identity and exchange failures to the JSON
// error shape — including the 401 insufficient_claims challenge that lets
// a frontend step up to MFA.
package webauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/behalf-dev/behalf/shared/httpapi"
	"github.com/behalf-dev/behalf/shared/identity"
	"github.com/behalf-dev/behalf/shared/obo"
	"github.com/behalf-dev/behalf/shared/session"
)

// CSRFHeader carries the session's CSRF token on cookie requests.
const CSRFHeader = "X-CSRF-Token"

// Caller is an authenticated request's person and the token that proves it.
type Caller struct {
	Principal *identity.Principal
	// Assertion is the person's token for behalf's API (the OBO input).
	// It never leaves the request except to the token exchange.
	Assertion string
	// ViaCookie is true when the session cookie authenticated the request.
	ViaCookie bool
	// CSRF is the session's CSRF token (cookie requests only), for pages
	// that render forms.
	CSRF string
}

// Validator checks a bearer token.
type Validator interface {
	Validate(ctx context.Context, raw string) (*identity.Principal, error)
}

// Refresher renews a session whose person token is about to expire.
type Refresher interface {
	Refresh(ctx context.Context, d *session.Data) (*session.Data, error)
}

// Authenticator authenticates requests.
type Authenticator struct {
	Validator Validator
	// Sessions is nil when cookie sessions are not configured.
	Sessions *session.Codec
	// Refresher renews cookie sessions near expiry; nil disables it.
	Refresher Refresher
}

// Authenticate returns the caller or an *httpapi.Error. A bearer token
// wins over a cookie. Cookie requests with unsafe methods need the CSRF
// header.
func (a *Authenticator) Authenticate(w http.ResponseWriter, r *http.Request) (*Caller, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
			return nil, unauthenticated(identity.CodeMalformed, "use Authorization: Bearer <token>")
		}
		p, err := a.Validator.Validate(r.Context(), strings.TrimSpace(tok))
		if err != nil {
			return nil, IdentityError(err)
		}
		return &Caller{Principal: p, Assertion: strings.TrimSpace(tok)}, nil
	}
	if a.Sessions == nil {
		return nil, unauthenticated(identity.CodeMissing, "send the person's token as Authorization: Bearer <token>")
	}
	d, err := a.Sessions.Open(r)
	if err != nil {
		return nil, unauthenticated(identity.CodeMissing, "sign in at /api/auth/login or send Authorization: Bearer <token>")
	}
	if !safeMethod(r.Method) && !session.CheckCSRF(d, r.Header.Get(CSRFHeader)) && !session.CheckCSRF(d, formCSRF(r)) {
		return nil, &httpapi.Error{Status: http.StatusForbidden, Code: httpapi.CodePermissionDenied, Message: "missing or wrong CSRF token: send the token from /api/auth/me in the " + CSRFHeader + " header"}
	}
	if now := time.Now(); a.Refresher != nil && d.NeedsRefresh(now) {
		nd, err := a.Refresher.Refresh(r.Context(), d)
		switch {
		case err == nil:
			cookies, err := a.Sessions.Seal(nd)
			if err != nil {
				return nil, fmt.Errorf("webauth: reseal session: %w", err)
			}
			for _, c := range cookies {
				http.SetCookie(w, c)
			}
			d = nd
		case !now.Before(d.ExpiresAt):
			// The token is gone and cannot be renewed (refresh token
			// revoked or expired): the person signs in again.
			for _, c := range a.Sessions.Clear() {
				http.SetCookie(w, c)
			}
			e := unauthenticated(identity.CodeExpired, "your session expired; sign in again at /api/auth/login")
			e.Err = err
			return nil, e
		}
		// Otherwise the current token still works; the refresh is tried
		// again on the next request (a passing IdP hiccup must not sign
		// the person out).
	}
	p, err := a.Validator.Validate(r.Context(), d.AccessToken)
	if err != nil {
		return nil, IdentityError(err)
	}
	return &Caller{Principal: p, Assertion: d.AccessToken, ViaCookie: true, CSRF: d.CSRF}, nil
}

// formCSRF reads the token of an HTML form post (the approval page).
func formCSRF(r *http.Request) string {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return ""
	}
	if err := r.ParseForm(); err != nil {
		return ""
	}
	return r.PostForm.Get("csrf_token")
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func unauthenticated(code identity.Code, msg string) *httpapi.Error {
	return &httpapi.Error{Status: http.StatusUnauthorized, Code: httpapi.Code(code), Message: msg,
		Header: http.Header{"Www-Authenticate": {`Bearer error="invalid_token"`}}}
}

// IdentityError maps identity and exchange errors to the JSON shape:
// refused tokens are 401 (403 for a missing scope), claims challenges are
// 401 with WWW-Authenticate insufficient_claims, consent and
// configuration problems are actionable 403/500s.
func IdentityError(err error) error {
	var ie *identity.Error
	if errors.As(err, &ie) {
		switch ie.Code {
		case identity.CodeMissingScope:
			return &httpapi.Error{Status: http.StatusForbidden, Code: httpapi.Code(ie.Code), Message: ie.Message, Err: err,
				Header: http.Header{"Www-Authenticate": {`Bearer error="insufficient_scope"`}}}
		case identity.CodeIssuerUnavailable:
			return &httpapi.Error{Status: http.StatusServiceUnavailable, Code: httpapi.CodeUnavailable, Message: ie.Message, Err: err}
		}
		e := unauthenticated(ie.Code, ie.Message)
		e.Err = err
		return e
	}
	var oe *obo.Error
	if errors.As(err, &oe) {
		switch oe.Code {
		case obo.CodeInteractionRequired:
			h := fmt.Sprintf(`Bearer realm="", error="insufficient_claims", error_description=%q`, "step-up authentication required")
			if c := oe.ClaimsChallenge(); c != "" {
				h += fmt.Sprintf(`, claims="%s"`, c)
			}
			return &httpapi.Error{Status: http.StatusUnauthorized, Code: httpapi.CodeInsufficientClaims, Message: oe.Message, Err: err,
				Header: http.Header{"Www-Authenticate": {h}}}
		case obo.CodeConsentRequired:
			return &httpapi.Error{Status: http.StatusForbidden, Code: "CONSENT_REQUIRED", Message: oe.Message, Err: err}
		case obo.CodeInvalidGrant:
			e := unauthenticated(identity.Code(oe.Code), oe.Message)
			e.Err = err
			return e
		case obo.CodeNotAllowed:
			return &httpapi.Error{Status: http.StatusForbidden, Code: httpapi.CodePermissionDenied, Message: oe.Message, Err: err}
		case obo.CodeMisconfigured:
			return &httpapi.Error{Status: http.StatusInternalServerError, Code: httpapi.Code(oe.Code), Message: oe.Message, Err: err}
		default:
			return &httpapi.Error{Status: http.StatusServiceUnavailable, Code: httpapi.CodeUnavailable, Message: oe.Message, Err: err}
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &httpapi.Error{Status: http.StatusGatewayTimeout, Code: httpapi.CodeTimeout, Message: "signing in took too long; retry", Err: err}
	}
	return err
}
