package entra

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/behalf-dev/behalf/infra/devstack/devca"
	"github.com/behalf-dev/behalf/infra/devstack/directory"
)

// Config configures the emulator. Only Directory is required (and CA for
// Start and Serve).
type Config struct {
	// Directory holds the tenants, people, apps and managed identities.
	Directory *directory.Directory
	// CA issues the server certificate.
	CA *devca.CA
	// Addr is where Start listens (default 127.0.0.1:0); Hosts are extra
	// names for the certificate.
	Addr  string
	Hosts []string
	// Lifetimes override the directory's token_lifetimes; zero fields keep
	// them (and then the defaults).
	Lifetimes Lifetimes
	// IdentityHeader is the secret the managed-identity endpoint expects in
	// X-IDENTITY-HEADER (IDENTITY_HEADER); default random.
	IdentityHeader string
	// MFAContext is the authentication-context value (acrs) of MFA claims
	// challenges (default "c1").
	MFAContext string
	// MaxGrants bounds outstanding codes, refresh tokens and pending
	// sign-ins, each (default 10,000).
	MaxGrants int
	// FaultSeed seeds the fault-injection dice (default 1).
	FaultSeed uint64
	// Now is the clock (default time.Now); tests may shift it.
	Now    func() time.Time
	Logger *slog.Logger
}

// Lifetimes are token and grant lifetimes.
type Lifetimes struct {
	// AccessToken default 1 h (expires_in 3599 after rounding down).
	AccessToken time.Duration
	// IDToken default 1 h.
	IDToken time.Duration
	// RefreshToken default 24 h.
	RefreshToken time.Duration
	// AuthorizationCode default 10 min.
	AuthorizationCode time.Duration
	// ManagedIdentityToken default 4 min. It is below MSAL's 5-minute
	// caching threshold on purpose: MSAL Go keeps managed-identity tokens in
	// one process-wide cache keyed only by identity and resource, so a
	// cached token of an emulator that has since stopped (another test, an
	// earlier stack) would otherwise be presented to a new one, whose keys
	// differ. Set it above 5 min to exercise MSAL's caching.
	ManagedIdentityToken time.Duration
	// SignIn bounds how long a sign-in page stays usable (default 10 min).
	SignIn time.Duration
	// Session is how long the emulator's browser session (single sign-on)
	// lasts (default 8 h).
	Session time.Duration
}

// Emulator is a running (or ready to run) Entra ID tenant set.
type Emulator struct {
	cfg      Config
	life     Lifetimes
	log      *slog.Logger
	world    *world
	keys     *keyring
	partner  *lazyKeyring
	grants   *grantStore
	counters *counterSet
	faults   *faultSet
	// sessionKey authenticates the emulator's own sign-in cookie.
	sessionKey []byte
	handler    http.Handler

	redirectMu sync.RWMutex
	redirects  map[string][]string // extra redirect URIs per client id

	mu         sync.Mutex
	url        string
	server     *http.Server
	serveErr   chan error
	closeOnce  sync.Once
	closeError error
}

// New builds the emulator; it does not listen yet.
func New(cfg Config) (*Emulator, error) {
	if cfg.Directory == nil {
		return nil, errors.New("entra: Config.Directory is required")
	}
	if err := cfg.Directory.Validate(); err != nil {
		return nil, fmt.Errorf("entra: %w", err)
	}
	life, err := lifetimes(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.IdentityHeader == "" {
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		cfg.IdentityHeader = hex.EncodeToString(b)
	}
	if cfg.MFAContext == "" {
		cfg.MFAContext = "c1"
	}
	if cfg.MaxGrants <= 0 {
		cfg.MaxGrants = 10_000
	}
	if cfg.FaultSeed == 0 {
		cfg.FaultSeed = 1
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	w, err := newWorld(cfg.Directory)
	if err != nil {
		return nil, err
	}
	e := &Emulator{cfg: cfg, life: life, log: cfg.Logger, world: w, counters: &counterSet{c: newCounters()},
		faults:    &faultSet{faults: map[Endpoint]*Fault{}, rnd: mrand.New(mrand.NewPCG(cfg.FaultSeed, cfg.FaultSeed^0x9e3779b97f4a7c15))},
		redirects: map[string][]string{}, sessionKey: make([]byte, 32)}
	_, _ = rand.Read(e.sessionKey)
	e.grants = newGrantStore(cfg.MaxGrants, e.now)
	// A rotated-out key stays published as long as any token it signed
	// can still be valid.
	retention := func() time.Duration {
		return max(e.life.AccessToken, e.life.IDToken, e.life.ManagedIdentityToken) + 5*time.Minute
	}
	if e.keys, err = newKeyring("behalf dev Entra ID emulator", retention, e.now); err != nil {
		return nil, err
	}
	e.partner = &lazyKeyring{make: func() (*keyring, error) { return newKeyring("behalf dev partner IdP", retention, e.now) }}
	e.handler = e.routes()
	return e, nil
}

func lifetimes(cfg Config) (Lifetimes, error) {
	tl := cfg.Directory.TokenLifetimes
	l := cfg.Lifetimes
	for _, f := range []struct {
		dst  *time.Duration
		file string
		def  time.Duration
	}{
		{&l.AccessToken, tl.AccessToken, time.Hour},
		{&l.IDToken, tl.IDToken, time.Hour},
		{&l.RefreshToken, tl.RefreshToken, 24 * time.Hour},
		{&l.AuthorizationCode, tl.AuthorizationCode, 10 * time.Minute},
		{&l.ManagedIdentityToken, tl.ManagedIdentityToken, 4 * time.Minute},
		{&l.SignIn, "", 10 * time.Minute},
		{&l.Session, "", 8 * time.Hour},
	} {
		if *f.dst > 0 {
			continue
		}
		d, err := directory.ParseLifetime(f.file)
		if err != nil {
			return l, fmt.Errorf("entra: %w", err)
		}
		if d == 0 {
			d = f.def
		}
		*f.dst = d
	}
	return l, nil
}

func (e *Emulator) now() time.Time { return e.cfg.Now() }

// Handler is the emulator's HTTP handler (for callers that terminate TLS
// themselves; issuers use URL, so Serve or Start first).
func (e *Emulator) Handler() http.Handler { return e.handler }

// URL is the base URL (https://host:port), empty before Serve/Start.
func (e *Emulator) URL() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.url
}

// Authority is the MSAL authority of a tenant: URL()/{tenant}.
func (e *Emulator) Authority(tenantID string) string { return e.URL() + "/" + tenantID }

// Issuer is the v2 issuer of a tenant's tokens.
func (e *Emulator) Issuer(tenantID string) string { return e.v2Issuer(tenantID) }

// PartnerIssuer is the partner IdP's issuer (URL() + PartnerIdP.Issuer).
func (e *Emulator) PartnerIssuer() string { return e.URL() + e.partnerPath() }

// ManagedIdentityEndpoint is the App Service managed-identity endpoint
// (the value for IDENTITY_ENDPOINT).
func (e *Emulator) ManagedIdentityEndpoint() string { return e.URL() + managedIdentityPath }

// IdentityHeader is the secret for IDENTITY_HEADER. It is a dev secret:
// never log it.
func (e *Emulator) IdentityHeader() string { return e.cfg.IdentityHeader }

// Directory is the directory the emulator serves.
func (e *Emulator) Directory() *directory.Directory { return e.cfg.Directory }

// AddRedirectURI registers one more exact redirect URI for an app (the dev
// stack registers behalf's callback on its actual port).
func (e *Emulator) AddRedirectURI(clientID, uri string) error {
	if _, ok := e.world.apps[clientID]; !ok {
		return fmt.Errorf("entra: no app %q", clientID)
	}
	u, err := url.Parse(uri)
	if err != nil || u.Host == "" || u.Fragment != "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
		return fmt.Errorf("entra: redirect URI %q must be https (or http on localhost) without a fragment", uri)
	}
	e.redirectMu.Lock()
	defer e.redirectMu.Unlock()
	if !slices.Contains(e.redirects[clientID], uri) {
		e.redirects[clientID] = append(e.redirects[clientID], uri)
	}
	return nil
}

// redirectAllowed is Entra's exact redirect-URI match.
func (e *Emulator) redirectAllowed(a *app, uri string) bool {
	if slices.Contains(a.RedirectURIs, uri) {
		return true
	}
	e.redirectMu.RLock()
	defer e.redirectMu.RUnlock()
	return slices.Contains(e.redirects[a.ClientID], uri)
}

func isLoopback(h string) bool { return h == "localhost" || h == "127.0.0.1" || h == "::1" }

// RotateKeys rotates the tenant signing keys: the key that was published
// as next starts signing, the old one stays published for the token
// lifetime, and a new next key is published. It returns the new signing
// kid.
func (e *Emulator) RotateKeys() (string, error) { return e.keys.rotate() }

// RotatePartnerKeys does the same for the partner IdP.
func (e *Emulator) RotatePartnerKeys() (string, error) {
	k, err := e.partner.get()
	if err != nil {
		return "", err
	}
	return k.rotate()
}

// Start listens on Config.Addr and serves HTTPS in the background until
// Close.
func (e *Emulator) Start(ctx context.Context) error {
	if e.cfg.CA == nil {
		return errors.New("entra: Start needs Config.CA")
	}
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", e.cfg.Addr)
	if err != nil {
		return fmt.Errorf("entra: listen on %s: %w", e.cfg.Addr, err)
	}
	return e.Serve(l)
}

// Serve serves HTTPS on the plain TCP listener l, with a certificate from
// Config.CA, in the background until Close.
func (e *Emulator) Serve(l net.Listener) error {
	if e.cfg.CA == nil {
		l.Close()
		return errors.New("entra: Serve needs Config.CA")
	}
	tlsCfg, err := e.cfg.CA.ServerTLS(e.cfg.Hosts...)
	if err != nil {
		l.Close()
		return err
	}
	// HTTP/1.1 only: an HTTP/2 server's graceful shutdown waits a second
	// for every idle client connection, which would slow every test.
	tlsCfg.NextProtos = []string{"http/1.1"}
	e.mu.Lock()
	if e.server != nil {
		e.mu.Unlock()
		l.Close()
		return errors.New("entra: already serving")
	}
	e.url = "https://" + l.Addr().String()
	e.server = &http.Server{Handler: e.handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10, ErrorLog: slog.NewLogLogger(e.log.Handler(), slog.LevelWarn),
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}}
	e.serveErr = make(chan error, 1)
	srv := e.server
	url := e.url
	e.mu.Unlock()
	go func() {
		err := srv.Serve(tls.NewListener(l, tlsCfg))
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		e.serveErr <- err
	}()
	e.log.Info("entra emulator listening", "url", url)
	return nil
}

// Close stops serving.
func (e *Emulator) Close(ctx context.Context) error {
	e.closeOnce.Do(func() {
		e.mu.Lock()
		srv := e.server
		e.mu.Unlock()
		if srv != nil {
			e.closeError = errors.Join(srv.Shutdown(ctx), <-e.serveErr)
		}
	})
	return e.closeError
}

const managedIdentityPath = "/msi/token"

// routes maps the endpoints. Tenant routes take a tenant id or domain.
func (e *Emulator) routes() http.Handler {
	mux := http.NewServeMux()
	h := func(pattern string, ep Endpoint, fn http.HandlerFunc) { mux.HandleFunc(pattern, e.instrument(ep, fn)) }
	h("GET /{tenant}/v2.0/.well-known/openid-configuration", EndpointDiscovery, e.handleDiscovery)
	h("GET /{tenant}/.well-known/openid-configuration", EndpointDiscovery, e.handleDiscoveryV1)
	h("GET /{tenant}/discovery/v2.0/keys", EndpointKeys, e.handleKeys)
	h("GET /{tenant}/discovery/keys", EndpointKeys, e.handleKeys)
	h("GET /{tenant}/oauth2/v2.0/authorize", EndpointAuthorize, e.handleAuthorize)
	h("POST /{tenant}/oauth2/v2.0/authorize", EndpointAuthorize, e.handleSignIn)
	h("POST /{tenant}/oauth2/v2.0/token", EndpointToken, e.handleToken)
	h("GET /{tenant}/oauth2/v2.0/logout", EndpointLogout, e.handleLogout)
	h("GET "+managedIdentityPath, EndpointManagedIdentity, e.handleManagedIdentity)
	h("POST /{tenant}/dev/token", EndpointToken, e.handleDevToken)
	p := e.partnerPath()
	h("GET "+p+"/.well-known/openid-configuration", EndpointDiscovery, e.handlePartnerDiscovery)
	h("GET "+p+"/discovery/keys", EndpointKeys, e.handlePartnerKeys)
	h("POST "+p+"/dev/token", EndpointPartnerToken, e.handlePartnerToken)
	mux.HandleFunc("GET /error", e.handleErrorPage)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not an endpoint of the Entra ID emulator", http.StatusNotFound)
	})
	return securityHeaders(mux)
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// No HSTS: browsers would then force https on every localhost
		// port, including behalf's plain-http dev app.
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

func (e *Emulator) partnerPath() string {
	p := "/" + strings.Trim(e.cfg.Directory.PartnerIdP.Issuer, "/")
	if p == "/" {
		p = "/partner"
	}
	return p
}

// equalSecret compares secrets in constant time.
func equalSecret(a, b string) bool {
	return hmac.Equal([]byte(a), []byte(b))
}
