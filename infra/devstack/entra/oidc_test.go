package entra

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/behalf-dev/behalf/shared/identity"
)

// shiftedClock is a clock tests can move forward.
type shiftedClock struct{ offset atomic.Int64 }

func (c *shiftedClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *shiftedClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// TestOIDCVerifiesTokensAcrossKeyRotation verifies ID and access tokens
// with go-oidc through discovery and JWKS, before and after a rotation,
// and checks that a rotated-out key disappears once its tokens expired.
func TestOIDCVerifiesTokensAcrossKeyRotation(t *testing.T) {
	clock := &shiftedClock{}
	v := newEnv(t, func(c *Config) { c.Now = clock.now })
	octx := oidc.ClientContext(context.Background(), v.http)
	provider, err := oidc.NewProvider(octx, v.e.Issuer(tenantID))
	if err != nil {
		t.Fatal(err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: behalfID})

	before := v.jwksKids(t)
	if len(before) != 2 {
		t.Fatalf("JWKS publishes %d keys, want 2", len(before))
	}
	idBefore, atBefore := v.signInTokens(t)
	for name, raw := range map[string]string{"ID token": idBefore, "access token": atBefore} {
		if _, err := verifier.Verify(octx, raw); err != nil {
			t.Fatalf("%s before rotation: %v", name, err)
		}
	}

	newKid, err := v.e.RotateKeys()
	if err != nil {
		t.Fatal(err)
	}
	if !before[newKid] {
		t.Fatal("the new signing key was not published before it signed")
	}
	idAfter, atAfter := v.signInTokens(t)
	if kidOf(t, atAfter) != newKid || kidOf(t, atAfter) == kidOf(t, atBefore) {
		t.Fatalf("after rotation tokens are signed by %s, want %s", kidOf(t, atAfter), newKid)
	}
	// One verifier (one cached key set) sees old and new tokens.
	for name, raw := range map[string]string{"old ID token": idBefore, "old access token": atBefore, "new ID token": idAfter, "new access token": atAfter} {
		if _, err := verifier.Verify(octx, raw); err != nil {
			t.Errorf("%s after rotation: %v", name, err)
		}
	}
	if after := v.jwksKids(t); len(after) != 3 || !after[kidOf(t, atBefore)] {
		t.Errorf("after rotation JWKS = %v, want the old, the active and a next key", after)
	}

	// Once every token of the old key has expired, it is withdrawn: a
	// fresh verifier no longer accepts the old token's signature.
	clock.advance(2 * time.Hour)
	if after := v.jwksKids(t); len(after) != 2 || after[kidOf(t, atBefore)] {
		t.Errorf("JWKS still publishes the retired key: %v", after)
	}
	fresh := oidc.NewVerifier(v.e.Issuer(tenantID), oidc.NewRemoteKeySet(octx, v.e.URL()+"/"+tenantID+"/discovery/v2.0/keys"),
		&oidc.Config{ClientID: behalfID, SkipExpiryCheck: true})
	if _, err := fresh.Verify(octx, atBefore); err == nil {
		t.Error("a token signed by a withdrawn key still verifies")
	}
	if _, err := fresh.Verify(octx, atAfter); err != nil {
		t.Errorf("current token: %v", err)
	}
}

// signInTokens runs a sign-in and returns its ID and access token.
func (v *env) signInTokens(t *testing.T) (idToken, accessToken string) {
	t.Helper()
	c := v.secretClient(t, behalfID, behalfSecret)
	verifier, challenge := pkce(t)
	q := v.signIn(t, v.browser(t), v.authURL(t, c, behalfID, behalfRedirect, []string{behalfScope, "openid", "profile"}, challenge, nil), wendy)
	res, err := c.AcquireTokenByAuthCode(ctx(t), q.Get("code"), behalfRedirect, []string{behalfScope}, confidential.WithChallenge(verifier))
	if err != nil {
		t.Fatal(err)
	}
	return res.IDToken.RawToken, res.AccessToken
}

func (v *env) jwksKids(t *testing.T) map[string]bool {
	t.Helper()
	resp, err := v.http.Get(v.e.URL() + "/" + tenantID + "/discovery/v2.0/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct {
			Kid, Kty, Use, X5t string
			X5c                []string
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, k := range set.Keys {
		if k.Kty != "RSA" || k.Use != "sig" || k.X5t != k.Kid || len(k.X5c) != 1 {
			t.Errorf("key %s is not in Entra's shape", k.Kid)
		}
		out[k.Kid] = true
	}
	return out
}

func kidOf(t *testing.T, raw string) string {
	t.Helper()
	var h struct {
		Kid string `json:"kid"`
	}
	b := decodeSegment(t, raw, 0)
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

// TestOIDCVerifiesV1DatabricksTokens: tokens for Azure Databricks carry
// the v1 issuer and verify with the tenant keys.
func TestOIDCVerifiesV1DatabricksTokens(t *testing.T) {
	v := newEnv(t, nil)
	raw, err := v.e.UserAccessToken(wendy, dbx, behalfID)
	if err != nil {
		t.Fatal(err)
	}
	octx := oidc.ClientContext(context.Background(), v.http)
	vr := oidc.NewVerifier(V1IssuerHost+"/"+tenantID+"/", oidc.NewRemoteKeySet(octx, v.e.URL()+"/"+tenantID+"/discovery/v2.0/keys"), &oidc.Config{ClientID: dbx})
	tok, err := vr.Verify(octx, raw)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		UPN string `json:"upn"`
		Scp string `json:"scp"`
	}
	if err := tok.Claims(&c); err != nil || c.UPN != wendy || c.Scp != "user_impersonation" {
		t.Errorf("claims %+v (%v)", c, err)
	}
}

// TestBehalfValidatorAcceptsEmulatorTokens: behalf's own validator,
// configured the way the dev stack configures it, accepts a person's token
// for its API and refuses one for another tenant.
func TestBehalfValidatorAcceptsEmulatorTokens(t *testing.T) {
	v := newEnv(t, nil)
	val, err := identity.NewValidator(context.Background(), identity.Config{ClientID: behalfID, Tenants: []string{tenantID},
		AuthorityHost: v.e.URL(), V1IssuerHost: V1IssuerHost, RequiredScope: "access_as_user", HTTPClient: v.http})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := v.e.UserAccessToken(april, behalfID, agentID)
	if err != nil {
		t.Fatal(err)
	}
	p, err := val.Validate(ctx(t), raw)
	if err != nil {
		t.Fatal(err)
	}
	if p.UPN != april || p.ClientAppID != agentID || p.TenantID != tenantID || len(p.Roles) != 1 {
		t.Errorf("principal %+v", p)
	}
	// A token for another resource (Azure Databricks) is not for behalf.
	dbxTok, err := v.e.UserAccessToken(april, dbx, behalfID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := val.Validate(ctx(t), dbxTok); err == nil {
		t.Error("a token for Azure Databricks was accepted by behalf's validator")
	}
}
