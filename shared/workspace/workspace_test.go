package workspace

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// TestClientUsesOnlyTheGivenToken sets every deployer credential the SDK
// knows how to find — environment variables and a ~/.databrickscfg — and
// proves the per-request client still sends only the person's token.
func TestClientUsesOnlyTheGivenToken(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		if r.URL.Path == "/api/2.0/preview/scim/v2/Me" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"userName":"wendy.west@contoso.example","id":"1"}`))
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()

	home := t.TempDir()
	cfgFile := filepath.Join(home, ".databrickscfg")
	if err := os.WriteFile(cfgFile, []byte("[DEFAULT]\nhost = "+srv.URL+"\ntoken = dapi-deployer-profile\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"HOME": home, "DATABRICKS_CONFIG_FILE": cfgFile, "DATABRICKS_TOKEN": "dapi-deployer-env",
		"DATABRICKS_CLIENT_ID": "deployer-sp", "DATABRICKS_CLIENT_SECRET": "deployer-secret", "DATABRICKS_AUTH_TYPE": "oauth-m2m",
		"ARM_CLIENT_ID": "arm-client", "ARM_CLIENT_SECRET": "arm-secret", "ARM_TENANT_ID": "arm-tenant", "ARM_USE_MSI": "true",
		"DATABRICKS_HOST": "https://deployer.example", "HTTPS_PROXY": "http://127.0.0.1:9",
	} {
		t.Setenv(k, v)
	}
	f, err := NewFactory(Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	f.transport.(*noRetryTransport).next = srv.Client().Transport
	w, err := f.ForToken("person-token")
	if err != nil {
		t.Fatal(err)
	}
	me, err := w.CurrentUser.Me(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if me.UserName != "wendy.west@contoso.example" {
		t.Fatalf("me %+v", me)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, s := range seen {
		if s != "GET /api/2.0/preview/scim/v2/Me Bearer person-token" {
			t.Fatalf("unexpected call %q (all: %q)", s, seen)
		}
	}
}

func TestNoRetrySurfacesThrottlingInsteadOfRetrying(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "3")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error_code":"TEMPORARILY_UNAVAILABLE","message":"busy"}`))
	}))
	defer srv.Close()
	f, _ := NewFactory(Config{Host: srv.URL})
	f.transport.(*noRetryTransport).next = srv.Client().Transport
	w, _ := f.ForToken("person-token")
	_, err := w.CurrentUser.Me(NoRetry(context.Background()))
	var ue *UpstreamStatusError
	if !errors.As(err, &ue) || ue.StatusCode != 503 || ue.RetryAfter.Seconds() != 3 {
		t.Fatalf("want UpstreamStatusError 503, got %v", err)
	}
	if calls.Load() != 1 {
		t.Fatalf("%d calls for a NoRetry request", calls.Load())
	}
}

func TestFactoryRefusesPlainHTTPAndEmptyTokens(t *testing.T) {
	if _, err := NewFactory(Config{Host: "http://workspace"}); err == nil {
		t.Fatal("http host accepted")
	}
	f, _ := NewFactory(Config{Host: "https://workspace.example"})
	if _, err := f.ForToken(""); err == nil {
		t.Fatal("empty token accepted")
	}
}
