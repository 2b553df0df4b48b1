package entra

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/behalf-dev/behalf/shared/obo"
)

// credentials are the two ways behalf authenticates: the dev secret, and
// a managed-identity token from azidentity used as a federated client
// assertion (no secret at all).
func credentials(t *testing.T, v *env) map[string]confidential.Credential {
	t.Helper()
	secret, err := confidential.NewCredFromSecret(behalfSecret)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]confidential.Credential{"secret": secret, "managed identity": v.miAssertion(t)}
}

// miAssertion points azidentity's ManagedIdentityCredential at the
// emulator (App Service protocol) and wraps it the way behalf does.
func (v *env) miAssertion(t *testing.T) confidential.Credential {
	t.Helper()
	t.Setenv("IDENTITY_ENDPOINT", v.e.ManagedIdentityEndpoint())
	t.Setenv("IDENTITY_HEADER", v.e.IdentityHeader())
	mi, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
		ClientOptions: azcore.ClientOptions{Transport: v.http}, ID: azidentity.ClientID(miClientID)})
	if err != nil {
		t.Fatal(err)
	}
	return obo.ManagedIdentityAssertion(mi)
}

// TestMSALAuthCodePKCEAndRefresh signs a person in through the sign-in
// page, redeems the code with MSAL (PKCE), and refreshes silently, with
// each credential.
func TestMSALAuthCodePKCEAndRefresh(t *testing.T) {
	v := newEnv(t, nil)
	for name, cred := range credentials(t, v) {
		t.Run(name, func(t *testing.T) {
			v.e.ResetCounters()
			c := v.msal(t, behalfID, cred)
			verifier, challenge := pkce(t)
			authURL := v.authURL(t, c, behalfID, behalfRedirect, []string{behalfScope, "openid", "profile", "offline_access"}, challenge, nil)
			q := v.signIn(t, v.browser(t), authURL, wendy)
			if q.Get("state") != "state-123" || q.Get("code") == "" {
				t.Fatalf("redirect lacks state or code: %v", q)
			}
			res, err := c.AcquireTokenByAuthCode(ctx(t), q.Get("code"), behalfRedirect, []string{behalfScope}, confidential.WithChallenge(verifier))
			if err != nil {
				t.Fatal(err)
			}
			at := claimsOf(t, res.AccessToken)
			if at["aud"] != behalfID || at["scp"] != "access_as_user" || at["oid"] != wendyOID || at["azp"] != behalfID || at["ver"] != "2.0" || at["tid"] != tenantID {
				t.Errorf("access token claims: %v", at)
			}
			if groups, _ := at["groups"].([]any); len(groups) != 1 || groups[0] != "a0000000-0000-4000-8000-000000000001" {
				t.Errorf("groups = %v, want the sales-west group id", at["groups"])
			}
			if idt := claimsOf(t, res.IDToken.RawToken); idt["nonce"] != "nonce-456" || idt["aud"] != behalfID || idt["preferred_username"] != wendy {
				t.Errorf("ID token claims: %v", idt)
			}
			if res.Account.PreferredUsername != wendy || res.Account.HomeAccountID != wendyOID+"."+tenantID {
				t.Errorf("account = %+v", res.Account)
			}
			if got := time.Until(res.ExpiresOn); got < 59*time.Minute {
				t.Errorf("expires in %s, want about an hour", got)
			}

			acct, err := c.Account(ctx(t), res.Account.HomeAccountID)
			if err != nil {
				t.Fatal(err)
			}
			// The same scope comes from MSAL's cache; another resource
			// needs a refresh-token grant (Entra refresh tokens are
			// multi-resource).
			cached, err := c.AcquireTokenSilent(ctx(t), []string{behalfScope}, confidential.WithSilentAccount(acct))
			if err != nil || cached.AccessToken != res.AccessToken {
				t.Fatalf("silent from cache: %v", err)
			}
			dbxTok, err := c.AcquireTokenSilent(ctx(t), []string{dbxScope}, confidential.WithSilentAccount(acct))
			if err != nil {
				t.Fatal(err)
			}
			if d := claimsOf(t, dbxTok.AccessToken); d["aud"] != dbx || d["upn"] != wendy || d["iss"] != "https://sts.windows.net/"+tenantID+"/" || d["ver"] != "1.0" {
				t.Errorf("Databricks token via refresh: %v", d)
			}
			got := v.e.Counters()
			if got.TokensIssued[GrantAuthorizationCode] != 1 || got.TokensIssued[GrantRefreshToken] != 1 || got.SignIns != 1 {
				t.Errorf("counters: %+v", got)
			}
			if name == "managed identity" && got.ManagedIdentityTokens == 0 {
				t.Error("the managed-identity endpoint was not used")
			}
		})
	}
}

// TestMSALSilentRefreshOfTheSameScope: with access tokens shorter than
// MSAL's 5-minute margin nothing is cached, so every silent call uses (and
// rotates) the refresh token.
func TestMSALSilentRefreshOfTheSameScope(t *testing.T) {
	v := newEnv(t, func(c *Config) { c.Lifetimes.AccessToken = 4 * time.Minute })
	c := v.secretClient(t, behalfID, behalfSecret)
	verifier, challenge := pkce(t)
	q := v.signIn(t, v.browser(t), v.authURL(t, c, behalfID, behalfRedirect, []string{behalfScope, "openid", "offline_access"}, challenge, nil), wendy)
	res, err := c.AcquireTokenByAuthCode(ctx(t), q.Get("code"), behalfRedirect, []string{behalfScope}, confidential.WithChallenge(verifier))
	if err != nil {
		t.Fatal(err)
	}
	acct, err := c.Account(ctx(t), res.Account.HomeAccountID)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{res.AccessToken: true}
	for i := 0; i < 3; i++ {
		r, err := c.AcquireTokenSilent(ctx(t), []string{behalfScope}, confidential.WithSilentAccount(acct))
		if err != nil {
			t.Fatalf("refresh %d: %v", i, err)
		}
		if seen[r.AccessToken] || claimsOf(t, r.AccessToken)["oid"] != wendyOID {
			t.Fatalf("refresh %d did not mint a new token for the same person", i)
		}
		seen[r.AccessToken] = true
	}
	if n := v.e.Counters().TokensIssued[GrantRefreshToken]; n != 3 {
		t.Errorf("refresh grants = %d, want 3", n)
	}
}

// TestMSALOnBehalfOf: an agent backend signs the person in for behalf's
// API; behalf exchanges that token for Azure Databricks.
func TestMSALOnBehalfOf(t *testing.T) {
	v := newEnv(t, nil)
	agent := v.secretClient(t, agentID, agentSecret)
	verifier, challenge := pkce(t)
	agentRedirect := "http://localhost:8400/callback"
	q := v.signIn(t, v.browser(t), v.authURL(t, agent, agentID, agentRedirect, []string{behalfScope, "openid", "offline_access"}, challenge, nil), april)
	userTok, err := agent.AcquireTokenByAuthCode(ctx(t), q.Get("code"), agentRedirect, []string{behalfScope}, confidential.WithChallenge(verifier))
	if err != nil {
		t.Fatal(err)
	}
	ut := claimsOf(t, userTok.AccessToken)
	if ut["azp"] != agentID || ut["aud"] != behalfID {
		t.Fatalf("agent's token for behalf: %v", ut)
	}
	if roles, _ := ut["roles"].([]any); len(roles) != 1 || roles[0] != "approver" {
		t.Errorf("roles = %v, want [approver] (behalf defines the role)", ut["roles"])
	}
	for name, cred := range credentials(t, v) {
		t.Run(name, func(t *testing.T) {
			c := v.msal(t, behalfID, cred)
			res, err := c.AcquireTokenOnBehalfOf(ctx(t), userTok.AccessToken, []string{dbxScope})
			if err != nil {
				t.Fatal(err)
			}
			d := claimsOf(t, res.AccessToken)
			if d["aud"] != dbx || d["oid"] != ut["oid"] || d["upn"] != april || d["tid"] != tenantID || d["appid"] != behalfID || d["scp"] != "user_impersonation" {
				t.Errorf("OBO result: %v", d)
			}
			if want := map[string]string{"secret": "1", "managed identity": "2"}[name]; d["appidacr"] != want {
				t.Errorf("appidacr = %v, want %s", d["appidacr"], want)
			}
			if !slices.Contains(res.GrantedScopes, dbxScope) {
				t.Errorf("granted scopes %v", res.GrantedScopes)
			}
		})
	}
}

// TestMSALClientCredentials gets app-only tokens with each credential and
// with a certificate registered for the app.
func TestMSALClientCredentials(t *testing.T) {
	certPEM, cert, key := testCertificate(t)
	v := newEnv(t, func(c *Config) {
		for i := range c.Directory.Apps {
			if c.Directory.Apps[i].ClientID == behalfID {
				c.Directory.Apps[i].Certificates = []string{certPEM}
			}
		}
	})
	creds := credentials(t, v)
	certCred, err := confidential.NewCredFromCert([]*x509.Certificate{cert}, key)
	if err != nil {
		t.Fatal(err)
	}
	creds["certificate"] = certCred
	for name, cred := range creds {
		t.Run(name, func(t *testing.T) {
			c := v.msal(t, behalfID, cred)
			res, err := c.AcquireTokenByCredential(ctx(t), []string{dbxScope})
			if err != nil {
				t.Fatal(err)
			}
			d := claimsOf(t, res.AccessToken)
			if d["aud"] != dbx || d["idtyp"] != "app" || d["appid"] != behalfID || d["scp"] != nil || d["upn"] != nil {
				t.Errorf("app token: %v", d)
			}
		})
	}
}

// testCertificate is a self-signed RSA certificate for private_key_jwt.
func testCertificate(t *testing.T) (string, *x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "behalf test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), cert, key
}

// TestDomainAuthority: MSAL also works with the tenant's domain in the
// authority (the issuer then names the tenant GUID, as in Entra).
func TestDomainAuthority(t *testing.T) {
	v := newEnv(t, nil)
	cred, _ := confidential.NewCredFromSecret(behalfSecret)
	c, err := confidential.New(v.e.URL()+"/contoso.example", behalfID, cred, confidential.WithHTTPClient(v.http),
		confidential.WithInstanceDiscovery(false), confidential.WithAzureRegion("DisableMsalForceRegion"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.AcquireTokenByCredential(ctx(t), []string{"api://" + behalfID + "/.default"})
	if err != nil {
		t.Fatal(err)
	}
	if iss := claimsOf(t, res.AccessToken)["iss"]; iss != v.e.Issuer(tenantID) || !strings.Contains(iss.(string), tenantID) {
		t.Errorf("iss = %v", iss)
	}
}
