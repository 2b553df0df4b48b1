package authcallback

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/behalf-dev/behalf/shared/session"
	"github.com/behalf-dev/behalf/shared/signin"
	"github.com/behalf-dev/behalf/shared/webauth"
)

type fakeFlow struct {
	finished *signin.LoginState
}

func (f *fakeFlow) Start(ctx context.Context, redirectAfter, hint string) (string, *signin.LoginState, error) {
	return "https://idp.example/authorize?x=1", &signin.LoginState{State: "st-1", Nonce: "n", Verifier: "v", RedirectAfter: redirectAfter, Created: time.Now()}, nil
}

func (f *fakeFlow) Finish(ctx context.Context, code string, st *signin.LoginState) (*session.Data, error) {
	f.finished = st
	return &session.Data{AccessToken: "at", ExpiresAt: time.Now().Add(time.Hour), OID: "o", UPN: "wendy@contoso", CSRF: "c", IssuedAt: time.Now()}, nil
}

func (f *fakeFlow) LogoutURL(post string) string {
	return "https://idp.example/logout?post=" + url.QueryEscape(post)
}

type noAuth struct{}

func (noAuth) Authenticate(w http.ResponseWriter, r *http.Request) (*webauth.Caller, error) {
	return nil, http.ErrNoCookie
}

func newHandler(t *testing.T) (http.Handler, *fakeFlow) {
	codec, err := session.New(session.Config{Keys: []session.Key{{ID: "k", Secret: bytes.Repeat([]byte{7}, 32)}}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeFlow{}
	fn := Function(Config{Sessions: codec, Flow: f, Auth: noAuth{}, AllowedOrigins: []string{"https://chat.contoso.example"}, PublicURL: "https://behalf.contoso.example"})
	mux := http.NewServeMux()
	mux.Handle("/api/auth/{action}", fn.Handler)
	return mux, f
}

func TestLoginRedirectsOnlyToAllowedTargets(t *testing.T) {
	h, _ := newHandler(t)
	cases := []struct {
		redirect string
		status   int
	}{
		{"", http.StatusFound},
		{"/api/auth/me", http.StatusFound},
		{"https://chat.contoso.example/after", http.StatusFound},
		{"https://evil.example/steal", http.StatusBadRequest},
		{"//evil.example/x", http.StatusBadRequest},
		{"/\\evil.example", http.StatusBadRequest},
		{"javascript:alert(1)", http.StatusBadRequest},
		{"https://chat.contoso.example@evil.example/", http.StatusBadRequest},
		{"https://chat.contoso.example.evil.example/", http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.redirect, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/auth/login?redirect="+url.QueryEscape(tc.redirect), nil))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if tc.status == http.StatusFound {
				if !strings.HasPrefix(rec.Header().Get("Location"), "https://idp.example/") {
					t.Fatalf("location %q", rec.Header().Get("Location"))
				}
				ck := rec.Result().Cookies()
				if len(ck) != 1 || ck[0].Name != loginCookie || !ck[0].HttpOnly {
					t.Fatalf("login cookie %+v", ck)
				}
			}
		})
	}
}

func TestCallbackChecksStateAndIsSingleUse(t *testing.T) {
	h, f := newHandler(t)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/auth/login?redirect=/api/auth/me", nil))
	login := rec.Result().Cookies()[0]

	call := func(query string, withCookie bool) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/api/auth/callback?"+query, nil)
		if withCookie {
			r.AddCookie(login)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	if rec := call("code=c&state=wrong", true); rec.Code != http.StatusBadRequest {
		t.Fatalf("wrong state: %d", rec.Code)
	}
	if rec := call("code=c&state=st-1", false); rec.Code != http.StatusBadRequest {
		t.Fatalf("no login cookie: %d", rec.Code)
	}
	if rec := call("error=access_denied&state=st-1", true); rec.Code != http.StatusUnauthorized {
		t.Fatalf("idp error: %d", rec.Code)
	}
	rec = call("code=c&state=st-1", true)
	if rec.Code != http.StatusFound || rec.Header().Get("Location") != "/api/auth/me" || f.finished == nil {
		t.Fatalf("callback %d %q", rec.Code, rec.Header().Get("Location"))
	}
	var session, cleared bool
	for _, c := range rec.Result().Cookies() {
		if c.Name == "behalf_session" && c.MaxAge > 0 && c.HttpOnly && c.SameSite == http.SameSiteLaxMode {
			session = true
		}
		if c.Name == loginCookie && c.MaxAge < 0 {
			cleared = true
		}
	}
	if !session || !cleared {
		t.Fatalf("cookies %+v", rec.Result().Cookies())
	}
}
