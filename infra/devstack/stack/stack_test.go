package stack

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/behalf-dev/behalf/infra/devstack/directory"
	"github.com/behalf-dev/behalf/shared/config"
	bidentity "github.com/behalf-dev/behalf/shared/identity"
	"github.com/behalf-dev/behalf/shared/obo"
	"github.com/behalf-dev/behalf/shared/workspace"
)

// syncBuffer collects the banner while the stack writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startedStack runs the stack with a stand-in function app that records
// the settings it is given.
type startedStack struct {
	running  *Running
	settings func(string) (string, bool)
	banner   *syncBuffer
	dataDir  string
}

func runStack(t *testing.T, dataDir string) *startedStack {
	t.Helper()
	out := &syncBuffer{}
	ready := make(chan *Running, 1)
	var settingsFn func(string) (string, bool)
	var mu sync.Mutex
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{
			Addr: "127.0.0.1:0", DataDir: dataDir, Stdout: out, DatabricksAddr: "127.0.0.1:0", EntraAddr: "127.0.0.1:0",
			Lookup: func(string) (string, bool) { return "", false }, Functions: fstest.MapFS{},
			Serve: func(ctx context.Context, l net.Listener, settings func(string) (string, bool)) error {
				mu.Lock()
				settingsFn = settings
				mu.Unlock()
				srv := &http.Server{Handler: http.NotFoundHandler(), ReadHeaderTimeout: time.Second}
				go func() { <-ctx.Done(); _ = srv.Close() }()
				if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
					return err
				}
				return nil
			},
			Ready: func(r *Running) { ready <- r },
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("stack: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("the stack did not stop")
		}
	})
	select {
	case r := <-ready:
		mu.Lock()
		defer mu.Unlock()
		return &startedStack{running: r, settings: settingsFn, banner: out, dataDir: dataDir}
	case err := <-done:
		t.Fatalf("stack stopped: %v\n%s", err, out)
	case <-time.After(60 * time.Second):
		t.Fatalf("stack not ready:\n%s", out)
	}
	return nil
}

func (s *startedStack) setting(t *testing.T, name string) string {
	t.Helper()
	v, ok := s.settings(name)
	if !ok || v == "" {
		t.Fatalf("%s is not set", name)
	}
	return v
}

const (
	behalfID = "e0000000-0000-4000-8000-0000000000b1"
	agentID  = "e0000000-0000-4000-8000-0000000000a1"
	tenantID = "7d3e2a10-5b1c-4c8e-9f00-0000000d3e10"
	wendy    = "wendy.west@contoso.example"
)

// TestDevStackStartsTheEntraEmulator: `behalf dev` prints the authority
// and the demo people, and gives behalf settings under which its own
// libraries work end to end: validate a person's token, exchange it with
// the managed identity (no secret), call the workspace as that person.
func TestDevStackStartsTheEntraEmulator(t *testing.T) {
	s := runStack(t, t.TempDir())
	r := s.running
	banner := s.banner.String()
	if r.Authority == "" || !strings.Contains(banner, r.Authority) {
		t.Errorf("the banner lacks the authority %q:\n%s", r.Authority, banner)
	}
	for _, p := range directory.Demo().People {
		if p.Tenant == tenantID || p.External {
			if !strings.Contains(banner, p.UPN) {
				t.Errorf("the banner lacks %s", p.UPN)
			}
		}
	}
	if strings.Contains(banner, "oscar.other@fabrikam.example") {
		t.Error("the banner lists a person of another tenant")
	}
	if strings.Contains(banner, "dev-only-behalf-secret") || strings.Contains(banner, s.setting(t, "BEHALF_SESSION_KEYS")) {
		t.Error("the banner shows a secret")
	}

	want := map[string]string{
		"BEHALF_CLIENT_ID": behalfID, "BEHALF_TENANT_IDS": tenantID, "BEHALF_AUTHORITY_HOST": r.Entra.URL(),
		"BEHALF_V1_ISSUER_HOST": "https://sts.windows.net", "BEHALF_BROKER_ALLOWED_APPS": agentID,
		"BEHALF_CREDENTIAL": "managed-identity", "BEHALF_MANAGED_IDENTITY_CLIENT_ID": "f0000000-0000-4000-8000-0000000000f1",
		"BEHALF_PUBLIC_URL": r.AppURL,
	}
	for k, v := range want {
		if got := s.setting(t, k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if !strings.Contains(s.setting(t, "BEHALF_ALLOWED_ORIGINS"), r.AppURL) {
		t.Errorf("BEHALF_ALLOWED_ORIGINS = %q", s.setting(t, "BEHALF_ALLOWED_ORIGINS"))
	}
	if _, ok := s.settings("BEHALF_CLIENT_SECRET"); ok {
		t.Error("a client secret is configured although the managed identity is used")
	}
	if os.Getenv("IDENTITY_ENDPOINT") != r.Entra.ManagedIdentityEndpoint() {
		t.Errorf("IDENTITY_ENDPOINT = %q", os.Getenv("IDENTITY_ENDPOINT"))
	}
	keyFile := filepath.Join(s.dataDir, "session-keys")
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("session key file: %v %v", fi, err)
	}

	cfg, err := config.Load(s.settings)
	if err != nil {
		t.Fatalf("behalf rejects the dev settings: %v", err)
	}
	id := cfg.Identity
	caPEM, err := os.ReadFile(id.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig(roots)}}

	// The sign-in redirect URI on the app's real port is registered.
	authz := id.AuthorityHost + "/" + id.Tenants[0] + "/oauth2/v2.0/authorize?" + url.Values{
		"client_id": {id.ClientID}, "response_type": {"code"}, "redirect_uri": {id.PublicURL + "/api/auth/callback"},
		"scope": {"api://" + id.ClientID + "/access_as_user openid"}, "code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"S256"},
	}.Encode()
	resp, err := hc.Get(authz)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), wendy) {
		t.Errorf("sign-in page for behalf's callback: %d", resp.StatusCode)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	userTok, err := r.Entra.UserAccessToken(wendy, id.ClientID, agentID)
	if err != nil {
		t.Fatal(err)
	}
	val, err := bidentity.NewValidator(ctx, bidentity.Config{ClientID: id.ClientID, Tenants: id.Tenants, AuthorityHost: id.AuthorityHost,
		V1IssuerHost: id.V1IssuerHost, RequiredScope: id.APIScope, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := val.Validate(ctx, userTok); err != nil || p.UPN != wendy || p.ClientAppID != agentID {
		t.Fatalf("behalf's validator refuses the emulator's token: %v", err)
	}
	mi, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
		ClientOptions: azcore.ClientOptions{Transport: hc}, ID: azidentity.ClientID(id.ManagedIdentityClientID)})
	if err != nil {
		t.Fatal(err)
	}
	// The exchange as behalf's wiring sets it up: obo.NewEntra with the
	// managed-identity assertion and the authority from the settings.
	ex, err := obo.NewEntra(obo.EntraConfig{Authority: id.AuthorityHost + "/" + id.Tenants[0], ClientID: id.ClientID,
		Credential: obo.ManagedIdentityAssertion(mi), Scopes: []string{id.DatabricksResource + "/.default"}, HTTPClient: hc,
		DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ex.Exchange(ctx, obo.Request{Assertion: userTok})
	if err != nil {
		t.Fatalf("OBO with the managed identity: %v", err)
	}
	factory, err := workspace.NewFactory(workspace.Config{Host: id.DatabricksHost, RootCAs: roots})
	if err != nil {
		t.Fatal(err)
	}
	w, err := factory.ForToken(tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	me, err := w.CurrentUser.Me(ctx)
	if err != nil {
		t.Fatalf("the workspace refuses the OBO token: %v", err)
	}
	if me.UserName != wendy {
		t.Errorf("workspace sees %q, want %s", me.UserName, wendy)
	}
}

// TestDevStackKeepsSessionKeysAndCleansUp: a second run over the same data
// folder reuses the session key, and the process environment is restored
// when the stack stops.
func TestDevStackKeepsSessionKeysAndCleansUp(t *testing.T) {
	dir := t.TempDir()
	first := func() string {
		t.Helper()
		var key string
		t.Run("run", func(t *testing.T) {
			s := runStack(t, dir)
			key = s.setting(t, "BEHALF_SESSION_KEYS")
		})
		return key
	}
	k1, k2 := first(), first()
	if k1 == "" || k1 != k2 {
		t.Errorf("session keys differ between runs")
	}
	if _, set := os.LookupEnv("IDENTITY_ENDPOINT"); set {
		t.Error("IDENTITY_ENDPOINT outlived the stack")
	}
}

func tlsConfig(roots *x509.CertPool) *tls.Config {
	return &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
}
