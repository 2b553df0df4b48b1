package entra

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/behalf-dev/behalf/infra/devstack/databricks"
	"github.com/behalf-dev/behalf/infra/devstack/directory"
)

// TestPartnerIdP: discovery, JWKS and the dev token endpoint of the
// partner IdP, verified with go-oidc.
func TestPartnerIdP(t *testing.T) {
	v := newEnv(t, nil)
	resp, err := v.http.PostForm(v.e.PartnerIssuer()+"/dev/token", url.Values{"username": {paula}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 200 || tok.TokenType != "Bearer" || tok.ExpiresIn != 3599 {
		t.Fatalf("%d %+v %v", resp.StatusCode, tok, err)
	}
	octx := oidc.ClientContext(context.Background(), v.http)
	p, err := oidc.NewProvider(octx, v.e.PartnerIssuer())
	if err != nil {
		t.Fatal(err)
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: "databricks-federation"}).Verify(octx, tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Groups []string `json:"groups"`
		Email  string   `json:"email"`
	}
	if err := idt.Claims(&c); err != nil || len(c.Groups) != 1 || c.Groups[0] != "partner-analysts" || c.Email != paula {
		t.Errorf("partner claims %+v (%v)", c, err)
	}
	for _, who := range []string{wendy, "nobody@partner.example"} {
		resp, err := v.http.PostForm(v.e.PartnerIssuer()+"/dev/token", url.Values{"username": {who}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s got a partner token: %d", who, resp.StatusCode)
		}
	}
}

// TestWithTheWorkspaceEmulator: the workspace emulator, trusting this
// emulator the way `behalf dev` wires it, accepts the OBO result as the
// person and maps a partner token to the role service principal.
func TestWithTheWorkspaceEmulator(t *testing.T) {
	v := newEnv(t, nil)
	dir := directory.Demo()
	ws, err := databricks.New(databricks.Config{Directory: dir, CA: v.ca, DataDir: t.TempDir(), DealCount: 50,
		TrustedIssuers:     databricks.EntraIssuers(v.e.URL(), tenantID),
		FederationPolicies: databricks.PartnerFederationPolicies(dir, v.e.PartnerIssuer(), "")})
	if err != nil {
		t.Fatal(err)
	}
	if err := ws.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.Close(context.Background()) })
	me := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, ws.URL()+"/api/2.0/preview/scim/v2/Me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := v.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var u struct {
			UserName string `json:"userName"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&u)
		return resp.StatusCode, u.UserName
	}

	assertion, err := v.e.UserAccessToken(wendy, behalfID, agentID)
	if err != nil {
		t.Fatal(err)
	}
	res, err := v.secretClient(t, behalfID, behalfSecret).AcquireTokenOnBehalfOf(ctx(t), assertion, []string{dbxScope})
	if err != nil {
		t.Fatal(err)
	}
	if status, who := me(res.AccessToken); status != 200 || who != wendy {
		t.Errorf("SCIM Me with the OBO token: %d %q", status, who)
	}

	partnerTok, err := v.e.PartnerToken(paula)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := v.http.PostForm(ws.URL()+"/oidc/v1/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token": {partnerTok}, "subject_token_type": {"urn:ietf:params:oauth:token-type:jwt"}, "scope": {"all-apis"},
		"client_id": {dir.PartnerIdP.GroupRoles["partner-analysts"]}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ex struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ex); err != nil || resp.StatusCode != 200 {
		t.Fatalf("token exchange: %d %v", resp.StatusCode, err)
	}
	if status, who := me(ex.AccessToken); status != 200 || who != dir.PartnerIdP.GroupRoles["partner-analysts"] {
		t.Errorf("SCIM Me with the federated token: %d %q", status, who)
	}

	// After a rotation the workspace still accepts tokens of both keys.
	if _, err := v.e.RotateKeys(); err != nil {
		t.Fatal(err)
	}
	fresh, err := v.e.UserAccessToken(wendy, dbx, behalfID)
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"old key": res.AccessToken, "new key": fresh} {
		if status, who := me(tok); status != 200 || who != wendy {
			t.Errorf("%s after rotation: %d %q", name, status, who)
		}
	}
	expired, err := v.e.MintUserToken(UserToken{UPN: wendy, Resource: dbx, ClientID: behalfID, Lifetime: -time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := me(expired); status != http.StatusUnauthorized {
		t.Errorf("expired token: %d", status)
	}
}
