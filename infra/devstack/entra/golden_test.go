package entra

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// normalize replaces what differs per run (base URL, times, ids, token
// bodies) so protocol payloads compare byte for byte.
func normalize(v *env, x any) []byte {
	b, ok := x.([]byte)
	if !ok {
		b, _ = json.Marshal(x)
	}
	s := strings.ReplaceAll(string(b), v.e.URL(), "https://EMULATOR")
	for _, r := range []struct{ re, to string }{
		{`"(iat|nbf|exp)":\s*\d+`, `"$1":0`},
		{`"(uti|jti)":\s*"[^"]+"`, `"$1":"UTI"`},
		{`"(trace_id|correlation_id)":\s*"[^"]+"`, `"$1":"GUID"`},
		{`"timestamp":\s*"[^"]+"`, `"timestamp":"TIME"`},
		{`Trace ID: \S+ Correlation ID: \S+ Timestamp: [0-9-]+ [0-9:]+Z`, `Trace ID: GUID Correlation ID: GUID Timestamp: TIME`},
		{`"(access_token|refresh_token|id_token)":\s*"[^"]+"`, `"$1":"JWT"`},
		{`"expires_on":\s*"\d+"`, `"expires_on":"0"`},
		{`"(kid|x5t)":\s*"[^"]+"`, `"$1":"KID"`},
		{`"n":\s*"[^"]+"`, `"n":"KEY"`},
		{`"x5c":\s*\[\s*"[^"]+"\s*\]`, `"x5c":["CERT"]`},
	} {
		s = regexp.MustCompile(r.re).ReplaceAllString(s, r.to)
	}
	return []byte(s)
}

func indent(t *testing.T, raw []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, bytes.TrimSpace(raw), "", "  "); err != nil {
		t.Fatalf("not JSON: %s", raw)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s:\n%s", name, path, got)
	}
}

func (v *env) getJSON(t *testing.T, u string) []byte {
	t.Helper()
	resp, err := v.http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestGoldenPayloads pins the protocol payloads MSAL, azidentity and OIDC
// verifiers read.
func TestGoldenPayloads(t *testing.T) {
	v := newEnv(t, nil)
	golden(t, "discovery_v2", indent(t, normalize(v, v.getJSON(t, v.authority()+"/v2.0/.well-known/openid-configuration"))))
	golden(t, "discovery_partner", indent(t, normalize(v, v.getJSON(t, v.e.PartnerIssuer()+"/.well-known/openid-configuration"))))
	golden(t, "jwks", indent(t, normalize(v, v.getJSON(t, v.authority()+"/discovery/v2.0/keys"))))

	status, ok := v.postToken(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {behalfID}, "client_secret": {behalfSecret},
		"scope": {dbxScope + " openid offline_access profile"}})
	if status != 200 {
		t.Fatalf("client credentials: %d", status)
	}
	golden(t, "token_client_credentials", indent(t, normalize(v, ok)))
	golden(t, "claims_app_databricks", indent(t, normalize(v, claimsOf(t, ok["access_token"].(string)))))

	_, bad := v.postToken(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {behalfID}, "client_secret": {"wrong"}, "scope": {dbxScope}})
	golden(t, "error_invalid_client", indent(t, normalize(v, bad)))

	assertion, err := v.e.MintUserToken(UserToken{UPN: mark, Resource: behalfID, ClientID: agentID})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "claims_user_behalf", indent(t, normalize(v, claimsOf(t, assertion))))
	obo := url.Values{"grant_type": {grantJWTBearer}, "requested_token_use": {"on_behalf_of"}, "client_id": {behalfID},
		"client_secret": {behalfSecret}, "assertion": {assertion}, "client_info": {"1"}, "scope": {dbxScope + " openid offline_access profile"}}
	_, mfa := v.postToken(t, obo)
	golden(t, "error_interaction_required", indent(t, normalize(v, mfa)))
	obo.Set("claims", mfa["claims"].(string))
	status, res := v.postToken(t, obo)
	if status != 200 {
		t.Fatalf("OBO with claims: %d %v", status, res)
	}
	golden(t, "token_obo", indent(t, normalize(v, res)))
	golden(t, "claims_obo_databricks", indent(t, normalize(v, claimsOf(t, res["access_token"].(string)))))

	req, _ := http.NewRequest(http.MethodGet, v.e.ManagedIdentityEndpoint()+"?api-version=2019-08-01&resource="+url.QueryEscape(TokenExchangeAudience)+"&client_id="+miClientID, nil)
	req.Header.Set("X-IDENTITY-HEADER", v.e.IdentityHeader())
	resp, err := v.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var mi map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&mi); err != nil {
		t.Fatal(err)
	}
	golden(t, "managed_identity", indent(t, normalize(v, mi)))
	golden(t, "claims_managed_identity", indent(t, normalize(v, claimsOf(t, mi["access_token"].(string)))))
}
