package databricks

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/behalf-dev/behalf/infra/devstack/databricks/govsql"
	"github.com/behalf-dev/behalf/infra/devstack/devca"
	"github.com/behalf-dev/behalf/infra/devstack/directory"
)

// Config configures the workspace emulator. Only Directory is required
// (and CA for Start).
type Config struct {
	// Directory holds the people, groups and service principals.
	Directory *directory.Directory
	// TenantID is the Entra tenant whose people are workspace users
	// (default: the directory's first tenant).
	TenantID string
	// TrustedIssuers are accepted directly as bearer tokens (see
	// EntraIssuers); FederationPolicies govern /oidc/v1/token exchanges
	// (see PartnerFederationPolicies).
	TrustedIssuers     []TrustedIssuer
	FederationPolicies []FederationPolicy
	// JWKSClient fetches signing keys and discovery documents (default:
	// CA.HTTPClient() when CA is set, else http.DefaultClient).
	JWKSClient *http.Client
	// CA issues the server certificate for Start.
	CA *devca.CA
	// Addr is where Start listens (default 127.0.0.1:0); Hosts are extra
	// names for the certificate.
	Addr  string
	Hosts []string
	// DataDir holds the SQLite database; empty uses a temporary directory
	// removed by Close.
	DataDir string
	// WorkspaceID is the numeric workspace id (default 1234567890123456).
	WorkspaceID string
	// TokenTTL is the lifetime of issued tokens (default 1 h; exchanged
	// tokens never outlive their subject token).
	TokenTTL time.Duration

	// Seed, DealCount and DataDate shape the demo data (defaults 42, 3000
	// and today). current_date() is DataDate plus the time since New.
	Seed      int64
	DealCount int
	DataDate  time.Time

	// Warehouses and GenieSpaces default to the demo ones.
	Warehouses  []Warehouse
	GenieSpaces []Space

	// GenieRateLimit is the workspace-wide question limit per
	// GenieRateWindow (defaults 5 per minute; negative disables it).
	GenieRateLimit  int
	GenieRateWindow time.Duration
	// GenieStepDelay is how long a message stays in each intermediate
	// status (default 300 ms).
	GenieStepDelay time.Duration
	// StatementDelays is the simulated time statements spend PENDING and
	// RUNNING before their SQL executes (default none).
	StatementDelays StatementDelays
	// ResultChunkRows is the number of rows per result chunk (default 5000).
	ResultChunkRows int
	// FaultSeed seeds the fault-injection dice (default 1).
	FaultSeed uint64

	Logger *slog.Logger
}

// Emulator is a running (or ready to run) workspace.
type Emulator struct {
	cfg        Config
	log        *slog.Logger
	engine     *govsql.Engine
	principals *principalSet
	tokens     *tokenIssuer
	keys       *keySets
	matcher    *matcher
	handler    http.Handler

	counters      *counterSet
	faults        *faultSet
	statements    *statementStore
	conversations *conversationStore
	genieLimiter  *rateLimiter

	knobs          sync.Mutex
	stmtDelays     StatementDelays
	genieBehaviour map[string]GenieBehaviour

	baseCtx    context.Context
	stop       context.CancelFunc
	wg         sync.WaitGroup
	tempDir    string
	mu         sync.Mutex
	url        string
	server     *http.Server
	serveErr   chan error
	closeOnce  sync.Once
	closeError error
}

// New builds the emulator and its demo data; it does not listen yet.
func New(cfg Config) (*Emulator, error) {
	if cfg.Directory == nil {
		return nil, errors.New("databricks: Config.Directory is required")
	}
	if err := applyDefaults(&cfg); err != nil {
		return nil, err
	}
	e := &Emulator{cfg: cfg, log: cfg.Logger, matcher: newMatcher(), counters: newCounterSet(),
		faults:        &faultSet{faults: map[Endpoint]*Fault{}},
		statements:    &statementStore{byID: map[string]*statement{}},
		conversations: &conversationStore{byID: map[string]*conversation{}, msgID: map[string]*message{}},
		genieLimiter:  &rateLimiter{}, stmtDelays: cfg.StatementDelays, genieBehaviour: map[string]GenieBehaviour{},
		keys: &keySets{client: cfg.JWKSClient, sets: map[string]*oidc.RemoteKeySet{}, jwks: map[string]string{}}}
	e.faults.rnd = newRand(cfg.FaultSeed)
	e.genieLimiter.set(cfg.GenieRateLimit, cfg.GenieRateWindow)
	e.principals = newPrincipalSet(cfg.Directory, cfg.TenantID)
	var err error
	if e.tokens, err = newTokenIssuer(); err != nil {
		return nil, err
	}
	dir := cfg.DataDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "databricks-emulator-"); err != nil {
			return nil, fmt.Errorf("databricks: data dir: %w", err)
		}
		e.tempDir = dir
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("databricks: data dir: %w", err)
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	start := time.Now()
	anchor := cfg.DataDate
	ctx := context.Background()
	// Each emulator gets its own database file: the demo data is generated,
	// not persisted state.
	e.engine, err = govsql.Open(ctx, govsql.Config{Path: filepath.Join(dir, "workspace-"+hex.EncodeToString(rnd[:])+".db"),
		Now: func() time.Time { return anchor.Add(time.Since(start)) }})
	if err != nil {
		e.cleanup()
		return nil, err
	}
	if err := seedDemo(ctx, e.engine, &e.cfg, e.auditWriter()); err != nil {
		e.cleanup()
		return nil, err
	}
	e.baseCtx, e.stop = context.WithCancel(context.Background())
	e.handler = e.routes()
	return e, nil
}

func applyDefaults(cfg *Config) error {
	if cfg.TenantID == "" && len(cfg.Directory.Tenants) > 0 {
		cfg.TenantID = cfg.Directory.Tenants[0].ID
	}
	if cfg.JWKSClient == nil {
		if cfg.CA != nil {
			cfg.JWKSClient = cfg.CA.HTTPClient()
		} else {
			cfg.JWKSClient = http.DefaultClient
		}
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.WorkspaceID == "" {
		cfg.WorkspaceID = "1234567890123456"
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = time.Hour
	}
	if cfg.Seed == 0 {
		cfg.Seed = 42
	}
	if cfg.DealCount <= 0 {
		cfg.DealCount = 3000
	}
	if cfg.DataDate.IsZero() {
		cfg.DataDate = time.Now().UTC()
	}
	if cfg.Warehouses == nil {
		cfg.Warehouses = demoWarehouses()
	}
	if cfg.GenieSpaces == nil {
		cfg.GenieSpaces = demoSpaces()
	}
	for _, sp := range cfg.GenieSpaces {
		if len(sp.Examples) == 0 {
			return fmt.Errorf("databricks: Genie space %s needs example questions", sp.ID)
		}
	}
	switch {
	case cfg.GenieRateLimit == 0:
		cfg.GenieRateLimit = 5
	case cfg.GenieRateLimit < 0:
		cfg.GenieRateLimit = 0
	}
	if cfg.GenieRateWindow <= 0 {
		cfg.GenieRateWindow = time.Minute
	}
	if cfg.GenieStepDelay <= 0 {
		cfg.GenieStepDelay = 300 * time.Millisecond
	}
	if cfg.ResultChunkRows <= 0 {
		cfg.ResultChunkRows = 5000
	}
	if cfg.FaultSeed == 0 {
		cfg.FaultSeed = 1
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return nil
}

// auditWriter is the application id of the behalf-audit-writer service
// principal, if the directory has it.
func (e *Emulator) auditWriter() string {
	for _, sp := range e.cfg.Directory.ServicePrincipals {
		if sp.DisplayName == "behalf-audit-writer" {
			return sp.ApplicationID
		}
	}
	return ""
}

// Handler is the workspace's HTTP handler (for callers that serve it
// themselves; tokens the workspace issues need Serve or Start first, since
// their issuer is the workspace URL).
func (e *Emulator) Handler() http.Handler { return e.handler }

// URL is the workspace URL (https://host:port), empty before Serve/Start.
func (e *Emulator) URL() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.url
}

// Start listens on Config.Addr and serves HTTPS in the background until
// Close.
func (e *Emulator) Start(ctx context.Context) error {
	if e.cfg.CA == nil {
		return errors.New("databricks: Start needs Config.CA")
	}
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", e.cfg.Addr)
	if err != nil {
		return fmt.Errorf("databricks: listen on %s: %w", e.cfg.Addr, err)
	}
	return e.Serve(l)
}

// Serve serves HTTPS on the plain TCP listener l, with a certificate from
// Config.CA, in the background until Close; it returns once serving has
// started. (To terminate TLS yourself, serve Handler instead.)
func (e *Emulator) Serve(l net.Listener) error {
	if e.cfg.CA == nil {
		l.Close()
		return errors.New("databricks: Serve needs Config.CA")
	}
	tlsCfg, err := e.cfg.CA.ServerTLS(e.cfg.Hosts...)
	if err != nil {
		l.Close()
		return err
	}
	return e.serve(tls.NewListener(l, tlsCfg), "https://"+l.Addr().String())
}

func (e *Emulator) serve(l net.Listener, url string) error {
	e.mu.Lock()
	if e.server != nil {
		e.mu.Unlock()
		l.Close()
		return errors.New("databricks: already serving")
	}
	e.url = url
	e.server = &http.Server{Handler: e.handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(e.log.Handler(), slog.LevelWarn)}
	e.serveErr = make(chan error, 1)
	srv := e.server
	e.mu.Unlock()
	go func() {
		err := srv.Serve(l)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		e.serveErr <- err
	}()
	e.log.Info("databricks workspace emulator listening", "url", url)
	return nil
}

// Close stops serving, cancels running statements and Genie messages, and
// removes temporary data.
func (e *Emulator) Close(ctx context.Context) error {
	e.closeOnce.Do(func() {
		var errs []error
		e.mu.Lock()
		srv := e.server
		e.mu.Unlock()
		if srv != nil {
			errs = append(errs, srv.Shutdown(ctx))
			errs = append(errs, <-e.serveErr)
		}
		e.stop()
		e.wg.Wait()
		errs = append(errs, e.cleanup())
		e.closeError = errors.Join(errs...)
	})
	return e.closeError
}

func (e *Emulator) cleanup() error {
	var errs []error
	if e.engine != nil {
		errs = append(errs, e.engine.Close())
	}
	if e.tempDir != "" {
		errs = append(errs, os.RemoveAll(e.tempDir))
	}
	return errors.Join(errs...)
}

// routes maps the API.
func (e *Emulator) routes() http.Handler {
	mux := http.NewServeMux()
	api := func(pattern string, ep Endpoint, h func(http.ResponseWriter, *http.Request, *Principal)) {
		mux.HandleFunc(pattern, e.instrument(ep, e.authed(h)))
	}
	api("POST /api/2.0/sql/statements", EndpointExecuteStatement, e.handleExecuteStatement)
	api("GET /api/2.0/sql/statements/{statement_id}", EndpointGetStatement, e.handleGetStatement)
	api("POST /api/2.0/sql/statements/{statement_id}/cancel", EndpointCancelStatement, e.handleCancelStatement)
	api("GET /api/2.0/sql/statements/{statement_id}/result/chunks/{chunk_index}", EndpointResultChunk, e.handleResultChunk)
	api("GET /api/2.0/sql/warehouses", EndpointWarehouses, e.handleListWarehouses)
	api("GET /api/2.0/sql/warehouses/{id}", EndpointWarehouses, e.handleGetWarehouse)

	const conv = "/api/2.0/genie/spaces/{space_id}/conversations/{conversation_id}"
	const msg = conv + "/messages/{message_id}"
	api("GET /api/2.0/genie/spaces", EndpointGenieOther, e.handleListSpaces)
	api("GET /api/2.0/genie/spaces/{space_id}", EndpointGenieOther, e.handleGetSpace)
	api("POST /api/2.0/genie/spaces/{space_id}/start-conversation", EndpointGenieStart, e.handleStartConversation)
	api("GET /api/2.0/genie/spaces/{space_id}/conversations", EndpointGenieOther, e.handleListConversations)
	api("DELETE "+conv, EndpointGenieOther, e.handleDeleteConversation)
	api("POST "+conv+"/messages", EndpointGenieMessage, e.handleCreateMessage)
	api("GET "+conv+"/messages", EndpointGenieOther, e.handleListMessages)
	api("GET "+msg, EndpointGenieGetMessage, e.handleGetMessage)
	api("GET "+msg+"/attachments/{attachment_id}/query-result", EndpointGenieQueryResult, e.handleQueryResult)
	api("GET "+msg+"/query-result/{attachment_id}", EndpointGenieQueryResult, e.handleQueryResult)
	api("GET "+msg+"/query-result", EndpointGenieQueryResult, e.handleQueryResult)
	api("POST "+msg+"/attachments/{attachment_id}/execute-query", EndpointGenieExecute, e.handleExecuteQuery)
	api("POST "+msg+"/execute-query", EndpointGenieExecute, e.handleExecuteQuery)
	api("POST "+msg+"/feedback", EndpointGenieOther, e.handleFeedback)

	api("GET /api/2.0/preview/scim/v2/Me", EndpointSCIMMe, e.handleMe)
	e.fileRoutes(api)

	mux.HandleFunc("POST /oidc/v1/token", e.instrument(EndpointOIDCToken, e.handleToken))
	mux.HandleFunc("GET /oidc/.well-known/oauth-authorization-server", e.instrument(EndpointDiscovery, e.handleOAuthDiscovery))
	mux.HandleFunc("GET /oidc/v1/keys", e.instrument(EndpointDiscovery, e.handleJWKS))
	mux.HandleFunc("GET /.well-known/databricks-config", e.instrument(EndpointDiscovery, e.handleHostMetadata))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		e.writeError(w, r, errNotFound("No API found for '"+r.Method+" "+r.URL.Path+"'."))
	})
	return withRequestID(mux)
}

func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}
