package oboexchange

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/behalf-dev/behalf/shared/identity"
	"github.com/behalf-dev/behalf/shared/obo"
	"github.com/behalf-dev/behalf/shared/webauth"
)

type fakeDeps struct {
	app       string
	cookie    bool
	exchanges int
}

func (f *fakeDeps) Authenticate(w http.ResponseWriter, r *http.Request) (*webauth.Caller, error) {
	return &webauth.Caller{Principal: &identity.Principal{OID: "o", ClientAppID: f.app}, Assertion: "user-token", ViaCookie: f.cookie}, nil
}

func (f *fakeDeps) Exchange(ctx context.Context, r *http.Request, c *webauth.Caller, fn string) (*obo.Token, error) {
	f.exchanges++
	return &obo.Token{AccessToken: "dbx", ExpiresAt: time.Now().Add(time.Hour), Scope: "s", Mode: obo.ModeEntraOBO}, nil
}

func TestBrokerAllowList(t *testing.T) {
	cases := []struct {
		name   string
		deps   *fakeDeps
		status int
	}{
		{"allow-listed backend", &fakeDeps{app: "agent"}, http.StatusOK},
		{"other app", &fakeDeps{app: "rogue"}, http.StatusForbidden},
		{"no app id", &fakeDeps{}, http.StatusForbidden},
		{"cookie session", &fakeDeps{app: "agent", cookie: true}, http.StatusForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fn := Function(tc.deps, []string{"agent"})
			rec := httptest.NewRecorder()
			fn.Handler.ServeHTTP(rec, httptest.NewRequest("POST", "/api/obo-exchange", nil))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if tc.status != http.StatusOK {
				if tc.deps.exchanges != 0 {
					t.Fatal("a refused caller caused an exchange")
				}
				return
			}
			var a Answer
			_ = json.Unmarshal(rec.Body.Bytes(), &a)
			if a.AccessToken != "dbx" || a.TokenType != "Bearer" || a.ExpiresIn < 3500 || rec.Header().Get("Cache-Control") != "no-store" {
				t.Fatalf("answer %+v headers %v", a, rec.Header())
			}
		})
	}
}

func TestExpiresInIsNeverNegative(t *testing.T) {
	for name, tc := range map[string]struct {
		at   time.Time
		want func(int64) bool
	}{
		"unknown (forwarded)": {time.Time{}, func(n int64) bool { return n == 0 }},
		"past":                {time.Now().Add(-time.Minute), func(n int64) bool { return n == 0 }},
		"an hour":             {time.Now().Add(time.Hour), func(n int64) bool { return n > 3500 && n <= 3600 }},
	} {
		if got := expiresIn(&obo.Token{ExpiresAt: tc.at}); !tc.want(got) {
			t.Errorf("%s: expires_in %d", name, got)
		}
	}
}
