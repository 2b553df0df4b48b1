package webauth

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/behalf-dev/behalf/shared/httpapi"
	"github.com/behalf-dev/behalf/shared/identity"
	"github.com/behalf-dev/behalf/shared/obo"
	"github.com/behalf-dev/behalf/shared/session"
)

// fakeValidator accepts the tokens it knows.
type fakeValidator map[string]error

func (f fakeValidator) Validate(_ context.Context, raw string) (*identity.Principal, error) {
	err, ok := f[raw]
	if !ok {
		return nil, &identity.Error{Code: identity.CodeBadSignature, Message: "token signature does not verify"}
	}
	if err != nil {
		return nil, err
	}
	return &identity.Principal{OID: "oid-" + raw, UPN: raw + "@contoso.example"}, nil
}

type fakeRefresher struct {
	calls int
	err   error
}

func (f *fakeRefresher) Refresh(_ context.Context, d *session.Data) (*session.Data, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	nd := *d
	nd.AccessToken, nd.ExpiresAt = "renewed", time.Now().Add(time.Hour)
	return &nd, nil
}

func codec(t *testing.T) *session.Codec {
	t.Helper()
	c, err := session.New(session.Config{Keys: []session.Key{{ID: "k1", Secret: []byte(strings.Repeat("s", 32))}}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// withSession adds the sealed session to r.
func withSession(t *testing.T, c *session.Codec, r *http.Request, d *session.Data) {
	t.Helper()
	cookies, err := c.Seal(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, ck := range cookies {
		if ck.MaxAge > 0 {
			r.AddCookie(ck)
		}
	}
}

func TestAuthenticate(t *testing.T) {
	sessions := codec(t)
	val := fakeValidator{"wendy": nil, "fiona": nil, "renewed": nil,
		"expired":  &identity.Error{Code: identity.CodeExpired, Message: "token expired; get a new one"},
		"noscope":  &identity.Error{Code: identity.CodeMissingScope, Message: "the token lacks the scope"},
		"keysdown": &identity.Error{Code: identity.CodeIssuerUnavailable, Message: "keys could not be fetched"},
	}
	live := &session.Data{AccessToken: "wendy", ExpiresAt: time.Now().Add(time.Hour), CSRF: "csrf-1", IssuedAt: time.Now()}
	nearExpiry := &session.Data{AccessToken: "wendy", ExpiresAt: time.Now().Add(time.Minute), CSRF: "csrf-1", IssuedAt: time.Now(), MSALCache: []byte("{}")}
	expired := &session.Data{AccessToken: "expired", ExpiresAt: time.Now().Add(-time.Minute), CSRF: "csrf-1", IssuedAt: time.Now(), MSALCache: []byte("{}")}

	cases := []struct {
		name      string
		method    string
		auth      string
		session   *session.Data
		csrf      string
		form      string
		refresher *fakeRefresher
		// want
		status    int
		code      httpapi.Code
		upn       string
		viaCookie bool
		setCookie bool
		refreshes int
	}{
		{name: "bearer", method: "POST", auth: "Bearer fiona", upn: "fiona@contoso.example"},
		{name: "bearer scheme is case-insensitive", method: "GET", auth: "bearer fiona", upn: "fiona@contoso.example"},
		{name: "bearer wins over the cookie and needs no CSRF", method: "POST", auth: "Bearer fiona", session: live, upn: "fiona@contoso.example"},
		{name: "other scheme", method: "GET", auth: "Basic d2VuZHk6cHc=", status: 401, code: "TOKEN_MALFORMED"},
		{name: "empty bearer", method: "GET", auth: "Bearer  ", status: 401, code: "TOKEN_MALFORMED"},
		{name: "refused bearer", method: "GET", auth: "Bearer forged", status: 401, code: "TOKEN_BAD_SIGNATURE"},
		{name: "expired bearer", method: "GET", auth: "Bearer expired", status: 401, code: "TOKEN_EXPIRED"},
		{name: "missing scope is 403", method: "GET", auth: "Bearer noscope", status: 403, code: "TOKEN_MISSING_SCOPE"},
		{name: "issuer keys unavailable is 503", method: "GET", auth: "Bearer keysdown", status: 503, code: httpapi.CodeUnavailable},
		{name: "nothing", method: "GET", status: 401, code: "TOKEN_MISSING"},
		{name: "cookie GET needs no CSRF", method: "GET", session: live, upn: "wendy@contoso.example", viaCookie: true},
		{name: "cookie POST without CSRF", method: "POST", session: live, status: 403, code: httpapi.CodePermissionDenied},
		{name: "cookie DELETE without CSRF", method: "DELETE", session: live, status: 403, code: httpapi.CodePermissionDenied},
		{name: "cookie POST with a wrong CSRF", method: "POST", session: live, csrf: "csrf-2", status: 403, code: httpapi.CodePermissionDenied},
		{name: "cookie POST with the CSRF header", method: "POST", session: live, csrf: "csrf-1", upn: "wendy@contoso.example", viaCookie: true},
		{name: "cookie form POST with the CSRF field", method: "POST", session: live, form: "csrf_token=csrf-1&decision=approve", upn: "wendy@contoso.example", viaCookie: true},
		{name: "cookie form POST with a wrong CSRF field", method: "POST", session: live, form: "csrf_token=nope", status: 403, code: httpapi.CodePermissionDenied},
		{name: "near expiry: refreshed and resealed", method: "GET", session: nearExpiry, refresher: &fakeRefresher{}, upn: "renewed@contoso.example", viaCookie: true, setCookie: true, refreshes: 1},
		{name: "near expiry, refresh fails: the current token still serves", method: "GET", session: nearExpiry, refresher: &fakeRefresher{err: errors.New("idp down")}, upn: "wendy@contoso.example", viaCookie: true, refreshes: 1},
		{name: "expired, refresh fails: sign in again", method: "GET", session: expired, refresher: &fakeRefresher{err: errors.New("invalid_grant")}, status: 401, code: "TOKEN_EXPIRED", setCookie: true, refreshes: 1},
		{name: "no refresher: an expired session token is refused", method: "GET", session: expired, status: 401, code: "TOKEN_EXPIRED"},
		{name: "CSRF is checked before any refresh", method: "POST", session: nearExpiry, refresher: &fakeRefresher{}, status: 403, code: httpapi.CodePermissionDenied},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := &Authenticator{Validator: val, Sessions: sessions}
			if tc.refresher != nil {
				a.Refresher = tc.refresher
			}
			var r *http.Request
			if tc.form != "" {
				r = httptest.NewRequest(tc.method, "/api/sql-approve", strings.NewReader(tc.form))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			} else {
				r = httptest.NewRequest(tc.method, "/api/genie-query", nil)
			}
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			if tc.csrf != "" {
				r.Header.Set(CSRFHeader, tc.csrf)
			}
			if tc.session != nil {
				withSession(t, sessions, r, tc.session)
			}
			w := httptest.NewRecorder()
			c, err := a.Authenticate(w, r)
			if got := len(w.Result().Cookies()) > 0; got != tc.setCookie {
				t.Errorf("set cookies: %v, want %v", w.Result().Cookies(), tc.setCookie)
			}
			if tc.refresher != nil && tc.refresher.calls != tc.refreshes {
				t.Errorf("%d refreshes, want %d", tc.refresher.calls, tc.refreshes)
			}
			if tc.status != 0 {
				var e *httpapi.Error
				if !errors.As(err, &e) || e.Status != tc.status || e.Code != tc.code {
					t.Fatalf("got %v (%+v), want %d %s", err, c, tc.status, tc.code)
				}
				if tc.status == 401 && !strings.HasPrefix(e.Header.Get("Www-Authenticate"), "Bearer") {
					t.Errorf("401 without a Bearer challenge: %v", e.Header)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Principal.UPN != tc.upn || c.ViaCookie != tc.viaCookie || c.Assertion == "" {
				t.Fatalf("caller %+v", c)
			}
			if tc.viaCookie && c.CSRF != "csrf-1" {
				t.Errorf("cookie caller CSRF %q", c.CSRF)
			}
		})
	}
}

func TestIdentityErrorMapping(t *testing.T) {
	claims := `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`
	cases := []struct {
		name   string
		err    error
		status int
		code   httpapi.Code
		header string // substring of WWW-Authenticate
	}{
		{"claims challenge", &obo.Error{Code: obo.CodeInteractionRequired, Message: "step up", Claims: claims}, 401, httpapi.CodeInsufficientClaims,
			`error="insufficient_claims", error_description="step-up authentication required", claims="` + base64.StdEncoding.EncodeToString([]byte(claims)) + `"`},
		{"interaction without claims", &obo.Error{Code: obo.CodeInteractionRequired, Message: "sign in again"}, 401, httpapi.CodeInsufficientClaims, `error="insufficient_claims"`},
		{"consent", &obo.Error{Code: obo.CodeConsentRequired, Message: "grant consent"}, 403, "CONSENT_REQUIRED", ""},
		{"invalid grant", &obo.Error{Code: obo.CodeInvalidGrant, Message: "sign in again"}, 401, "INVALID_GRANT", `error="invalid_token"`},
		{"not allowed", &obo.Error{Code: obo.CodeNotAllowed, Message: "role may not"}, 403, httpapi.CodePermissionDenied, ""},
		{"misconfigured", &obo.Error{Code: obo.CodeMisconfigured, Message: "check the app"}, 500, "EXCHANGE_MISCONFIGURED", ""},
		{"token service down", &obo.Error{Code: obo.CodeUnavailable, Message: "retry"}, 503, httpapi.CodeUnavailable, ""},
		{"refused token", &identity.Error{Code: identity.CodeWrongTenant, Message: "other tenant"}, 401, "TOKEN_WRONG_TENANT", `error="invalid_token"`},
		{"deadline", context.DeadlineExceeded, 504, httpapi.CodeTimeout, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var e *httpapi.Error
			if !errors.As(IdentityError(tc.err), &e) || e.Status != tc.status || e.Code != tc.code {
				t.Fatalf("%v → %+v, want %d %s", tc.err, e, tc.status, tc.code)
			}
			if h := e.Header.Get("Www-Authenticate"); !strings.Contains(h, tc.header) || (tc.header != "" && !strings.HasPrefix(h, "Bearer ")) {
				t.Fatalf("WWW-Authenticate %q, want it to contain %q", h, tc.header)
			}
			if e.Message == "" {
				t.Fatal("no message for the caller")
			}
		})
	}
	plain := errors.New("something else")
	if got := IdentityError(plain); got != plain {
		t.Fatalf("unrelated errors pass through unchanged, got %v", got)
	}
}

// The claims challenge round-trips: what the frontend decodes is what the
// IdP asked for.
func TestClaimsChallengeDecodes(t *testing.T) {
	claims := `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`
	var e *httpapi.Error
	errors.As(IdentityError(&obo.Error{Code: obo.CodeInteractionRequired, Claims: claims, Message: "m"}), &e)
	h := e.Header.Get("Www-Authenticate")
	_, rest, _ := strings.Cut(h, `claims="`)
	enc, _, _ := strings.Cut(rest, `"`)
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || string(raw) != claims {
		t.Fatalf("claims %q (%v) from %q", raw, err, h)
	}
}
