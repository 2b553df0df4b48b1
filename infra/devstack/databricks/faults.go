package databricks

import (
	"context"
	"maps"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Endpoint names an API operation for fault injection and counters.
type Endpoint string

// Endpoints of the emulator. AllEndpoints in SetFault applies to every one.
const (
	AllEndpoints             Endpoint = "*"
	EndpointExecuteStatement Endpoint = "sql.statements.execute"
	EndpointGetStatement     Endpoint = "sql.statements.get"
	EndpointCancelStatement  Endpoint = "sql.statements.cancel"
	EndpointResultChunk      Endpoint = "sql.statements.chunk"
	EndpointWarehouses       Endpoint = "sql.warehouses"
	EndpointGenieStart       Endpoint = "genie.start-conversation"
	EndpointGenieMessage     Endpoint = "genie.create-message"
	EndpointGenieGetMessage  Endpoint = "genie.get-message"
	EndpointGenieQueryResult Endpoint = "genie.query-result"
	EndpointGenieExecute     Endpoint = "genie.execute-query"
	EndpointGenieOther       Endpoint = "genie.other"
	EndpointSCIMMe           Endpoint = "scim.me"
	EndpointOIDCToken        Endpoint = "oidc.token"
	EndpointDiscovery        Endpoint = "discovery"
)

// Fault describes injected trouble for an endpoint. Rates are
// probabilities (0..1) drawn from a seeded generator; the Next* counts
// fail the next N calls deterministically and are consumed first.
type Fault struct {
	// Latency delays every call before anything else happens.
	Latency time.Duration
	// Rate429 answers 429 REQUEST_LIMIT_EXCEEDED (with Retry-After).
	Rate429 float64
	// Rate503 answers 503 TEMPORARILY_UNAVAILABLE.
	Rate503 float64
	// RateTimeout holds the request for Hold (or until the client gives
	// up) and then answers 504 DEADLINE_EXCEEDED.
	RateTimeout float64
	// RateLost performs the call and then loses its answer: the client
	// gets 503 although the call took effect (a gateway giving up after
	// the backend acted), the case where a blind retry of a POST makes a
	// duplicate. NextLost does the same for the next N calls.
	RateLost    float64
	Next429     int
	Next503     int
	NextTimeout int
	NextLost    int
	// Hold is how long a timeout holds the request (default 30 s).
	Hold time.Duration
	// RetryAfter is sent with 429s (default 1 s).
	RetryAfter time.Duration
}

// Counters are call statistics readable by tests.
type Counters struct {
	// Requests counts calls per endpoint (including failed ones).
	Requests map[Endpoint]int64
	// StatementsTotal counts SQL statements executed, from the Statement
	// Execution API and from Genie; StatementsByPrincipal splits them by
	// current_user().
	StatementsTotal       int64
	StatementsByPrincipal map[string]int64
	// GenieMessages counts questions accepted (start-conversation and
	// follow-ups); GenieRateLimited counts questions refused with 429.
	GenieMessages    int64
	GenieRateLimited int64
	// TokenExchanges counts successful RFC 8693 exchanges; TokensIssued
	// counts every token /oidc/v1/token issued (exchanges and M2M).
	TokenExchanges int64
	TokensIssued   int64
	// Unauthenticated counts 401 answers.
	Unauthenticated int64
	// FaultsInjected counts injected faults per endpoint.
	FaultsInjected map[Endpoint]int64
}

type counterSet struct {
	mu sync.Mutex
	c  Counters
}

func newCounterSet() *counterSet {
	return &counterSet{c: Counters{Requests: map[Endpoint]int64{}, StatementsByPrincipal: map[string]int64{}, FaultsInjected: map[Endpoint]int64{}}}
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
	c.StatementsByPrincipal = maps.Clone(s.c.StatementsByPrincipal)
	c.FaultsInjected = maps.Clone(s.c.FaultsInjected)
	return c
}

// Counters returns a snapshot of the call counters.
func (e *Emulator) Counters() Counters { return e.counters.snapshot() }

// ResetCounters zeroes the counters.
func (e *Emulator) ResetCounters() {
	e.counters.mu.Lock()
	defer e.counters.mu.Unlock()
	e.counters.c = newCounterSet().c
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

// decide picks the fault (if any) for one call and consumes Next* counts.
func (fs *faultSet) decide(ep Endpoint) (latency time.Duration, failure *APIError, hold time.Duration, lost bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, key := range []Endpoint{ep, AllEndpoints} {
		f := fs.faults[key]
		if f == nil {
			continue
		}
		latency += f.Latency
		if failure != nil {
			continue
		}
		retryAfter := f.RetryAfter
		if retryAfter <= 0 {
			retryAfter = time.Second
		}
		h := f.Hold
		if h <= 0 {
			h = 30 * time.Second
		}
		tooMany := &APIError{Status: http.StatusTooManyRequests, Code: "REQUEST_LIMIT_EXCEEDED", Message: "Too many requests (injected fault). Please retry later.", RetryAfter: retryAfter}
		unavailable := &APIError{Status: http.StatusServiceUnavailable, Code: "TEMPORARILY_UNAVAILABLE", Message: "The service is temporarily unavailable (injected fault)."}
		timeout := &APIError{Status: http.StatusGatewayTimeout, Code: "DEADLINE_EXCEEDED", Message: "The request timed out (injected fault)."}
		switch {
		case f.Next429 > 0:
			f.Next429--
			failure = tooMany
		case f.Next503 > 0:
			f.Next503--
			failure = unavailable
		case f.NextTimeout > 0:
			f.NextTimeout--
			failure, hold = timeout, h
		case f.NextLost > 0:
			f.NextLost--
			failure, lost = unavailable, true
		default:
			x := fs.rnd.Float64()
			switch {
			case x < f.Rate429:
				failure = tooMany
			case x < f.Rate429+f.Rate503:
				failure = unavailable
			case x < f.Rate429+f.Rate503+f.RateTimeout:
				failure, hold = timeout, h
			case x < f.Rate429+f.Rate503+f.RateTimeout+f.RateLost:
				failure, lost = unavailable, true
			}
		}
	}
	return latency, failure, hold, lost
}

// instrument counts calls to ep and applies its faults before next runs.
func (e *Emulator) instrument(ep Endpoint, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e.counters.add(func(c *Counters) { c.Requests[ep]++ })
		latency, failure, hold, lost := e.faults.decide(ep)
		if latency > 0 && !sleepCtx(r.Context(), latency) {
			return
		}
		if failure != nil {
			e.counters.add(func(c *Counters) { c.FaultsInjected[ep]++ })
			if lost {
				next(&discardWriter{h: http.Header{}}, r)
			}
			if hold > 0 && !sleepCtx(r.Context(), hold) {
				return
			}
			e.writeError(w, r, failure)
			return
		}
		next(w, r)
	}
}

// sleepCtx sleeps for d unless ctx ends first; it reports whether it slept.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// discardWriter swallows the answer of a call whose answer is lost.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}
