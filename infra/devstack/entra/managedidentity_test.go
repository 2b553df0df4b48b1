package entra

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// TestManagedIdentityProtocol speaks the App Service protocol by hand.
func TestManagedIdentityProtocol(t *testing.T) {
	v := newEnv(t, nil)
	get := func(q url.Values, header string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, v.e.ManagedIdentityEndpoint()+"?"+q.Encode(), nil)
		if header != "" {
			req.Header.Set("X-IDENTITY-HEADER", header)
		}
		resp, err := v.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		m := map[string]any{}
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	good := url.Values{"api-version": {"2019-08-01"}, "resource": {TokenExchangeAudience}, "client_id": {miClientID}}
	// with copies good, setting (or, with "", removing) key/value pairs.
	with := func(kv ...string) url.Values {
		q := url.Values{}
		for kk, vv := range good {
			q[kk] = vv
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				q.Del(kv[i])
			} else {
				q.Set(kv[i], kv[i+1])
			}
		}
		return q
	}
	for _, tc := range []struct {
		name   string
		q      url.Values
		header string
		status int
	}{
		{"no header", good, "", 401},
		{"wrong header", good, "guess", 401},
		{"old api-version", with("api-version", "2017-09-01"), v.e.IdentityHeader(), 400},
		{"no resource", with("resource", ""), v.e.IdentityHeader(), 400},
		{"unknown resource", with("resource", "https://vault.azure.net"), v.e.IdentityHeader(), 400},
		{"no identity selector (no system-assigned identity)", with("client_id", ""), v.e.IdentityHeader(), 400},
		{"unknown identity", with("client_id", "00000000-0000-0000-0000-000000000009"), v.e.IdentityHeader(), 400},
		{"two selectors", with("object_id", miPrincipalID), v.e.IdentityHeader(), 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(tc.q, tc.header)
			if status != tc.status || body["access_token"] != nil || body["message"] == nil {
				t.Errorf("%d %v", status, body)
			}
		})
	}
	for name, q := range map[string]url.Values{
		"by client id":   good,
		"by object id":   with("client_id", "", "object_id", miPrincipalID),
		"by resource id": with("client_id", "", "mi_res_id", "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/behalf-dev/providers/Microsoft.ManagedIdentity/userAssignedIdentities/behalf-identity"),
	} {
		t.Run(name, func(t *testing.T) {
			status, body := get(q, v.e.IdentityHeader())
			if status != 200 || body["token_type"] != "Bearer" || body["client_id"] != miClientID || body["resource"] != TokenExchangeAudience {
				t.Fatalf("%d %v", status, body)
			}
			exp, err := strconv.ParseInt(body["expires_on"].(string), 10, 64)
			if err != nil || time.Until(time.Unix(exp, 0)) <= 0 {
				t.Errorf("expires_on %v", body["expires_on"])
			}
			c := claimsOf(t, body["access_token"].(string))
			if c["aud"] != TokenExchangeAudience || c["sub"] != miPrincipalID || c["oid"] != miPrincipalID || c["azp"] != miClientID ||
				c["idtyp"] != "app" || c["iss"] != v.e.Issuer(tenantID) {
				t.Errorf("claims %v", c)
			}
		})
	}
}

// TestAzidentityManagedIdentityCredential: azidentity works unchanged
// against the endpoint, for the token-exchange audience and for Azure
// Databricks (a v1 app token).
func TestAzidentityManagedIdentityCredential(t *testing.T) {
	v := newEnv(t, nil)
	t.Setenv("IDENTITY_ENDPOINT", v.e.ManagedIdentityEndpoint())
	t.Setenv("IDENTITY_HEADER", v.e.IdentityHeader())
	cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
		ClientOptions: azcore.ClientOptions{Transport: v.http}, ID: azidentity.ClientID(miClientID)})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cred.GetToken(ctx(t), policy.TokenRequestOptions{Scopes: []string{dbx + "/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	if c := claimsOf(t, tok.Token); c["aud"] != dbx || c["appid"] != miClientID || c["ver"] != "1.0" {
		t.Errorf("Databricks MI token %v", c)
	}
	if time.Until(tok.ExpiresOn) < 3*time.Minute {
		t.Errorf("expires %v", tok.ExpiresOn)
	}
	t.Setenv("IDENTITY_HEADER", "wrong")
	bad, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
		ClientOptions: azcore.ClientOptions{Transport: v.http, Retry: policy.RetryOptions{MaxRetries: -1}}, ID: azidentity.ClientID(miClientID)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.GetToken(ctx(t), policy.TokenRequestOptions{Scopes: []string{TokenExchangeAudience + "/.default"}}); err == nil {
		t.Error("a wrong IDENTITY_HEADER got a token")
	}
}
