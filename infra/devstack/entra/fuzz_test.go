package entra

import (
	"strings"
	"testing"

	"github.com/behalf-dev/behalf/infra/devstack/directory"
)

// FuzzParseScopes: any scope parameter is either refused with an Entra
// error or names exactly one known resource, never both, never a panic.
func FuzzParseScopes(f *testing.F) {
	w, err := newWorld(directory.Demo())
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "openid", dbxScope + " openid offline_access profile", behalfScope, "api://x/.default",
		"a/b c/d", "/", "//", strings.Repeat("x/", 3000), dbx + "/user_impersonation " + dbxScope} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		sr, oe := w.parseScopes(raw)
		switch {
		case (sr == nil) == (oe == nil):
			t.Fatalf("parseScopes(%q) = %v, %v", raw, sr, oe)
		case oe != nil && (oe.Err == "" || oe.Code == 0):
			t.Fatalf("error without kind or code: %+v", oe)
		case sr != nil && (sr.res == nil || len(sr.requested) == 0 || len(sr.requested) != len(sr.names)):
			t.Fatalf("accepted %q without a resource: %+v", raw, sr)
		}
	})
}

// FuzzParseClaimsParam: the claims parameter parser never panics and
// bounds what it keeps.
func FuzzParseClaimsParam(f *testing.F) {
	for _, s := range []string{"", "{}", `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`,
		`{"access_token":{"acrs":{"values":["c1","c2"]}}}`, `{"access_token":{"xms_cc":{"values":["cp1"]}}}`,
		`{"access_token":null}`, `[1]`, `{"access_token":{"acrs":"c1"}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		cr, err := parseClaimsParam(raw)
		if err == nil && len(cr.acrs) > 16 {
			t.Fatalf("kept %d acrs", len(cr.acrs))
		}
		for _, a := range cr.acrs {
			if a == "" || len(a) > 64 {
				t.Fatalf("kept acrs %q", a)
			}
		}
	})
}

// FuzzVerifyJWT: arbitrary bytes as OBO assertion or client assertion
// are refused cleanly.
func FuzzVerifyJWT(f *testing.F) {
	e, err := New(Config{Directory: directory.Demo()})
	if err != nil {
		f.Fatal(err)
	}
	good, err := e.UserAccessToken(wendy, behalfID, agentID)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b.c")
	f.Add(strings.Repeat("A", 100))
	t, _ := e.world.tenant(tenantID)
	a := e.world.apps[behalfID]
	f.Fuzz(func(tt *testing.T, raw string) {
		if raw == good {
			return
		}
		if _, err := e.keys.verify(raw); err == nil {
			tt.Fatalf("a mutated token verified: %q", raw)
		}
		if oe := e.verifyClientAssertion(raw, a, t); oe == nil {
			tt.Fatalf("a mutated client assertion was accepted: %q", raw)
		}
	})
}
