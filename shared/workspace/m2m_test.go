package workspace

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// m2mServer is a workspace with OAuth discovery, a client-credentials
// token endpoint for one service principal, and SCIM Me; it records every
// Authorization header it sees.
type m2mServer struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string
}

func newM2MServer(t *testing.T, clientID, secret, bearer string) *m2mServer {
	s := &m2mServer{}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.seen = append(s.seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/oidc/.well-known/oauth-authorization-server":
			_ = json.NewEncoder(w).Encode(map[string]string{"authorization_endpoint": s.URL + "/oidc/v1/authorize", "token_endpoint": s.URL + "/oidc/v1/token"})
		case "/oidc/v1/token":
			id, sec, ok := r.BasicAuth()
			if !ok || id != clientID || sec != secret || r.FormValue("grant_type") != "client_credentials" || r.FormValue("scope") != "all-apis" {
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
				return
			}
			_, _ = w.Write([]byte(`{"access_token":"` + bearer + `","token_type":"Bearer","expires_in":3600}`))
		case "/api/2.0/preview/scim/v2/Me":
			if r.Header.Get("Authorization") != "Bearer "+bearer {
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte(`{"error_code":"UNAUTHENTICATED","message":"no"}`))
				return
			}
			_, _ = w.Write([]byte(`{"userName":"` + clientID + `","id":"7"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// leakDeployerCredentials sets every credential the SDK could find on its
// own; an M2M client must use none of them.
func leakDeployerCredentials(t *testing.T, host string) {
	home := t.TempDir()
	cfgFile := filepath.Join(home, ".databrickscfg")
	if err := os.WriteFile(cfgFile, []byte("[DEFAULT]\nhost = "+host+"\ntoken = dapi-deployer-profile\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"HOME": home, "DATABRICKS_CONFIG_FILE": cfgFile, "DATABRICKS_TOKEN": "dapi-deployer-env",
		"DATABRICKS_CLIENT_ID": "deployer-sp", "DATABRICKS_CLIENT_SECRET": "deployer-secret", "DATABRICKS_AUTH_TYPE": "pat",
		"ARM_CLIENT_ID": "arm-client", "ARM_CLIENT_SECRET": "arm-secret", "ARM_TENANT_ID": "arm-tenant", "ARM_USE_MSI": "true",
		"DATABRICKS_HOST": "https://deployer.example", "HTTPS_PROXY": "http://127.0.0.1:9",
	} {
		t.Setenv(k, v)
	}
}

func factoryFor(t *testing.T, srv *httptest.Server) *Factory {
	f, err := NewFactory(Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	f.transport.(*noRetryTransport).next = srv.Client().Transport
	return f
}

func TestM2MSecretUsesOnlyItsOwnCredentials(t *testing.T) {
	srv := newM2MServer(t, "d0000000-0000-4000-8000-0000000000d2", "sp-secret", "m2m-access-token")
	leakDeployerCredentials(t, srv.URL)
	w, err := factoryFor(t, srv.Server).ForM2M(M2M{ClientID: "d0000000-0000-4000-8000-0000000000d2", ClientSecret: "sp-secret"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		me, err := w.CurrentUser.Me(context.Background())
		if err != nil || me.UserName != "d0000000-0000-4000-8000-0000000000d2" {
			t.Fatalf("me %+v %v", me, err)
		}
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	tokens := 0
	for _, s := range srv.seen {
		switch s {
		case "GET /oidc/.well-known/oauth-authorization-server ", "GET /api/2.0/preview/scim/v2/Me Bearer m2m-access-token":
		case "POST /oidc/v1/token Basic ZDAwMDAwMDAtMDAwMC00MDAwLTgwMDAtMDAwMDAwMDAwMGQyOnNwLXNlY3JldA==":
			tokens++
		default:
			t.Fatalf("unexpected call %q (all: %q)", s, srv.seen)
		}
	}
	if tokens != 1 {
		t.Fatalf("%d token requests for two calls: the token is not cached", tokens)
	}
}

type fakeCredential struct {
	mu     sync.Mutex
	scopes [][]string
	token  string
	err    error
}

func (c *fakeCredential) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scopes = append(c.scopes, o.Scopes)
	if c.err != nil {
		return azcore.AccessToken{}, c.err
	}
	return azcore.AccessToken{Token: c.token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestM2MManagedIdentityAsksForTheDatabricksResource(t *testing.T) {
	srv := newM2MServer(t, "behalf-mi", "unused", "entra-mi-token")
	leakDeployerCredentials(t, srv.URL)
	cred := &fakeCredential{token: "entra-mi-token"}
	w, err := factoryFor(t, srv.Server).ForM2M(M2M{Credential: cred})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.CurrentUser.Me(context.Background()); err != nil {
		t.Fatal(err)
	}
	cred.mu.Lock()
	defer cred.mu.Unlock()
	if len(cred.scopes) == 0 || len(cred.scopes[0]) != 1 || cred.scopes[0][0] != AzureDatabricksResource+"/.default" {
		t.Fatalf("scopes asked for: %v", cred.scopes)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for _, s := range srv.seen {
		if s != "GET /api/2.0/preview/scim/v2/Me Bearer entra-mi-token" {
			t.Fatalf("unexpected call %q", s)
		}
	}
}

func TestM2MConfigIsChecked(t *testing.T) {
	f, _ := NewFactory(Config{Host: "https://workspace.example"})
	for name, m := range map[string]M2M{
		"nothing":            {},
		"id without secret":  {ClientID: "x"},
		"secret without id":  {ClientSecret: "x"},
		"secret and managed": {ClientID: "x", ClientSecret: "y", Credential: &fakeCredential{}},
	} {
		if _, err := f.ForM2M(m); !errors.Is(err, ErrM2MConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A credential that fails surfaces its error (at construction or at
	// the first call, which is when the SDK resolves credentials).
	w, err := f.ForM2M(M2M{Credential: &fakeCredential{err: errors.New("no managed identity here")}})
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = w.CurrentUser.Me(ctx)
	}
	if err == nil || !strings.Contains(err.Error(), "no managed identity here") {
		t.Errorf("failing credential: %v", err)
	}
}
