package entra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
)

// entraErr is what a caller sees of an Entra error through MSAL.
type entraErr struct {
	status int
	body   errorBody
}

// callErr asserts that MSAL surfaced err as a CallErr and decodes the
// Entra body it carries.
func callErr(t *testing.T, err error) entraErr {
	t.Helper()
	if err == nil {
		t.Fatal("MSAL call succeeded; want an Entra error")
	}
	var ce msalerrors.CallErr
	if !errors.As(err, &ce) || ce.Resp == nil {
		t.Fatalf("MSAL error is not a CallErr: %T %v", err, err)
	}
	b, rerr := io.ReadAll(ce.Resp.Body)
	if rerr != nil {
		t.Fatal(rerr)
	}
	var out entraErr
	out.status = ce.Resp.StatusCode
	if err := json.Unmarshal(b, &out.body); err != nil {
		t.Fatalf("error body is not Entra JSON: %s", b)
	}
	return out
}

// wantCode checks the OAuth error and AADSTS code in every place Entra
// puts them.
func (x entraErr) wantCode(t *testing.T, oauth string, code int, status int) {
	t.Helper()
	b := x.body
	if b.Error != oauth || !slices.Equal(b.ErrorCodes, []int{code}) || !strings.HasPrefix(b.Description, fmt.Sprintf("AADSTS%d: ", code)) {
		t.Errorf("got %s %v %q; want %s AADSTS%d", b.Error, b.ErrorCodes, b.Description, oauth, code)
	}
	if x.status != status {
		t.Errorf("HTTP %d, want %d", x.status, status)
	}
	if b.TraceID == "" || b.CorrelationID == "" || b.Timestamp == "" || !strings.Contains(b.Description, "Trace ID: "+b.TraceID) {
		t.Errorf("trace fields missing: %+v", b)
	}
}

// TestAuthorizationCodeErrors: expired and reused codes, wrong verifier,
// wrong redirect URI, through MSAL.
func TestAuthorizationCodeErrors(t *testing.T) {
	clock := &shiftedClock{}
	v := newEnv(t, func(c *Config) { c.Now = clock.now })
	c := v.secretClient(t, behalfID, behalfSecret)
	code := func(t *testing.T) (string, string) {
		verifier, challenge := pkce(t)
		q := v.signIn(t, v.browser(t), v.authURL(t, c, behalfID, behalfRedirect, []string{behalfScope, "openid", "offline_access"}, challenge, nil), wendy)
		return q.Get("code"), verifier
	}
	redeem := func(code, verifier, redirect string) error {
		_, err := c.AcquireTokenByAuthCode(ctx(t), code, redirect, []string{behalfScope}, confidential.WithChallenge(verifier))
		return err
	}
	t.Run("reused", func(t *testing.T) {
		cd, ver := code(t)
		if err := redeem(cd, ver, behalfRedirect); err != nil {
			t.Fatal(err)
		}
		callErr(t, redeem(cd, ver, behalfRedirect)).wantCode(t, "invalid_grant", CodeCodeRedeemed, 400)
	})
	t.Run("expired", func(t *testing.T) {
		cd, ver := code(t)
		clock.advance(11 * time.Minute)
		callErr(t, redeem(cd, ver, behalfRedirect)).wantCode(t, "invalid_grant", CodeCodeExpired, 400)
	})
	t.Run("wrong verifier", func(t *testing.T) {
		cd, _ := code(t)
		other, _ := pkce(t)
		callErr(t, redeem(cd, other, behalfRedirect)).wantCode(t, "invalid_grant", CodeVerifierMismatch, 400)
	})
	t.Run("no verifier", func(t *testing.T) {
		cd, _ := code(t)
		_, err := c.AcquireTokenByAuthCode(ctx(t), cd, behalfRedirect, []string{behalfScope})
		callErr(t, err).wantCode(t, "invalid_grant", CodeVerifierMismatch, 400)
	})
	t.Run("other redirect", func(t *testing.T) {
		cd, ver := code(t)
		callErr(t, redeem(cd, ver, "http://127.0.0.1:7071/api/auth/callback")).wantCode(t, "invalid_grant", CodeReplyMismatch, 400)
	})
	t.Run("other client", func(t *testing.T) {
		cd, ver := code(t)
		agent := v.secretClient(t, agentID, agentSecret)
		_, err := agent.AcquireTokenByAuthCode(ctx(t), cd, behalfRedirect, []string{behalfScope}, confidential.WithChallenge(ver))
		callErr(t, err).wantCode(t, "invalid_grant", CodeCodeOtherClient, 400)
	})
	t.Run("unknown", func(t *testing.T) {
		callErr(t, redeem("1.Anot-a-code", "x", behalfRedirect)).wantCode(t, "invalid_grant", CodeMalformedGrant, 400)
	})
}

// TestRefreshTokenRotation: a refresh token works once; replaying it
// revokes its family, so the token that replaced it stops working too.
func TestRefreshTokenRotation(t *testing.T) {
	v := newEnv(t, nil)
	c := v.secretClient(t, behalfID, behalfSecret)
	verifier, challenge := pkce(t)
	q := v.signIn(t, v.browser(t), v.authURL(t, c, behalfID, behalfRedirect, []string{behalfScope, "openid", "offline_access"}, challenge, nil), wendy)
	form := url.Values{"grant_type": {"authorization_code"}, "client_id": {behalfID}, "client_secret": {behalfSecret},
		"code": {q.Get("code")}, "redirect_uri": {behalfRedirect}, "code_verifier": {verifier}, "scope": {behalfScope + " offline_access openid"}, "client_info": {"1"}}
	status, first := v.postToken(t, form)
	if status != 200 || first["refresh_token"] == nil || first["token_type"] != "Bearer" || first["expires_in"] != float64(3599) || first["scope"] == nil {
		t.Fatalf("code redemption: %d %v", status, first)
	}
	refresh := func(rt string) (int, map[string]any) {
		return v.postToken(t, url.Values{"grant_type": {"refresh_token"}, "client_id": {behalfID}, "client_secret": {behalfSecret},
			"refresh_token": {rt}, "scope": {behalfScope + " offline_access"}})
	}
	status, second := refresh(first["refresh_token"].(string))
	if status != 200 || second["refresh_token"] == first["refresh_token"] {
		t.Fatalf("refresh: %d %v", status, second)
	}
	status, replay := refresh(first["refresh_token"].(string))
	if status != 400 || replay["error"] != "invalid_grant" || !strings.HasPrefix(replay["error_description"].(string), "AADSTS50173:") {
		t.Errorf("replayed refresh token: %d %v", status, replay)
	}
	if status, after := refresh(second["refresh_token"].(string)); status != 400 || after["error"] != "invalid_grant" {
		t.Errorf("the family survived a replay: %d %v", status, after)
	}
}

// TestOBOErrors: expired assertion, wrong audience, no consent, an
// app-only assertion, and the MFA claims challenge with its remedy.
func TestOBOErrors(t *testing.T) {
	v := newEnv(t, nil)
	behalf := v.secretClient(t, behalfID, behalfSecret)
	mint := func(t *testing.T, ut UserToken) string {
		t.Helper()
		raw, err := v.e.MintUserToken(ut)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	obo := func(c confidential.Client, assertion string, opts ...confidential.AcquireOnBehalfOfOption) (confidential.AuthResult, error) {
		return c.AcquireTokenOnBehalfOf(ctx(t), assertion, []string{dbxScope}, opts...)
	}
	t.Run("expired assertion", func(t *testing.T) {
		_, err := obo(behalf, mint(t, UserToken{UPN: wendy, Resource: behalfID, ClientID: agentID, Lifetime: -time.Minute}))
		callErr(t, err).wantCode(t, "invalid_grant", CodeAssertionTimeRange, 400)
	})
	t.Run("wrong audience", func(t *testing.T) {
		// A token for Azure Databricks is not for behalf.
		_, err := obo(behalf, mint(t, UserToken{UPN: wendy, Resource: dbx, ClientID: agentID}))
		callErr(t, err).wantCode(t, "invalid_grant", CodeAssertionInvalid, 400)
	})
	t.Run("app-only assertion", func(t *testing.T) {
		raw, err := v.e.MintAppToken(agentID, behalfID, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = obo(behalf, raw)
		callErr(t, err).wantCode(t, "invalid_grant", CodeAssertionInvalid, 400)
	})
	t.Run("forged signature", func(t *testing.T) {
		raw := mint(t, UserToken{UPN: wendy, Resource: behalfID, ClientID: agentID})
		parts := strings.Split(raw, ".")
		parts[1] = strings.TrimRight(parts[1], "A") + "B"
		_, err := obo(behalf, strings.Join(parts, "."))
		callErr(t, err).wantCode(t, "invalid_grant", CodeAssertionInvalid, 400)
	})
	t.Run("no consent", func(t *testing.T) {
		noConsent := v.secretClient(t, noConsentID, noConsentSecret)
		_, err := obo(noConsent, mint(t, UserToken{UPN: wendy, Resource: noConsentID, ClientID: agentID}))
		x := callErr(t, err)
		x.wantCode(t, "invalid_grant", CodeConsentRequired, 400)
		if x.body.SubError != "consent_required" {
			t.Errorf("suberror = %q", x.body.SubError)
		}
	})
	t.Run("MFA claims challenge", func(t *testing.T) {
		assertion := mint(t, UserToken{UPN: mark, Resource: behalfID, ClientID: agentID})
		_, err := obo(behalf, assertion)
		x := callErr(t, err)
		x.wantCode(t, "interaction_required", CodeMFARequired, 400)
		want := `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`
		if x.body.Claims != want {
			t.Fatalf("claims = %q, want %q", x.body.Claims, want)
		}
		// The caller steps up with the challenge: the token then carries
		// the authentication context.
		res, err := obo(behalf, assertion, confidential.WithClaims(x.body.Claims))
		if err != nil {
			t.Fatal(err)
		}
		if acrs, _ := claimsOf(t, res.AccessToken)["acrs"].([]any); len(acrs) != 1 || acrs[0] != "c1" {
			t.Errorf("acrs = %v", acrs)
		}
		// A person who already did MFA at sign-in passes without a challenge.
		if _, err := obo(behalf, mint(t, UserToken{UPN: mark, Resource: behalfID, ClientID: agentID, MFA: true})); err != nil {
			t.Errorf("MFA-satisfied assertion: %v", err)
		}
		// Without MFA requirements nobody is challenged.
		if _, err := obo(behalf, mint(t, UserToken{UPN: wendy, Resource: behalfID, ClientID: agentID})); err != nil {
			t.Errorf("wendy: %v", err)
		}
	})
}

// TestClientAuthenticationErrors: wrong secret, unknown app, no
// credential, expired and foreign federated assertions.
func TestClientAuthenticationErrors(t *testing.T) {
	v := newEnv(t, nil)
	assertionCred := func(fn func() (string, error)) confidential.Credential {
		return confidential.NewCredFromAssertionCallback(func(context.Context, confidential.AssertionRequestOptions) (string, error) { return fn() })
	}
	miToken := func(lifetime time.Duration) func() (string, error) {
		return func() (string, error) {
			return v.e.MintManagedIdentityToken(miClientID, TokenExchangeAudience, lifetime)
		}
	}
	cases := []struct {
		name     string
		clientID string
		cred     func() confidential.Credential
		oauth    string
		code     int
		status   int
	}{
		{"wrong secret", behalfID, func() confidential.Credential { c, _ := confidential.NewCredFromSecret("not-the-secret"); return c }, "invalid_client", CodeInvalidSecret, 401},
		{"unknown app", "00000000-1111-2222-3333-444444444444", func() confidential.Credential { c, _ := confidential.NewCredFromSecret("x"); return c }, "unauthorized_client", CodeAppNotFound, 400},
		{"expired federated assertion", behalfID, func() confidential.Credential { return assertionCred(miToken(-time.Hour)) }, "invalid_client", CodeAssertionExpired, 401},
		{"managed identity not federated for this app", noConsentID, func() confidential.Credential { return assertionCred(miToken(0)) }, "invalid_client", CodeNoFederatedCredential, 401},
		{"managed identity token for another audience", behalfID, func() confidential.Credential {
			return assertionCred(func() (string, error) { return v.e.MintManagedIdentityToken(miClientID, dbx, 0) })
		}, "invalid_client", CodeAssertionAudience, 401},
		{"assertion from an unknown key", behalfID, func() confidential.Credential {
			return assertionCred(func() (string, error) { return forgedJWT(t), nil })
		}, "invalid_client", CodeAssertionSignature, 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := v.msal(t, tc.clientID, tc.cred())
			_, err := c.AcquireTokenByCredential(ctx(t), []string{dbxScope})
			callErr(t, err).wantCode(t, tc.oauth, tc.code, tc.status)
		})
	}
	t.Run("no credential", func(t *testing.T) {
		status, body := v.postToken(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {behalfID}, "scope": {dbxScope}})
		if status != 401 || body["error"] != "invalid_client" || !strings.HasPrefix(body["error_description"].(string), "AADSTS7000218:") {
			t.Errorf("%d %v", status, body)
		}
	})
	t.Run("basic auth", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, v.authority()+"/oauth2/v2.0/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {dbxScope}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(behalfID, behalfSecret)
		resp, err := v.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("client_secret_basic: %d", resp.StatusCode)
		}
	})
}

// TestScopeErrors: scope mistakes answer invalid_scope / invalid_resource.
func TestScopeErrors(t *testing.T) {
	v := newEnv(t, nil)
	c := v.secretClient(t, behalfID, behalfSecret)
	for _, tc := range []struct {
		name   string
		scopes []string
		oauth  string
		code   int
	}{
		{"client credentials without .default", []string{dbx + "/user_impersonation"}, "invalid_scope", CodeDefaultScopeRequired},
		{"two resources", []string{dbxScope, "api://" + behalfID + "/.default"}, "invalid_scope", CodeMultipleResources},
		{"unknown resource", []string{"https://graph.microsoft.com/.default"}, "invalid_resource", CodeResourceNotFound},
		{"scope the API does not expose", []string{"api://" + behalfID + "/nope"}, "invalid_scope", CodeInvalidScope},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.AcquireTokenByCredential(ctx(t), tc.scopes)
			callErr(t, err).wantCode(t, tc.oauth, tc.code, 400)
		})
	}
}

// forgedJWT is signed by a key the emulator never published.
func forgedJWT(t *testing.T) string {
	t.Helper()
	k, err := newSigningKey("forger")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := signWith(k, map[string]any{"iss": "x", "sub": "x", "aud": TokenExchangeAudience, "exp": time.Now().Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
