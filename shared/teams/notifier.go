package teams

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
	"unicode"
)

// Notifier defaults and bounds.
const (
	DefaultMaxAttempts = 5
	DefaultMaxElapsed  = 20 * time.Second
	DefaultBaseDelay   = time.Second
	DefaultMaxDelay    = 8 * time.Second
	// DefaultMinInterval spaces requests at 4 per second, the documented
	// throttling threshold of Teams webhooks.
	DefaultMinInterval = 250 * time.Millisecond

	maxAttemptsLimit = 20
	maxElapsedLimit  = 10 * time.Minute
	attemptTimeout   = 15 * time.Second
	maxDetailBytes   = 300
)

// NotifierConfig configures a Notifier. Only WebhookURL is required.
type NotifierConfig struct {
	// WebhookURL is the Workflows trigger URL, a credential (its sig=
	// parameter). https only; http only on 127.0.0.1/localhost (the dev
	// recorder).
	WebhookURL string
	// HTTPClient sends the requests (default: a client with a 15 s
	// timeout). Redirects are never followed: a webhook does not redirect,
	// and following one would hand the message to another host.
	HTTPClient *http.Client
	// MaxAttempts bounds the attempts per post (default 5, at most 20).
	MaxAttempts int
	// MaxElapsed bounds the time one post may take, retries included
	// (default 20 s, at most 10 min); ctx may end it sooner. Posts usually
	// run in a request path (sql-propose answers after trying), so the
	// default favours a prompt answer over waiting out long throttling.
	MaxElapsed time.Duration
	// BaseDelay and MaxDelay shape the exponential backoff: attempt n
	// waits a random time between half and all of min(MaxDelay,
	// BaseDelay·2ⁿ⁻¹), or longer if the server says so in Retry-After
	// (defaults 1 s and 8 s).
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// MinInterval is the least time between two requests of this notifier
	// (default 250 ms; negative: no pacing).
	MinInterval time.Duration
	// Logger gets a warning for every retry (default slog.Default()).
	Logger *slog.Logger
	// Sleep waits between attempts (tests replace it); it must return
	// ctx.Err() when ctx ends first.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Notifier posts cards to one Teams Workflows webhook.
type Notifier struct {
	url         *webhookURL
	client      *http.Client
	maxAttempts int
	maxElapsed  time.Duration
	baseDelay   time.Duration
	maxDelay    time.Duration
	minInterval time.Duration
	log         *slog.Logger
	sleep       func(ctx context.Context, d time.Duration) error

	mu   sync.Mutex
	next time.Time // earliest start of the next request (pacing)
}

// NewNotifier checks the configuration and returns a Notifier.
func NewNotifier(cfg NotifierConfig) (*Notifier, error) {
	u, err := parseWebhookURL(cfg.WebhookURL)
	if err != nil {
		return nil, err
	}
	n := &Notifier{
		url:         u,
		maxAttempts: cfg.MaxAttempts,
		maxElapsed:  cfg.MaxElapsed,
		baseDelay:   cfg.BaseDelay,
		maxDelay:    cfg.MaxDelay,
		minInterval: cfg.MinInterval,
		log:         cfg.Logger,
		sleep:       cfg.Sleep,
	}
	switch {
	case n.maxAttempts == 0:
		n.maxAttempts = DefaultMaxAttempts
	case n.maxAttempts < 0 || n.maxAttempts > maxAttemptsLimit:
		return nil, fmt.Errorf("teams: MaxAttempts must be between 1 and %d, got %d", maxAttemptsLimit, cfg.MaxAttempts)
	}
	switch {
	case n.maxElapsed == 0:
		n.maxElapsed = DefaultMaxElapsed
	case n.maxElapsed < 0 || n.maxElapsed > maxElapsedLimit:
		return nil, fmt.Errorf("teams: MaxElapsed must be between 0 and %s, got %s", maxElapsedLimit, cfg.MaxElapsed)
	}
	if n.baseDelay == 0 {
		n.baseDelay = DefaultBaseDelay
	}
	if n.maxDelay == 0 {
		n.maxDelay = DefaultMaxDelay
	}
	if n.baseDelay < 0 || n.maxDelay < n.baseDelay {
		return nil, fmt.Errorf("teams: need 0 < BaseDelay <= MaxDelay, got %s and %s", n.baseDelay, n.maxDelay)
	}
	if n.minInterval == 0 {
		n.minInterval = DefaultMinInterval
	}
	if n.log == nil {
		n.log = slog.Default()
	}
	if n.sleep == nil {
		n.sleep = sleepCtx
	}
	base := cfg.HTTPClient
	if base == nil {
		base = &http.Client{Timeout: attemptTimeout}
	}
	c := *base
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	n.client = &c
	return n, nil
}

// String names the webhook's host only, so printing a Notifier (or a
// struct holding one) never prints the credential.
func (n *Notifier) String() string { return "teams.Notifier(" + n.url.host + ")" }

// GoString is String, for %#v.
func (n *Notifier) GoString() string { return n.String() }

// Post sends one card. It retries 429, 412, 500, 502, 503, 504 and
// network errors with exponential backoff and jitter, honouring
// Retry-After, until MaxAttempts, MaxElapsed or ctx end it. Other
// answers fail at once. A 2xx means the trigger accepted the message;
// the flow runs later, and its failures show only in the flow's run
// history.
//
// Errors: ErrInvalidCard or *TooLargeError before anything is sent;
// otherwise a *PostError, which matches ErrWebhookRejected (the webhook
// refused the message; retrying will not help) or ErrWebhookUnavailable
// (it could not be delivered in time), and the context's error when ctx
// ended it. No error mentions more of the URL than its host. A failed
// notification is the caller's to report (in its response and the audit
// trail); it must never undo or block the operation it is about.
func (n *Notifier) Post(ctx context.Context, card Card) error {
	body, err := Envelope(card)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, n.maxElapsed)
	defer cancel()
	for attempt := 1; ; attempt++ {
		if err := n.pace(ctx); err != nil {
			return n.fail(attempt-1, 0, "", ErrWebhookUnavailable, err)
		}
		res := n.attempt(ctx, body)
		if res.ok {
			n.log.LogAttrs(ctx, slog.LevelDebug, "teams: card posted", slog.String("host", n.url.host), slog.Int("attempt", attempt), slog.Int("status", res.status))
			return nil
		}
		if ctx.Err() != nil {
			return n.fail(attempt, res.status, res.detail, ErrWebhookUnavailable, ctx.Err())
		}
		if !res.retry {
			return n.fail(attempt, res.status, res.detail, ErrWebhookRejected, res.cause)
		}
		if attempt >= n.maxAttempts {
			return n.fail(attempt, res.status, res.detail, ErrWebhookUnavailable, res.cause)
		}
		delay := n.backoff(attempt)
		if res.retryAfter > delay {
			delay = res.retryAfter
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay {
			return n.fail(attempt, res.status, fmt.Sprintf("%s; the next attempt (in %s) would pass the time limit", res.detail, delay.Round(time.Millisecond)),
				ErrWebhookUnavailable, res.cause)
		}
		n.log.LogAttrs(ctx, slog.LevelWarn, "teams: webhook post failed; retrying",
			slog.String("host", n.url.host), slog.Int("attempt", attempt), slog.Int("max_attempts", n.maxAttempts),
			slog.Int("status", res.status), slog.String("detail", res.detail), slog.Duration("delay", delay))
		if err := n.sleep(ctx, delay); err != nil {
			return n.fail(attempt, res.status, res.detail, ErrWebhookUnavailable, err)
		}
	}
}

// result is how one attempt went; detail is already scrubbed.
type result struct {
	ok         bool
	retry      bool
	status     int
	retryAfter time.Duration
	detail     string
	cause      error
}

func (n *Notifier) attempt(ctx context.Context, body []byte) result {
	actx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, n.url.raw, bytes.NewReader(body))
	if err != nil {
		return result{detail: "could not build the request", cause: errors.New("teams: building the request failed")}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.client.Do(req)
	if err != nil {
		return n.transportFailure(err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // let the connection be reused
	res := result{status: resp.StatusCode}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		res.ok = true
		return res
	case retryable(resp.StatusCode):
		res.retry = true
		res.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	res.detail = n.describe(resp.StatusCode, snippet)
	return res
}

// retryable statuses: throttling (429), the precondition failures Teams
// returns under load (412) and server errors that are usually transient.
func retryable(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusPreconditionFailed,
		http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// transportFailure describes an error from the HTTP client. *url.Error
// repeats the whole URL, so only its cause is kept, and scrubbed.
func (n *Notifier) transportFailure(err error) result {
	cause := err
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		cause = ue.Err
	}
	detail := n.url.scrub(cause.Error())
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		// A certificate that does not verify will not verify on retry.
		return result{detail: "TLS certificate not trusted: " + clipBytes(detail, maxDetailBytes), cause: scrubbedError{detail, cause}}
	}
	return result{retry: true, detail: clipBytes(detail, maxDetailBytes), cause: scrubbedError{detail, cause}}
}

// describe says what an unsuccessful status means for an operator, with a
// scrubbed, bounded excerpt of the body.
func (n *Notifier) describe(status int, body []byte) string {
	var what string
	switch {
	case status == http.StatusBadRequest:
		what = "the flow refused the message (check its trigger and the card)"
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		what = "the webhook refused the caller (the URL's signature, or who may trigger the flow)"
	case status == http.StatusNotFound || status == http.StatusGone:
		what = "no such flow or trigger (deleted, turned off, or an old URL)"
	case status == http.StatusRequestEntityTooLarge:
		what = "the message is too large"
	case status == http.StatusTooManyRequests:
		what = "throttled"
	case status >= 300 && status < 400:
		what = "the webhook answered with a redirect, which is not followed"
	case status >= 500:
		what = "the webhook service failed"
	default:
		what = "unexpected answer"
	}
	text := fmt.Sprintf("HTTP %d %s: %s", status, http.StatusText(status), what)
	if excerpt := printable(n.url.scrub(string(body))); excerpt != "" {
		text += ": " + clipBytes(excerpt, maxDetailBytes)
	}
	return text
}

func (n *Notifier) fail(attempts, status int, detail string, kind, cause error) error {
	return &PostError{Host: n.url.host, Attempts: attempts, StatusCode: status, Detail: detail, kind: kind, cause: cause}
}

// backoff is the wait after the given attempt: "equal jitter", between
// half and all of the exponential delay, so retries of several posts
// spread out but never come back at once.
func (n *Notifier) backoff(attempt int) time.Duration {
	d := n.maxDelay
	if shift := attempt - 1; shift < 30 {
		if e := n.baseDelay << shift; e > 0 && e < d {
			d = e
		}
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// pace waits until this notifier may start another request.
func (n *Notifier) pace(ctx context.Context) error {
	if n.minInterval < 0 {
		return nil
	}
	n.mu.Lock()
	now := time.Now()
	start := n.next
	if start.Before(now) {
		start = now
	}
	n.next = start.Add(n.minInterval)
	n.mu.Unlock()
	if wait := start.Sub(now); wait > 0 {
		return sleepCtx(ctx, wait)
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// maxRetryAfter caps what a server may ask for; MaxElapsed applies anyway.
const maxRetryAfter = 10 * time.Minute

// parseRetryAfter reads delay-seconds or an HTTP date; 0 when absent or
// unusable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return min(time.Duration(min(secs, int64(maxRetryAfter/time.Second)))*time.Second, maxRetryAfter)
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, maxRetryAfter)
		}
	}
	return 0
}

// printable keeps a body excerpt to one line of visible characters.
func printable(s string) string {
	b := make([]rune, 0, min(len(s), maxDetailBytes))
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			space = len(b) > 0
			continue
		}
		if space {
			b = append(b, ' ')
			space = false
		}
		b = append(b, r)
		if len(b) > 2*maxDetailBytes {
			break
		}
	}
	return string(b)
}

func clipBytes(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
