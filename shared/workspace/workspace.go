// Package workspace builds databricks-sdk-go clients that can only use the
// token they are given: one client per request and person, with no
// environment variable, ~/.databrickscfg profile, metadata service or
// deployer credential able to leak in. It also marks calls that must not
// be retried by the SDK (POSTs that create a Genie message or run a
// statement), so that a 429/503 never turns into a duplicate.
package workspace

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/databricks/databricks-sdk-go"
	"github.com/databricks/databricks-sdk-go/config"
)

// Config describes the workspace.
type Config struct {
	// Host is the workspace URL (https://adb-....azuredatabricks.net).
	Host string
	// RootCAs trusts extra CAs (the dev stack's); nil uses the system pool.
	RootCAs *x509.CertPool
	// HTTPTimeout bounds one HTTP call (default 60 s).
	HTTPTimeout time.Duration
	// RetryTimeout bounds the SDK's own retries of idempotent calls
	// (default 30 s).
	RetryTimeout time.Duration
}

// Factory builds per-request clients. It shares only the HTTP transport
// (connections), never credentials.
type Factory struct {
	cfg       Config
	transport http.RoundTripper
}

// NewFactory validates the configuration.
func NewFactory(cfg Config) (*Factory, error) {
	if !strings.HasPrefix(cfg.Host, "https://") {
		return nil, fmt.Errorf("workspace: host %q must be an https URL", cfg.Host)
	}
	if cfg.HTTPTimeout <= 0 {
		cfg.HTTPTimeout = 60 * time.Second
	}
	if cfg.RetryTimeout <= 0 {
		cfg.RetryTimeout = 30 * time.Second
	}
	base := &http.Transport{
		// No Proxy: HTTPS_PROXY from the environment must not see tokens.
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	return &Factory{cfg: cfg, transport: &noRetryTransport{next: base}}, nil
}

// Host is the workspace URL.
func (f *Factory) Host() string { return f.cfg.Host }

// noLoader replaces the SDK's default loaders (environment variables and
// ~/.databrickscfg), so nothing but the explicit fields configures a client.
type noLoader struct{}

func (noLoader) Name() string                   { return "behalf-explicit-only" }
func (noLoader) Configure(*config.Config) error { return nil }

// ForToken returns a client that authenticates with token and nothing
// else. Build one per request; never share it across people.
func (f *Factory) ForToken(token string) (*databricks.WorkspaceClient, error) {
	if token == "" {
		return nil, errors.New("workspace: empty token")
	}
	return databricks.NewWorkspaceClient(&databricks.Config{
		Host:        f.cfg.Host,
		Token:       token,
		AuthType:    "pat",
		Credentials: config.PatCredentials{},
		Loaders:     []config.Loader{noLoader{}},
		// No call to /.well-known/databricks-config: it could fill
		// settings from the network and costs a round trip per client.
		HostMetadataResolver: func(context.Context, string) (*config.HostMetadata, error) { return nil, nil },
		HTTPTransport:        f.transport,
		HTTPTimeoutSeconds:   int(f.cfg.HTTPTimeout / time.Second),
		RetryTimeoutSeconds:  int(f.cfg.RetryTimeout / time.Second),
		RateLimitPerSecond:   100,
	})
}

type noRetryKey struct{}

// NoRetry marks ctx so that a 429 or 5xx answer to calls made with it
// reaches the caller as *UpstreamStatusError instead of being retried by
// the SDK. Use it for POSTs that may have created something.
func NoRetry(ctx context.Context) context.Context {
	return context.WithValue(ctx, noRetryKey{}, true)
}

// UpstreamStatusError is a 429/5xx from Databricks on a NoRetry call.
type UpstreamStatusError struct {
	StatusCode int
	RetryAfter time.Duration
}

func (e *UpstreamStatusError) Error() string {
	return fmt.Sprintf("databricks answered %d (not retried: the call may have had an effect)", e.StatusCode)
}

// noRetryTransport turns retriable statuses into a transport error for
// NoRetry calls; the SDK does not retry transport errors it does not
// recognise as transient.
type noRetryTransport struct{ next http.RoundTripper }

func (t *noRetryTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err != nil || r.Context().Value(noRetryKey{}) == nil {
		return resp, err
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		resp.Body.Close()
		e := &UpstreamStatusError{StatusCode: resp.StatusCode}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			e.RetryAfter = time.Duration(s) * time.Second
		}
		return nil, e
	}
	return resp, nil
}
