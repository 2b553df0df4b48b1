package identity

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

const (
	tenant   = "7d3e2a10-5b1c-4c8e-9f00-0000000d3e10"
	other    = "9a8b7c6d-0000-4000-8000-00000000f0e1"
	clientID = "e0000000-0000-4000-8000-0000000000b1"
)

// fakeIdP serves discovery and JWKS for one tenant and counts key fetches.
type fakeIdP struct {
	srv       *httptest.Server
	mu        sync.Mutex
	published []jose.JSONWebKey
	fetches   atomic.Int32
	// gate, when set before the first request, holds key fetches until
	// it is closed; failNext fails that many fetches with 500.
	gate     chan struct{}
	failNext atomic.Int32
}

func newFakeIdP(t testing.TB) *fakeIdP {
	f := &fakeIdP{}
	mux := http.NewServeMux()
	mux.HandleFunc("/{tenant}/v2.0/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		iss := f.srv.URL + "/" + r.PathValue("tenant") + "/v2.0"
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": iss, "jwks_uri": f.srv.URL + "/" + r.PathValue("tenant") + "/discovery/v2.0/keys",
			"authorization_endpoint": iss + "/authorize", "token_endpoint": iss + "/token"})
	})
	mux.HandleFunc("/{tenant}/discovery/v2.0/keys", func(w http.ResponseWriter, r *http.Request) {
		f.fetches.Add(1)
		if f.gate != nil {
			<-f.gate
		}
		if f.failNext.Add(-1) >= 0 {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: f.published})
	})
	f.srv = httptest.NewTLSServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIdP) publish(kid string, pub any, alg jose.SignatureAlgorithm) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.published = append(f.published, jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: string(alg), Use: "sig"})
}

type signer struct {
	kid string
	alg jose.SignatureAlgorithm
	key any
}

func (s signer) sign(t testing.TB, claims map[string]any) string {
	t.Helper()
	sg, err := jose.NewSigner(jose.SigningKey{Algorithm: s.alg, Key: s.key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", s.kid))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	obj, err := sg.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

type fixture struct {
	idp     *fakeIdP
	v       *Validator
	rsa     signer
	ec      signer
	rsaPub  *rsa.PublicKey
	now     time.Time
	clock   atomic.Pointer[time.Time]
	claimsF func(overrides map[string]any) map[string]any
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	idp := newFakeIdP(t)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	idp.publish("rsa-1", &rk.PublicKey, jose.RS256)
	idp.publish("ec-1", &ek.PublicKey, jose.ES256)
	now := time.Now()
	f := &fixture{idp: idp, rsa: signer{"rsa-1", jose.RS256, rk}, ec: signer{"ec-1", jose.ES256, ek}, rsaPub: &rk.PublicKey, now: now}
	f.setNow(now)
	v, err := NewValidator(context.Background(), Config{
		ClientID: clientID, Tenants: []string{tenant}, AuthorityHost: idp.srv.URL, RequiredScope: "access_as_user",
		HTTPClient: idp.srv.Client(), KeyRefreshInterval: time.Hour, Now: func() time.Time { return *f.clock.Load() },
	})
	if err != nil {
		t.Fatal(err)
	}
	f.v = v
	f.claimsF = func(o map[string]any) map[string]any {
		c := map[string]any{
			"iss": idp.srv.URL + "/" + tenant + "/v2.0", "aud": clientID, "tid": tenant, "oid": "b0000000-0000-4000-8000-000000000001",
			"sub": "pairwise", "preferred_username": "wendy.west@contoso.example", "name": "Wendy West", "scp": "access_as_user",
			"azp": "e0000000-0000-4000-8000-0000000000a1", "ver": "2.0", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
			"groups": []string{"a0000000-0000-4000-8000-000000000001"},
		}
		for k, v := range o {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	return f
}

func (f *fixture) setNow(t time.Time) { f.clock.Store(&t) }

func TestValidateTable(t *testing.T) {
	f := newFixture(t)
	hs256WithPublicKey := func() string {
		der, _ := x509.MarshalPKIXPublicKey(f.rsaPub)
		head := b64(map[string]string{"alg": "HS256", "kid": "rsa-1", "typ": "JWT"})
		body := b64(f.claimsF(nil))
		mac := hmac.New(sha256.New, der)
		mac.Write([]byte(head + "." + body))
		return head + "." + body + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	}
	tampered := func() string {
		parts := strings.Split(f.rsa.sign(t, f.claimsF(nil)), ".")
		parts[1] = b64(f.claimsF(map[string]any{"oid": "b0000000-0000-4000-8000-000000000006"}))
		return strings.Join(parts, ".")
	}
	unknownKid := func() string {
		k, _ := rsa.GenerateKey(rand.Reader, 2048)
		return signer{"rogue", jose.RS256, k}.sign(t, f.claimsF(nil))
	}
	cases := []struct {
		name  string
		token string
		code  Code
		upn   string
	}{
		{"valid v2 RS256", f.rsa.sign(t, f.claimsF(nil)), "", "wendy.west@contoso.example"},
		{"valid v2 ES256", f.ec.sign(t, f.claimsF(nil)), "", "wendy.west@contoso.example"},
		{"valid v1", f.rsa.sign(t, f.claimsF(map[string]any{"iss": "https://sts.windows.net/" + tenant + "/", "aud": "api://" + clientID, "ver": "1.0",
			"azp": nil, "appid": "e0000000-0000-4000-8000-0000000000a1", "preferred_username": nil, "upn": "wendy.west@contoso.example"})), "", "wendy.west@contoso.example"},
		{"app role instead of scope is refused unless accepted", f.rsa.sign(t, f.claimsF(map[string]any{"scp": nil, "roles": []string{"approver"}})), CodeMissingScope, ""},
		{"expired", f.rsa.sign(t, f.claimsF(map[string]any{"exp": f.now.Add(-2 * time.Minute).Unix()})), CodeExpired, ""},
		{"expired within skew is accepted", f.rsa.sign(t, f.claimsF(map[string]any{"exp": f.now.Add(-30 * time.Second).Unix()})), "", "wendy.west@contoso.example"},
		{"not yet valid", f.rsa.sign(t, f.claimsF(map[string]any{"nbf": f.now.Add(5 * time.Minute).Unix()})), CodeNotYetValid, ""},
		{"wrong audience", f.rsa.sign(t, f.claimsF(map[string]any{"aud": "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d"})), CodeWrongAudience, ""},
		{"wrong issuer", f.rsa.sign(t, f.claimsF(map[string]any{"iss": "https://evil.example/" + tenant + "/v2.0"})), CodeWrongIssuer, ""},
		{"other tenant", f.rsa.sign(t, f.claimsF(map[string]any{"tid": other, "iss": f.idp.srv.URL + "/" + other + "/v2.0"})), CodeWrongTenant, ""},
		{"tid and iss disagree", f.rsa.sign(t, f.claimsF(map[string]any{"tid": other})), CodeWrongIssuer, ""},
		{"alg none", b64(map[string]string{"alg": "none", "typ": "JWT"}) + "." + b64(f.claimsF(nil)) + ".", CodeAlgNotAllowed, ""},
		{"HS256 signed with the public key", hs256WithPublicKey(), CodeAlgNotAllowed, ""},
		{"unknown kid", unknownKid(), CodeUnknownKey, ""},
		{"tampered payload", tampered(), CodeBadSignature, ""},
		{"missing scope", f.rsa.sign(t, f.claimsF(map[string]any{"scp": "User.Read"})), CodeMissingScope, ""},
		{"no exp", f.rsa.sign(t, f.claimsF(map[string]any{"exp": nil})), CodeMalformed, ""},
		{"garbage", "not-a-token", CodeMalformed, ""},
		{"empty", "", CodeMissing, ""},
		{"oversized", strings.Repeat("a", maxTokenBytes+1), CodeMalformed, ""},
	}
	seen := map[Code]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := f.v.Validate(context.Background(), tc.token)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if p.UPN != tc.upn || p.OID == "" || p.TenantID != tenant || p.ClientAppID == "" {
					t.Fatalf("principal %+v", p)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("want *Error %s, got %v (principal %v)", tc.code, err, p)
			}
			if e.Code != tc.code {
				t.Fatalf("code %s, want %s (%v)", e.Code, tc.code, e)
			}
			if tc.token != "" && len(tc.token) > 20 && strings.Contains(e.Error(), tc.token) {
				t.Fatal("error echoes the token")
			}
			seen[e.Code] = true
		})
	}
	if len(seen) < 9 {
		t.Fatalf("refusals should have distinct codes, saw %v", seen)
	}
}

func TestAcceptedRoleStandsInForScope(t *testing.T) {
	f := newFixture(t)
	v, err := NewValidator(context.Background(), Config{ClientID: clientID, Tenants: []string{tenant}, AuthorityHost: f.idp.srv.URL,
		AcceptedRoles: []string{"behalf.caller"}, HTTPClient: f.idp.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(context.Background(), f.rsa.sign(t, f.claimsF(map[string]any{"scp": nil, "roles": []string{"behalf.caller"}}))); err != nil {
		t.Fatal(err)
	}
}

func TestUnknownKidRefreshIsRateLimitedAndRotationWorks(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.v.Validate(ctx, f.rsa.sign(t, f.claimsF(nil))); err != nil {
		t.Fatal(err)
	}
	first := f.idp.fetches.Load()
	// Many tokens with made-up kids: at most one refresh per interval.
	for i := 0; i < 20; i++ {
		k, _ := rsa.GenerateKey(rand.Reader, 1024)
		_, err := f.v.Validate(ctx, signer{"made-up", jose.RS256, k}.sign(t, f.claimsF(map[string]any{"uti": i})))
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeUnknownKey {
			t.Fatalf("want unknown key, got %v", err)
		}
	}
	if n := f.idp.fetches.Load() - first; n > 1 {
		t.Fatalf("%d key fetches for unknown kids within one interval", n)
	}
	// After the interval, a newly published key (rotation) is picked up.
	nk, _ := rsa.GenerateKey(rand.Reader, 2048)
	f.idp.publish("rsa-2", &nk.PublicKey, jose.RS256)
	later := f.now.Add(2 * time.Hour)
	f.setNow(later)
	claims := f.claimsF(map[string]any{"exp": later.Add(time.Hour).Unix(), "nbf": later.Unix()})
	if _, err := f.v.Validate(ctx, signer{"rsa-2", jose.RS256, nk}.sign(t, claims)); err != nil {
		t.Fatalf("rotated key not accepted: %v", err)
	}
}

func TestConcurrentRefreshIsShared(t *testing.T) {
	f := newFixture(t)
	tok := f.rsa.sign(t, f.claimsF(nil))
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each caller's context ends right away for half of them: the
			// shared refresh must still complete for the rest.
			ctx, cancel := context.WithCancel(context.Background())
			if i%2 == 0 {
				cancel()
			} else {
				defer cancel()
			}
			_, _ = f.v.Validate(ctx, tok)
		}()
	}
	wg.Wait()
	if _, err := f.v.Validate(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if n := f.idp.fetches.Load(); n != 1 {
		t.Fatalf("%d key fetches, want 1", n)
	}
}

// TestRequestsDuringTheFirstFetchWaitForIt: at a cold start, requests
// that arrive while the first key fetch runs join it instead of being
// refused (the fetch has just used the refresh rate limit).
func TestRequestsDuringTheFirstFetchWaitForIt(t *testing.T) {
	f := newFixture(t)
	f.idp.gate = make(chan struct{})
	tok := f.rsa.sign(t, f.claimsF(nil))
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		go func() {
			_, err := f.v.Validate(context.Background(), tok)
			errs <- err
		}()
	}
	// Let every request reach the key set before the fetch answers.
	deadline := time.Now().Add(5 * time.Second)
	for f.idp.fetches.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(f.idp.gate)
	for i := 0; i < 20; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("request during the first fetch: %v", err)
		}
	}
	if n := f.idp.fetches.Load(); n != 1 {
		t.Fatalf("%d key fetches, want 1", n)
	}
}

// TestFailedFirstFetchIsRetriedSoon: with no keys at all, a failed fetch
// answers ISSUER_UNAVAILABLE (not "unknown key") and is retried after a
// second, not after the whole refresh interval.
func TestFailedFirstFetchIsRetriedSoon(t *testing.T) {
	f := newFixture(t)
	f.idp.failNext.Store(1)
	tok := f.rsa.sign(t, f.claimsF(nil))
	for i := 0; i < 3; i++ {
		_, err := f.v.Validate(context.Background(), tok)
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeIssuerUnavailable {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if n := f.idp.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches while the IdP was failing, want 1 (rate limited)", n)
	}
	f.setNow(f.now.Add(2 * time.Second))
	if _, err := f.v.Validate(context.Background(), tok); err != nil {
		t.Fatalf("after the retry delay: %v", err)
	}
}

func TestVerifiedTokensAreCachedUntilExpiry(t *testing.T) {
	f := newFixture(t)
	tok := f.rsa.sign(t, f.claimsF(map[string]any{"exp": f.now.Add(10 * time.Minute).Unix()}))
	if _, err := f.v.Validate(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if f.v.cache.Len() != 1 {
		t.Fatalf("cache holds %d entries", f.v.cache.Len())
	}
	f.setNow(f.now.Add(20 * time.Minute))
	_, err := f.v.Validate(context.Background(), tok)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeExpired {
		t.Fatalf("cached token used after expiry: %v", err)
	}
}

func TestCacheIsBounded(t *testing.T) {
	f := newFixture(t)
	v, _ := NewValidator(context.Background(), Config{ClientID: clientID, Tenants: []string{tenant}, AuthorityHost: f.idp.srv.URL,
		RequiredScope: "access_as_user", HTTPClient: f.idp.srv.Client(), CacheSize: 8})
	for i := 0; i < 40; i++ {
		if _, err := v.Validate(context.Background(), f.rsa.sign(t, f.claimsF(map[string]any{"uti": i}))); err != nil {
			t.Fatal(err)
		}
	}
	if v.cache.Len() > 8 {
		t.Fatalf("cache holds %d entries, bound is 8", v.cache.Len())
	}
}

func TestPrincipalNeverShowsToken(t *testing.T) {
	f := newFixture(t)
	tok := f.rsa.sign(t, f.claimsF(nil))
	p, err := f.v.Validate(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{p.String(), p.LogValue().String()} {
		if strings.Contains(s, tok[:30]) || !strings.Contains(s, p.OID) {
			t.Fatalf("principal renders as %q", s)
		}
	}
}

func TestNewValidatorRefusesBadConfig(t *testing.T) {
	cases := map[string]Config{
		"no client":      {Tenants: []string{tenant}, RequiredScope: "s"},
		"no tenants":     {ClientID: clientID, RequiredScope: "s"},
		"no scope":       {ClientID: clientID, Tenants: []string{tenant}},
		"http authority": {ClientID: clientID, Tenants: []string{tenant}, RequiredScope: "s", AuthorityHost: "http://login.example"},
		"http extra iss": {ClientID: clientID, Tenants: []string{tenant}, RequiredScope: "s", Extra: []Issuer{{URL: "http://idp"}}},
	}
	for name, cfg := range cases {
		if _, err := NewValidator(context.Background(), cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
