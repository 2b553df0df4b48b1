package teams

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Defaults and bounds.
const (
	// DefaultMaxBodyBytes is Teams' message limit (as shared/teams counts it).
	DefaultMaxBodyBytes = 28000
	DefaultMaxCards     = 200
	DefaultMaxFileBytes = 32 << 20
	// WorkflowID is the workflow id in the recorder's trigger path.
	WorkflowID = "00000000000000000000000000000dev"
	// JSONLName is the file cards are appended to in DataDir.
	JSONLName = "teams-cards.jsonl"

	maxLatency = time.Minute
)

// webhookPath mirrors a Power Platform Workflows trigger URL.
const webhookPath = "/powerautomate/automations/direct/workflows/" + WorkflowID + "/triggers/manual/paths/invoke"

// RecorderConfig configures a Recorder. Every field is optional.
type RecorderConfig struct {
	// Addr is where Start listens (default 127.0.0.1:0). Use a loopback
	// address: the notifier accepts plain http only there.
	Addr string
	// Signature is the sig= value the webhook URL carries and every post
	// must present (default: random per recorder).
	Signature string
	// MaxCards bounds the cards kept in memory; the oldest are dropped
	// (default 200, at most 100000).
	MaxCards int
	// MaxBodyBytes is the largest accepted body (default 28,000, Teams'
	// limit); larger posts get 413.
	MaxBodyBytes int
	// DataDir, if set, receives teams-cards.jsonl, one RecordedCard per
	// line, appended until it reaches MaxFileBytes (default 32 MiB).
	DataDir      string
	MaxFileBytes int64
	// Logger (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock for ReceivedAt (default time.Now).
	Now func() time.Time
}

// Recorder records the cards posted to its webhook. It is an http.Handler;
// Start serves it on its own listener.
type Recorder struct {
	cfg  RecorderConfig
	log  *slog.Logger
	sig  string
	page http.Handler

	mu        sync.Mutex
	cards     []RecordedCard
	seq       int
	dropped   int
	attempts  int
	file      *os.File
	fileBytes int64
	fileFull  bool
	failNext  int
	failCode  int
	failAfter time.Duration
	latency   time.Duration

	srvMu  sync.Mutex
	server *http.Server
	url    string
	done   chan error
}

// NewRecorder checks cfg and, with a DataDir, opens the JSON Lines file.
func NewRecorder(cfg RecorderConfig) (*Recorder, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	switch {
	case cfg.MaxCards == 0:
		cfg.MaxCards = DefaultMaxCards
	case cfg.MaxCards < 0 || cfg.MaxCards > 100000:
		return nil, fmt.Errorf("teams recorder: MaxCards must be 1..100000, got %d", cfg.MaxCards)
	}
	switch {
	case cfg.MaxBodyBytes == 0:
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	case cfg.MaxBodyBytes < 0 || cfg.MaxBodyBytes > 10<<20:
		return nil, fmt.Errorf("teams recorder: MaxBodyBytes must be 1..10 MiB, got %d", cfg.MaxBodyBytes)
	}
	if cfg.MaxFileBytes == 0 {
		cfg.MaxFileBytes = DefaultMaxFileBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &Recorder{cfg: cfg, log: cfg.Logger, sig: cfg.Signature}
	if r.sig == "" {
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("teams recorder: %w", err)
		}
		r.sig = hex.EncodeToString(b)
	}
	if cfg.DataDir != "" {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("teams recorder: %w", err)
		}
		f, err := os.OpenFile(filepath.Join(cfg.DataDir, JSONLName), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, fmt.Errorf("teams recorder: %w", err)
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("teams recorder: %w", err)
		}
		r.file, r.fileBytes = f, st.Size()
	}
	r.page = pageHandler(r)
	return r, nil
}

// Start listens on Config.Addr and serves in the background until Close.
func (r *Recorder) Start(ctx context.Context) error {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", r.cfg.Addr)
	if err != nil {
		return fmt.Errorf("teams recorder: listen on %s: %w", r.cfg.Addr, err)
	}
	r.srvMu.Lock()
	defer r.srvMu.Unlock()
	if r.server != nil {
		l.Close()
		return errors.New("teams recorder: already started")
	}
	r.server = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	r.url = "http://" + l.Addr().String()
	r.done = make(chan error, 1)
	go func() {
		err := r.server.Serve(l)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		r.done <- err
	}()
	return nil
}

// URL is the webhook URL to configure in behalf (BEHALF_TEAMS_WEBHOOK_URL),
// once started. It carries the sig= credential.
func (r *Recorder) URL() string {
	r.srvMu.Lock()
	defer r.srvMu.Unlock()
	if r.url == "" {
		return ""
	}
	return r.WebhookURL(r.url)
}

// PageURL is the HTML page listing recorded cards, once started.
func (r *Recorder) PageURL() string {
	r.srvMu.Lock()
	defer r.srvMu.Unlock()
	if r.url == "" {
		return ""
	}
	return r.url + "/"
}

// WebhookURL is the webhook URL when the recorder is served at base (for
// mounting ServeHTTP on another server).
func (r *Recorder) WebhookURL(base string) string {
	q := url.Values{"api-version": {"1"}, "sp": {"/triggers/manual/run"}, "sv": {"1.0"}, "sig": {r.sig}}
	return base + webhookPath + "?" + q.Encode()
}

// Close stops the server (if started) and closes the file.
func (r *Recorder) Close(ctx context.Context) error {
	var errs []error
	r.srvMu.Lock()
	srv, done := r.server, r.done
	r.server = nil
	r.srvMu.Unlock()
	if srv != nil {
		errs = append(errs, srv.Shutdown(ctx), <-done)
	}
	r.mu.Lock()
	if r.file != nil {
		errs = append(errs, r.file.Close())
		r.file = nil
	}
	r.mu.Unlock()
	return errors.Join(errs...)
}

// Cards returns the recorded cards, oldest first.
func (r *Recorder) Cards() []RecordedCard {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]RecordedCard(nil), r.cards...)
}

// Attempts is how many posts reached the webhook with a valid signature,
// including failed and faulted ones.
func (r *Recorder) Attempts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.attempts
}

// FailNext makes the next n posts fail with status (e.g. 429, 503, 400)
// before they are read; retryAfter, if positive, is sent as Retry-After
// (whole seconds, rounded up).
func (r *Recorder) FailNext(n, status int, retryAfter time.Duration) {
	if status < 400 || status > 599 {
		status = http.StatusServiceUnavailable
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failNext, r.failCode, r.failAfter = max(n, 0), status, retryAfter
}

// SetLatency delays every webhook answer by d (at most a minute; the
// request's context still ends it).
func (r *Recorder) SetLatency(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.latency = min(max(d, 0), maxLatency)
}

// Reset forgets recorded cards, attempts and faults (not the file).
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cards, r.dropped, r.attempts, r.failNext, r.latency = nil, 0, 0, 0, 0
}

// ServeHTTP serves the webhook, the page (/) and /cards.json.
func (r *Recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	switch req.URL.Path {
	case webhookPath:
		r.webhook(w, req)
	case "/", "/cards.json":
		r.page.ServeHTTP(w, req)
	default:
		apiError(w, http.StatusNotFound, "TriggerNotFound", "no workflow trigger at this path")
	}
}

func (r *Recorder) webhook(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		apiError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "the trigger accepts POST only")
		return
	}
	q := req.URL.Query()
	if q.Get("api-version") == "" {
		apiError(w, http.StatusBadRequest, "MissingApiVersionParameter", "the api-version query parameter is required")
		return
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("sig")), []byte(r.sig)) != 1 {
		apiError(w, http.StatusUnauthorized, "DirectApiAuthorizationRequired", "the request signature is missing or invalid")
		return
	}

	r.mu.Lock()
	r.attempts++
	latency := r.latency
	fail, code, after := r.failNext > 0, r.failCode, r.failAfter
	if fail {
		r.failNext--
	}
	r.mu.Unlock()

	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-req.Context().Done():
			t.Stop()
			return
		}
	}
	if fail {
		if after > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((after+time.Second-1)/time.Second)))
		}
		apiError(w, code, "InjectedFault", "fault injected by the dev recorder")
		return
	}

	if ct := req.Header.Get("Content-Type"); !isJSON(ct) {
		apiError(w, http.StatusUnsupportedMediaType, "UnsupportedMediaType", "the body must be application/json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, int64(r.cfg.MaxBodyBytes)))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			apiError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
				fmt.Sprintf("the message is over %d bytes; Teams refuses messages over about 28 KB", r.cfg.MaxBodyBytes))
			return
		}
		apiError(w, http.StatusBadRequest, "InvalidRequestContent", "the body could not be read")
		return
	}
	cards, err := parseEnvelope(body)
	if err != nil {
		apiError(w, http.StatusBadRequest, "InvalidRequestContent", err.Error())
		return
	}
	r.record(cards)
	w.WriteHeader(http.StatusAccepted)
}

func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// record stores the cards and appends them to the file.
func (r *Recorder) record(cards []RecordedCard) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.cfg.Now().UTC()
	for _, c := range cards {
		r.seq++
		c.Seq, c.ReceivedAt = r.seq, now
		r.cards = append(r.cards, c)
		if over := len(r.cards) - r.cfg.MaxCards; over > 0 {
			r.cards = append([]RecordedCard(nil), r.cards[over:]...)
			r.dropped += over
		}
		r.log.Info("teams recorder: card received", "seq", c.Seq, "title", c.Title)
		r.appendLine(c)
	}
}

func (r *Recorder) appendLine(c RecordedCard) {
	if r.file == nil || r.fileFull {
		return
	}
	line, err := json.Marshal(c)
	if err != nil {
		r.log.Warn("teams recorder: encoding a card for the file failed", "err", err)
		return
	}
	line = append(line, '\n')
	if r.fileBytes+int64(len(line)) > r.cfg.MaxFileBytes {
		r.fileFull = true
		r.log.Warn("teams recorder: card file is full; later cards are kept in memory only", "file", r.file.Name(), "max_bytes", r.cfg.MaxFileBytes)
		return
	}
	n, err := r.file.Write(line)
	r.fileBytes += int64(n)
	if err != nil {
		r.log.Warn("teams recorder: writing the card file failed", "err", err)
	}
}

// apiError answers like Power Platform does: {"error":{"code","message"}}.
func apiError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": message}})
}
