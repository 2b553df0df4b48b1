package teams

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The webhook URL's credential, as Power Automate puts it in sig=, plus a
// workflow id in the path. Neither may ever show in an error or a log.
const (
	testSig      = "Xq7Vb1S3cr3tSigValueNeverLogged_0123456789ab"
	testWorkflow = "4f6c0e1a9b2d4c8e8f0a1b2c3d4e5f60"
)

func hookURL(base string) string {
	return base + "/powerautomate/automations/direct/workflows/" + testWorkflow +
		"/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=" + testSig
}

// harness is a webhook server whose answers the test scripts, with a
// notifier that records its sleeps instead of sleeping and logs to a
// buffer.
type harness struct {
	t      *testing.T
	srv    *httptest.Server
	n      *Notifier
	logs   *bytes.Buffer
	hits   atomic.Int32
	mu     sync.Mutex
	bodies [][]byte
	sleeps []time.Duration
}

func newHarness(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request), edit func(*NotifierConfig)) *harness {
	t.Helper()
	h := &harness{t: t, logs: &bytes.Buffer{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(h.hits.Add(1))
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.bodies = append(h.bodies, b)
		h.mu.Unlock()
		answer(n, w, r)
	}))
	t.Cleanup(h.srv.Close)
	cfg := NotifierConfig{
		WebhookURL:  hookURL(h.srv.URL),
		MaxAttempts: 4,
		MaxElapsed:  time.Minute,
		BaseDelay:   time.Second,
		MaxDelay:    8 * time.Second,
		MinInterval: -1,
		Logger:      slog.New(slog.NewJSONHandler(&syncWriter{w: h.logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Sleep: func(ctx context.Context, d time.Duration) error {
			h.mu.Lock()
			h.sleeps = append(h.sleeps, d)
			h.mu.Unlock()
			return ctx.Err()
		},
	}
	if edit != nil {
		edit(&cfg)
	}
	n, err := NewNotifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.n = n
	return h
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// noSecret fails the test if the credential shows anywhere.
func (h *harness) noSecret(err error) {
	h.t.Helper()
	for what, s := range map[string]string{
		"error":    fmt.Sprint(err),
		"logs":     h.logs.String(),
		"notifier": fmt.Sprintf("%v %+v %#v %s", h.n, h.n, h.n, h.n),
	} {
		if strings.Contains(s, testSig) || strings.Contains(s, testWorkflow) || strings.Contains(s, "sig=") {
			h.t.Errorf("the webhook credential leaked into the %s: %s", what, s)
		}
	}
}

func status(codes ...int) func(int, http.ResponseWriter, *http.Request) {
	return func(n int, w http.ResponseWriter, r *http.Request) {
		code := codes[min(n, len(codes))-1]
		w.WriteHeader(code)
	}
}

func TestPostSuccess(t *testing.T) {
	var gotType string
	h := newHarness(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		gotType = r.Header.Get("Content-Type")
		if r.Method != http.MethodPost || r.URL.Query().Get("sig") != testSig {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}, nil)
	card := ProposalCard(baseProposal())
	if err := h.n.Post(context.Background(), card); err != nil {
		t.Fatal(err)
	}
	want, _ := Envelope(card)
	if h.hits.Load() != 1 || !bytes.Equal(h.bodies[0], want) || gotType != "application/json" {
		t.Errorf("hits %d, content type %q, body matches %v", h.hits.Load(), gotType, bytes.Equal(h.bodies[0], want))
	}
	if len(h.sleeps) != 0 {
		t.Errorf("slept %v on success", h.sleeps)
	}
	h.noSecret(nil)
}

func TestPostRetries(t *testing.T) {
	tests := []struct {
		name       string
		answer     func(int, http.ResponseWriter, *http.Request)
		hits       int
		minSleeps  []time.Duration // each sleep must be at least this
		maxSleeps  []time.Duration // and at most this
		retryAfter bool
	}{
		{
			name: "429 with Retry-After seconds",
			answer: func(n int, w http.ResponseWriter, _ *http.Request) {
				if n == 1 {
					w.Header().Set("Retry-After", "6")
					w.WriteHeader(http.StatusTooManyRequests)
					return
				}
				w.WriteHeader(http.StatusAccepted)
			},
			hits: 2, minSleeps: []time.Duration{6 * time.Second}, maxSleeps: []time.Duration{6 * time.Second},
		},
		{
			name: "429 with Retry-After date",
			answer: func(n int, w http.ResponseWriter, _ *http.Request) {
				if n == 1 {
					w.Header().Set("Retry-After", time.Now().Add(20*time.Second).UTC().Format(http.TimeFormat))
					w.WriteHeader(http.StatusTooManyRequests)
					return
				}
				w.WriteHeader(http.StatusAccepted)
			},
			hits: 2, minSleeps: []time.Duration{15 * time.Second}, maxSleeps: []time.Duration{21 * time.Second},
		},
		{
			name:      "503 twice, exponential backoff with jitter",
			answer:    status(503, 503, 202),
			hits:      3,
			minSleeps: []time.Duration{500 * time.Millisecond, time.Second},
			maxSleeps: []time.Duration{time.Second, 2 * time.Second},
		},
		{
			name:      "412, 500, 502 then 200",
			answer:    status(412, 500, 502, 200),
			hits:      4,
			minSleeps: []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second},
			maxSleeps: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second},
		},
		{
			name:      "504 then 202",
			answer:    status(504, 202),
			hits:      2,
			minSleeps: []time.Duration{500 * time.Millisecond},
			maxSleeps: []time.Duration{time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.answer, nil)
			if err := h.n.Post(context.Background(), ProposalCard(baseProposal())); err != nil {
				t.Fatalf("Post: %v", err)
			}
			if int(h.hits.Load()) != tt.hits {
				t.Errorf("%d requests, want %d", h.hits.Load(), tt.hits)
			}
			if len(h.sleeps) != len(tt.minSleeps) {
				t.Fatalf("sleeps %v, want %d", h.sleeps, len(tt.minSleeps))
			}
			for i, d := range h.sleeps {
				if d < tt.minSleeps[i] || d > tt.maxSleeps[i] {
					t.Errorf("sleep %d = %s, want within [%s, %s]", i, d, tt.minSleeps[i], tt.maxSleeps[i])
				}
			}
			if !strings.Contains(h.logs.String(), "retrying") {
				t.Error("retries are not logged")
			}
			h.noSecret(nil)
		})
	}
}

func TestPostGivesUp(t *testing.T) {
	t.Run("after MaxAttempts", func(t *testing.T) {
		h := newHarness(t, status(503), nil)
		err := h.n.Post(context.Background(), ProposalCard(baseProposal()))
		var pe *PostError
		if !errors.As(err, &pe) || !errors.Is(err, ErrWebhookUnavailable) || !pe.Retryable() {
			t.Fatalf("err = %v, want a retryable *PostError", err)
		}
		if pe.Attempts != 4 || pe.StatusCode != 503 || h.hits.Load() != 4 || len(h.sleeps) != 3 {
			t.Errorf("attempts %d, status %d, hits %d, sleeps %v", pe.Attempts, pe.StatusCode, h.hits.Load(), h.sleeps)
		}
		if !strings.Contains(err.Error(), "after 4 attempts: HTTP 503 Service Unavailable") {
			t.Errorf("error = %q", err)
		}
		h.noSecret(err)
	})
	t.Run("Retry-After past MaxElapsed", func(t *testing.T) {
		h := newHarness(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
		}, func(c *NotifierConfig) { c.MaxElapsed = 10 * time.Second })
		err := h.n.Post(context.Background(), ProposalCard(baseProposal()))
		if !errors.Is(err, ErrWebhookUnavailable) || h.hits.Load() != 1 || len(h.sleeps) != 0 {
			t.Fatalf("err %v, hits %d, sleeps %v", err, h.hits.Load(), h.sleeps)
		}
		if !strings.Contains(err.Error(), "would pass the time limit") {
			t.Errorf("error = %q", err)
		}
		h.noSecret(err)
	})
	t.Run("network errors", func(t *testing.T) {
		h := newHarness(t, status(202), nil)
		h.srv.Close()
		err := h.n.Post(context.Background(), ProposalCard(baseProposal()))
		var pe *PostError
		if !errors.As(err, &pe) || !errors.Is(err, ErrWebhookUnavailable) || pe.Attempts != 4 || pe.StatusCode != 0 {
			t.Fatalf("err = %v", err)
		}
		if !strings.Contains(err.Error(), "connect") {
			t.Errorf("error does not say what happened: %q", err)
		}
		h.noSecret(err)
	})
	t.Run("context cancelled while waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		h := newHarness(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
			cancel()
			w.WriteHeader(http.StatusServiceUnavailable)
		}, nil)
		err := h.n.Post(ctx, ProposalCard(baseProposal()))
		if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrWebhookUnavailable) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if h.hits.Load() != 1 {
			t.Errorf("%d requests after cancel", h.hits.Load())
		}
		h.noSecret(err)
	})
}

func TestPostNoRetry(t *testing.T) {
	tests := []struct {
		code int
		want string
	}{
		{400, "HTTP 400 Bad Request: the flow refused the message"},
		{401, "HTTP 401 Unauthorized: the webhook refused the caller"},
		{403, "HTTP 403 Forbidden: the webhook refused the caller"},
		{404, "HTTP 404 Not Found: no such flow or trigger"},
		{413, "HTTP 413 Request Entity Too Large: the message is too large"},
		{302, "HTTP 302 Found: the webhook answered with a redirect"},
		{409, "HTTP 409 Conflict: unexpected answer"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.code), func(t *testing.T) {
			h := newHarness(t, func(_ int, w http.ResponseWriter, r *http.Request) {
				if tt.code == 302 {
					w.Header().Set("Location", "http://127.0.0.1:1/elsewhere")
				}
				w.WriteHeader(tt.code)
				// A server that echoes the request: the secret must be scrubbed.
				fmt.Fprintf(w, `{"error":{"code":"X","message":"bad request to %s (sig %s)"}}`, r.URL.String(), r.URL.Query().Get("sig"))
			}, nil)
			err := h.n.Post(context.Background(), ProposalCard(baseProposal()))
			var pe *PostError
			if !errors.As(err, &pe) || !errors.Is(err, ErrWebhookRejected) || pe.Retryable() {
				t.Fatalf("err = %v, want ErrWebhookRejected", err)
			}
			if h.hits.Load() != 1 || len(h.sleeps) != 0 || pe.Attempts != 1 || pe.StatusCode != tt.code {
				t.Errorf("hits %d, sleeps %v, attempts %d, status %d", h.hits.Load(), h.sleeps, pe.Attempts, pe.StatusCode)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "[REDACTED]") {
				t.Errorf("error = %q, want %q and a redacted echo", err, tt.want)
			}
			if !strings.Contains(err.Error(), "127.0.0.1") {
				t.Errorf("error does not name the host: %q", err)
			}
			h.noSecret(err)
		})
	}
}

func TestPostInvalidCardSendsNothing(t *testing.T) {
	h := newHarness(t, status(202), nil)
	err := h.n.Post(context.Background(), ProposalCard(Proposal{}))
	if !errors.Is(err, ErrInvalidCard) || h.hits.Load() != 0 {
		t.Fatalf("err %v, hits %d", err, h.hits.Load())
	}
}

func TestPostTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) }))
	defer srv.Close()
	var logs bytes.Buffer
	cfg := NotifierConfig{WebhookURL: hookURL(srv.URL), MinInterval: -1, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Sleep: func(context.Context, time.Duration) error {
			t.Error("slept: a certificate error is not retried")
			return nil
		}}
	// Not trusting the test server's certificate: fail at once, no retry.
	n, err := NewNotifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = n.Post(context.Background(), ProposalCard(baseProposal()))
	if !errors.Is(err, ErrWebhookRejected) || !strings.Contains(err.Error(), "TLS certificate not trusted") || strings.Contains(err.Error(), testSig) {
		t.Fatalf("err = %v", err)
	}
	// Trusting it: delivered.
	cfg.HTTPClient = srv.Client()
	if n, err = NewNotifier(cfg); err != nil {
		t.Fatal(err)
	}
	if err := n.Post(context.Background(), ProposalCard(baseProposal())); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), testSig) {
		t.Errorf("secret in logs: %s", logs.String())
	}
}

func TestPacing(t *testing.T) {
	var mu sync.Mutex
	var starts []time.Time
	h := newHarness(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		starts = append(starts, time.Now())
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}, func(c *NotifierConfig) { c.MinInterval = 50 * time.Millisecond })
	for range 3 {
		if err := h.n.Post(context.Background(), ProposalCard(baseProposal())); err != nil {
			t.Fatal(err)
		}
	}
	// Requests never start closer together than MinInterval (a lower bound
	// the timer guarantees, not a speed assertion).
	for i := 1; i < len(starts); i++ {
		if gap := starts[i].Sub(starts[i-1]); gap < 45*time.Millisecond {
			t.Errorf("requests %d and %d only %s apart", i-1, i, gap)
		}
	}
}

func TestNewNotifierConfig(t *testing.T) {
	good := "https://prod-1.westeurope.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/" + testWorkflow +
		"/triggers/manual/paths/invoke?api-version=1&sv=1.0&sig=" + testSig
	tests := []struct {
		name string
		cfg  NotifierConfig
		want error
	}{
		{"https", NotifierConfig{WebhookURL: good}, nil},
		{"loopback http", NotifierConfig{WebhookURL: "http://127.0.0.1:7099/hook?sig=" + testSig}, nil},
		{"localhost http", NotifierConfig{WebhookURL: "http://localhost:7099/hook?sig=" + testSig}, nil},
		{"ipv6 loopback http", NotifierConfig{WebhookURL: "http://[::1]:7099/hook?sig=" + testSig}, nil},
		{"empty", NotifierConfig{}, ErrInvalidWebhookURL},
		{"remote http", NotifierConfig{WebhookURL: strings.Replace(good, "https://", "http://", 1)}, ErrInvalidWebhookURL},
		{"localhost lookalike", NotifierConfig{WebhookURL: "http://localhost.evil.example/hook?sig=" + testSig}, ErrInvalidWebhookURL},
		{"ftp", NotifierConfig{WebhookURL: "ftp://host/x?sig=" + testSig}, ErrInvalidWebhookURL},
		{"user info", NotifierConfig{WebhookURL: "https://user:" + testSig + "@host/x"}, ErrInvalidWebhookURL},
		{"fragment", NotifierConfig{WebhookURL: good + "#frag"}, ErrInvalidWebhookURL},
		{"relative", NotifierConfig{WebhookURL: "/hook?sig=" + testSig}, ErrInvalidWebhookURL},
		{"unparsable", NotifierConfig{WebhookURL: "https://ho st/%zz?sig=" + testSig}, ErrInvalidWebhookURL},
		{"too long", NotifierConfig{WebhookURL: good + "&pad=" + strings.Repeat("a", maxWebhookURLBytes)}, ErrInvalidWebhookURL},
		{"attempts", NotifierConfig{WebhookURL: good, MaxAttempts: 21}, errAny},
		{"negative attempts", NotifierConfig{WebhookURL: good, MaxAttempts: -1}, errAny},
		{"elapsed", NotifierConfig{WebhookURL: good, MaxElapsed: time.Hour}, errAny},
		{"delays", NotifierConfig{WebhookURL: good, BaseDelay: 10 * time.Second, MaxDelay: time.Second}, errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := NewNotifier(tt.cfg)
			switch {
			case tt.want == nil && err != nil:
				t.Fatalf("err = %v", err)
			case tt.want == nil:
				if s := fmt.Sprintf("%v %#v", n, n); strings.Contains(s, testSig) {
					t.Errorf("notifier prints its secret: %s", s)
				}
			case err == nil:
				t.Fatalf("accepted %s", tt.name)
			case tt.want != errAny && !errors.Is(err, tt.want):
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if err != nil && (strings.Contains(err.Error(), testSig) || strings.Contains(err.Error(), testWorkflow)) {
				t.Errorf("error repeats the URL: %v", err)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestRedactWebhookURL(t *testing.T) {
	got := RedactWebhookURL(hookURL("https://prod-1.example.com"))
	if got != "https://prod-1.example.com/[REDACTED]" {
		t.Errorf("RedactWebhookURL = %q", got)
	}
	if got := RedactWebhookURL("::"); got != "(invalid URL)" {
		t.Errorf("RedactWebhookURL(bad) = %q", got)
	}
}
