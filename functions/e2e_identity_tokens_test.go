//go:build devstack

package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	dbxemu "github.com/behalf-dev/behalf/infra/devstack/databricks"
	"github.com/behalf-dev/behalf/infra/devstack/entra"
)

// Forged and unfit tokens against the running stack (issue 5, acceptance
// 1 over HTTP).

func b64JSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokenClaims decodes a JWT's payload without verifying it.
func tokenClaims(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// signWith signs claims with a key the tenant never published.
func signWith(t *testing.T, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	sg, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	obj, err := sg.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// tenantPublicKeyPEM fetches the tenant's published signing key as PEM:
// what an attacker would use as an HMAC secret.
func (s *devStack) tenantPublicKeyPEM(t *testing.T, kid string) []byte {
	t.Helper()
	resp, err := s.http.Get(s.r.Authority + "/discovery/v2.0/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	keys := set.Key(kid)
	if len(keys) == 0 {
		t.Fatalf("kid %s is not published", kid)
	}
	der, err := x509.MarshalPKIXPublicKey(keys[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// TestE2ETokenRefusalsOverHTTP sends forged and unfit tokens to a
// function: each is refused with 401 (WWW-Authenticate: Bearer) and its
// own code, and none reaches the token exchange or the workspace
// (issue 5, acceptance 1 end to end; the full table, including
// not-yet-valid and missing scope, is shared/identity's TestValidateTable).
func TestE2ETokenRefusalsOverHTTP(t *testing.T) {
	s := startDevStack(t, nil)
	good := s.token(wendyWest)
	parts := strings.Split(good, ".")
	var head struct {
		Kid string `json:"kid"`
	}
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if err := json.Unmarshal(hb, &head); err != nil || head.Kid == "" {
		t.Fatalf("token header %s", hb)
	}
	claims := tokenClaims(t, good)
	with := func(over map[string]any) map[string]any {
		c := map[string]any{}
		for k, v := range claims {
			c[k] = v
		}
		for k, v := range over {
			c[k] = v
		}
		return c
	}
	expired, err := s.r.Entra.MintUserToken(entra.UserToken{UPN: wendyWest, Resource: s.behalf, ClientID: agentApp, Lifetime: -10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	forDatabricks, err := s.r.Entra.UserAccessToken(wendyWest, databricksResource, agentApp)
	if err != nil {
		t.Fatal(err)
	}
	hs256 := func() string {
		h := b64JSON(t, map[string]string{"alg": "HS256", "typ": "JWT", "kid": head.Kid})
		mac := hmac.New(sha256.New, s.tenantPublicKeyPEM(t, head.Kid))
		mac.Write([]byte(h + "." + parts[1]))
		return h + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	}
	rogueKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	otherTenant := "9a8b7c6d-0000-4000-8000-00000000f0e1"
	entraHost := strings.TrimSuffix(s.r.Authority, "/"+claims["tid"].(string))

	cases := []struct {
		name, token, code string
	}{
		{"no token", "", "TOKEN_MISSING"},
		{"garbage", "not-a-token", "TOKEN_MALFORMED"},
		{"expired", expired, "TOKEN_EXPIRED"},
		{"wrong audience (a Databricks token)", forDatabricks, "TOKEN_WRONG_AUDIENCE"},
		{"wrong issuer", signWith(t, rogueKey, head.Kid, with(map[string]any{"iss": "https://evil.example/" + claims["tid"].(string) + "/v2.0"})), "TOKEN_WRONG_ISSUER"},
		{"other tenant", signWith(t, rogueKey, head.Kid, with(map[string]any{"iss": entraHost + "/" + otherTenant + "/v2.0", "tid": otherTenant})), "TOKEN_WRONG_TENANT"},
		{"alg none", b64JSON(t, map[string]string{"alg": "none", "typ": "JWT"}) + "." + parts[1] + ".", "TOKEN_ALG_NOT_ALLOWED"},
		{"HS256 signed with the public key", hs256(), "TOKEN_ALG_NOT_ALLOWED"},
		{"unknown kid", signWith(t, rogueKey, "not-a-published-kid", claims), "TOKEN_UNKNOWN_KEY"},
		{"tampered payload", parts[0] + "." + b64JSON(t, with(map[string]any{"oid": "b0000000-0000-4000-8000-000000000006"})) + "." + parts[2], "TOKEN_BAD_SIGNATURE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := s.call(http.MethodPost, "/api/genie-query", tc.token, map[string]any{"question": "What is the revenue by region?"})
			if r.Status != http.StatusUnauthorized || r.errorCode() != tc.code {
				t.Fatalf("%d %s, want 401 %s", r.Status, r.Body, tc.code)
			}
			if h := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer ") {
				t.Fatalf("WWW-Authenticate %q", h)
			}
			if tc.token != "" && strings.Contains(string(r.Body), tc.token) {
				t.Fatal("the error echoes the token")
			}
		})
	}
	if n := s.r.Entra.Counters().TokenRequests[entra.GrantOnBehalfOf]; n != 0 {
		t.Fatalf("refused tokens reached the OBO exchange %d times", n)
	}
	if c := s.r.Databricks.Counters(); c.GenieMessages != 0 || c.Requests[dbxemu.EndpointGenieStart] != 0 {
		t.Fatalf("refused tokens reached Genie: %+v", c.Requests)
	}
	// The genuine token passes the same gate.
	if r := s.call(http.MethodGet, "/api/auth/me", good, nil); r.Status != 200 || r.JSON["upn"] != wendyWest || r.JSON["via"] != "bearer" {
		t.Fatalf("valid token: %d %s", r.Status, r.Body)
	}
}
