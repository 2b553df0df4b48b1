//go:build devstack

package main

import (
	"net/http"
	"strings"
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

// TestDevStackHealthChecksDependencies: /api/health reports each
// dependency of the running stack, without any error text or address.
func TestDevStackHealthChecksDependencies(t *testing.T) {
	s := startDevStack(t, nil)
	r := s.call(http.MethodGet, "/api/health", "", nil)
	if r.Status != http.StatusOK || r.JSON["status"] != "ok" {
		t.Fatalf("health: %d %s", r.Status, r.Body)
	}
	names := map[string]bool{}
	for _, c := range r.JSON["checks"].([]any) {
		c := c.(map[string]any)
		names[c["name"].(string)] = c["status"] == "ok"
	}
	for _, want := range []string{"identity-provider", "databricks-workspace", "audit-trail", "audit-dead-letters"} {
		if !names[want] {
			t.Errorf("check %s missing or not ok: %s", want, r.Body)
		}
	}
	if strings.Contains(string(r.Body), "127.0.0.1") || strings.Contains(string(r.Body), "https://") {
		t.Errorf("health reveals addresses: %s", r.Body)
	}
}
