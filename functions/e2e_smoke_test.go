//go:build devstack

package main

import (
	"net/http"
	"testing"
)

// TestDevStackSignInAndMe signs a person in through the browser flow and
// reads /api/auth/me with the session (issue 5, acceptance 2).
func TestDevStackSignInAndMe(t *testing.T) {
	s := startDevStack(t, nil)
	c, csrf := s.browser(wendyWest)
	if csrf == "" {
		t.Fatal("no CSRF token for the cookie session")
	}
	r := s.callWith(c, http.MethodGet, "/api/auth/me", "", nil, nil)
	if r.Status != 200 || r.JSON["upn"] != wendyWest || r.JSON["via"] != "session" {
		t.Fatalf("me: %d %s", r.Status, r.Body)
	}
}
