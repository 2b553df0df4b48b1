package entra

import (
	"bytes"
	"context"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Endpoint names a group of routes for fault injection and counters.
type Endpoint string

// Endpoints of the emulator. AllEndpoints in SetFault applies to every one.
const (
	AllEndpoints            Endpoint = "*"
	EndpointDiscovery       Endpoint = "discovery" // openid-configuration (tenants and partner)
	EndpointKeys            Endpoint = "keys"      // JWKS (tenants and partner)
	EndpointAuthorize       Endpoint = "authorize"
	EndpointToken           Endpoint = "token"
	EndpointLogout          Endpoint = "logout"
	EndpointManagedIdentity Endpoint = "managed-identity"
	EndpointPartnerToken    Endpoint = "partner-token"
)

// GrantType names a token-endpoint grant in the counters.
type GrantType string

// Grant types counted at the token endpoint.
const (
	GrantAuthorizationCode GrantType = "authorization_code"
	GrantRefreshToken      GrantType = "refresh_token"
	GrantOnBehalfOf        GrantType = "on_behalf_of"
	GrantClientCredentials GrantType = "client_credentials"
	GrantOther             GrantType = "other"
)

// Fault describes injected trouble for an endpoint. ErrorRate is a
// probability (0..1) drawn from a seeded generator; NextErrors fails the
// next N calls deterministically and is consumed first.
type Fault struct {
	// Latency delays every call before anything else happens.
	Latency time.Duration
	// ErrorRate answers that share of calls with HTTP 503 and Entra's
	// temporarily_unavailable error (AADSTS90033).
	ErrorRate float64
	// NextErrors fails the next N calls the same way.
	NextErrors int
	// Outage drops every call without an answer (the connection or
	// stream is reset), as when the service cannot be reached.
	Outage bool
}

// Counters are call statistics readable by tests.
type Counters struct {
	// Requests counts calls per endpoint (including failed ones).
	Requests map[Endpoint]int64
	// TokenRequests counts token-endpoint calls per grant type;
	// TokensIssued counts the successful ones.
	TokenRequests map[GrantType]int64
	TokensIssued  map[GrantType]int64
	// Errors counts Entra errors answered, by AADSTS code ("AADSTS54005").
	Errors map[string]int64
	// SignIns counts completed sign-ins (codes issued by authorize).
	SignIns int64
	// ManagedIdentityTokens and PartnerTokens count tokens those
	// endpoints issued.
	ManagedIdentityTokens int64
	PartnerTokens         int64
	// FaultsInjected counts injected faults per endpoint.
	FaultsInjected map[Endpoint]int64
}

type counterSet struct {
	mu sync.Mutex
	c  Counters
}

func newCounters() Counters {
	return Counters{Requests: map[Endpoint]int64{}, TokenRequests: map[GrantType]int64{}, TokensIssued: map[GrantType]int64{},
		Errors: map[string]int64{}, FaultsInjected: map[Endpoint]int64{}}
}

func (s *counterSet) add(fn func(*Counters)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(&s.c)
}

func (s *counterSet) snapshot() Counters {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.c
	c.Requests = maps.Clone(s.c.Requests)
	c.TokenRequests = maps.Clone(s.c.TokenRequests)
	c.TokensIssued = maps.Clone(s.c.TokensIssued)
	c.Errors = maps.Clone(s.c.Errors)
	c.FaultsInjected = maps.Clone(s.c.FaultsInjected)
	return c
}

// Counters returns a snapshot of the call counters.
func (e *Emulator) Counters() Counters { return e.counters.snapshot() }

// ResetCounters zeroes the counters.
func (e *Emulator) ResetCounters() {
	e.counters.mu.Lock()
	defer e.counters.mu.Unlock()
	e.counters.c = newCounters()
}

type faultSet struct {
	mu     sync.Mutex
	faults map[Endpoint]*Fault
	rnd    *rand.Rand
}

// SetFault installs (or with a zero Fault clears) faults for an endpoint.
func (e *Emulator) SetFault(ep Endpoint, f Fault) {
	e.faults.mu.Lock()
	defer e.faults.mu.Unlock()
	if f == (Fault{}) {
		delete(e.faults.faults, ep)
		return
	}
	e.faults.faults[ep] = &f
}

// ClearFaults removes every injected fault.
func (e *Emulator) ClearFaults() {
	e.faults.mu.Lock()
	defer e.faults.mu.Unlock()
	e.faults.faults = map[Endpoint]*Fault{}
}

// decide picks the fault (if any) for one call and consumes NextErrors.
func (fs *faultSet) decide(ep Endpoint) (latency time.Duration, fail, drop bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, k := range []Endpoint{ep, AllEndpoints} {
		f := fs.faults[k]
		if f == nil {
			continue
		}
		latency += f.Latency
		switch {
		case fail || drop:
		case f.Outage:
			drop = true
		case f.NextErrors > 0:
			f.NextErrors--
			fail = true
		case f.ErrorRate > 0 && fs.rnd.Float64() < f.ErrorRate:
			fail = true
		}
	}
	return latency, fail, drop
}

// instrument counts calls to ep and applies its faults before next runs.
func (e *Emulator) instrument(ep Endpoint, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e.counters.add(func(c *Counters) { c.Requests[ep]++ })
		latency, fail, drop := e.faults.decide(ep)
		if latency > 0 {
			// Read the (bounded) body first: net/http notices a client
			// that gives up only once the body is consumed, and the delay
			// must end when the caller does.
			body, err := io.ReadAll(io.LimitReader(r.Body, maxTokenBody+1))
			if err != nil {
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			if !sleepCtx(r.Context(), latency) {
				return
			}
		}
		if drop || fail {
			e.counters.add(func(c *Counters) { c.FaultsInjected[ep]++ })
		}
		if drop {
			// Abort without an answer: net/http resets the connection
			// (HTTP/1) or the stream (HTTP/2), as an unreachable service.
			panic(http.ErrAbortHandler)
		}
		if fail {
			w.Header().Set("Retry-After", "1")
			oe := oauthErr("temporarily_unavailable", CodeTransient, "A transient error has occurred (injected fault). Please try again.")
			oe.Status = http.StatusServiceUnavailable
			e.writeOAuthError(w, r, oe)
			return
		}
		next(w, r)
	}
}

// sleepCtx sleeps for d unless ctx ends first; it reports whether it slept.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
