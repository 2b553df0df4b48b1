package databricks

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go"
	"github.com/databricks/databricks-sdk-go/config"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/behalf-dev/behalf/infra/devstack/devca"
	"github.com/behalf-dev/behalf/infra/devstack/directory"
)

// Test people and principals from the demo directory.
const (
	wendy         = "wendy.west@contoso.example"
	eli           = "eli.east@contoso.example"
	maya          = "maya.manager@contoso.example"
	fiona         = "fiona.finance@contoso.example"
	xavier        = "xavier.exec@contoso.example"
	nina          = "nina.nogrants@contoso.example"
	carl          = "carl.compliance@contoso.example"
	tenantID      = "7d3e2a10-5b1c-4c8e-9f00-0000000d3e10"
	otherTID      = "9a8b7c6d-0000-4000-8000-00000000f0e1"
	partnerSP     = "d0000000-0000-4000-8000-0000000000d1"
	auditWriterSP = "d0000000-0000-4000-8000-0000000000d2"
	auditSecret   = "dev-only-m2m-secret"
)

// fakeIdP stands in for the Entra emulator and the partner IdP: an HTTPS
// server (dev CA certificate) serving discovery and JWKS, and an RSA key
// to sign tokens with.
type fakeIdP struct {
	srv *httptest.Server
	key *rsa.PrivateKey
	kid string
}

func newFakeIdP(t *testing.T, ca *devca.CA) *fakeIdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeIdP{key: key, kid: "idp-key-1"}
	mux := http.NewServeMux()
	jwks := func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: f.kid, Algorithm: "RS256", Use: "sig"}}})
	}
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", jwks)
	mux.HandleFunc("GET /partner/keys", jwks)
	mux.HandleFunc("GET /partner/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": f.srv.URL + "/partner", "jwks_uri": f.srv.URL + "/partner/keys"})
	})
	f.srv = httptest.NewUnstartedServer(mux)
	tlsCfg, err := ca.ServerTLS()
	if err != nil {
		t.Fatal(err)
	}
	f.srv.TLS = tlsCfg
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIdP) v2Issuer(tid string) string { return f.srv.URL + "/" + tid + "/v2.0" }
func (f *fakeIdP) partnerIssuer() string      { return f.srv.URL + "/partner" }

// sign signs claims with key (f.key when nil) as RS256 with kid.
func (f *fakeIdP) sign(t *testing.T, claims map[string]any, key *rsa.PrivateKey, kid string) string {
	t.Helper()
	if key == nil {
		key = f.key
	}
	if kid == "" {
		kid = f.kid
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// entraToken is an Entra v2 access token for the Azure Databricks resource.
func (f *fakeIdP) entraToken(t *testing.T, upn string, mutate func(map[string]any)) string {
	t.Helper()
	now := time.Now()
	p, _ := directory.Demo().PersonByUPN(upn)
	c := map[string]any{"iss": f.v2Issuer(tenantID), "aud": directory.AzureDatabricksResource, "tid": tenantID, "oid": p.OID,
		"preferred_username": upn, "name": p.Name, "scp": "user_impersonation", "ver": "2.0",
		"iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix()}
	if mutate != nil {
		mutate(c)
	}
	return f.sign(t, c, nil, "")
}

type env struct {
	e   *Emulator
	ca  *devca.CA
	idp *fakeIdP
}

type option func(*Config)

// newEnv starts an emulator trusting a fake Entra tenant and partner IdP,
// with fast Genie progression and a small data set.
func newEnv(t *testing.T, opts ...option) *env {
	t.Helper()
	ca, err := devca.New(devca.Config{})
	if err != nil {
		t.Fatal(err)
	}
	idp := newFakeIdP(t, ca)
	dir := directory.Demo()
	cfg := Config{
		Directory:      dir,
		CA:             ca,
		TrustedIssuers: EntraIssuers(idp.srv.URL, tenantID),
		FederationPolicies: append(PartnerFederationPolicies(dir, idp.partnerIssuer(), ""),
			FederationPolicy{Issuer: idp.v2Issuer(tenantID), JWKSURL: idp.srv.URL + "/" + tenantID + "/discovery/v2.0/keys",
				Audiences: []string{"databricks-federation"}, SubjectClaim: "preferred_username"}),
		DataDir:        t.TempDir(),
		DealCount:      1200,
		DataDate:       time.Date(2025, 11, 20, 9, 0, 0, 0, time.UTC),
		GenieStepDelay: 5 * time.Millisecond,
		GenieRateLimit: 1000,
	}
	for _, o := range opts {
		o(&cfg)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return &env{e: e, ca: ca, idp: idp}
}

// noLoader keeps environment variables and ~/.databrickscfg out of the
// SDK configuration.
type noLoader struct{}

func (noLoader) Name() string                   { return "none" }
func (noLoader) Configure(*config.Config) error { return nil }

func (v *env) transport() *http.Transport {
	return &http.Transport{TLSClientConfig: &tls.Config{RootCAs: v.ca.Pool(), MinVersion: tls.VersionTLS12}}
}

// sdkConfig is a databricks-sdk-go configuration that uses only what the
// test gives it (fact sheet §9).
func (v *env) sdkConfig(mutate func(*databricks.Config)) *databricks.Config {
	c := &databricks.Config{
		Host:                 v.e.URL(),
		Loaders:              []config.Loader{noLoader{}},
		HTTPTransport:        v.transport(),
		HostMetadataResolver: func(context.Context, string) (*config.HostMetadata, error) { return nil, nil },
		RetryTimeoutSeconds:  10, HTTPTimeoutSeconds: 30, RateLimitPerSecond: 1000,
	}
	if mutate != nil {
		mutate(c)
	}
	return c
}

// client is a workspace client holding only token.
func (v *env) client(t *testing.T, token string) *databricks.WorkspaceClient {
	t.Helper()
	return v.clientWith(t, token, nil)
}

func (v *env) clientWith(t *testing.T, token string, mutate func(*databricks.Config)) *databricks.WorkspaceClient {
	t.Helper()
	w, err := databricks.NewWorkspaceClient(v.sdkConfig(func(c *databricks.Config) {
		c.Token = token
		c.Credentials = config.PatCredentials{}
		if mutate != nil {
			mutate(c)
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// as is a client for a demo person holding an Entra token.
func (v *env) as(t *testing.T, upn string) *databricks.WorkspaceClient {
	t.Helper()
	return v.client(t, v.idp.entraToken(t, upn, nil))
}

// raw sends an HTTP request with a bearer token and decodes the JSON answer.
func (v *env) raw(t *testing.T, method, path, token string, body any, out any) *http.Response {
	t.Helper()
	var rd *strings.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	} else {
		rd = strings.NewReader("")
	}
	req, err := http.NewRequest(method, v.e.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Transport: v.transport(), Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
	return resp
}

func jsonDecode(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }
