// Package health is the registry behind /api/health: each dependency
// (identity provider, workspace, queue, audit store) adds a check, and a
// report says ok, degraded or down with each check's latency. Reports
// never carry error text, which could reveal addresses or secrets; the
// cause is logged instead.
package health

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Status of a check or of the whole service.
type Status string

// Statuses, from best to worst.
const (
	StatusOK       Status = "ok"
	StatusDegraded Status = "degraded"
	StatusDown     Status = "down"
)

// ErrDegraded marks a check result as degraded rather than down; wrap it.
var ErrDegraded = errors.New("degraded")

// CheckFunc probes one dependency. nil means ok; an error wrapping
// ErrDegraded means degraded; any other error means down.
type CheckFunc func(ctx context.Context) error

type check struct {
	name     string
	critical bool
	fn       CheckFunc
}

// Registry holds the checks.
type Registry struct {
	mu      sync.RWMutex
	checks  []check
	timeout time.Duration
	log     *slog.Logger
}

// Config configures a Registry.
type Config struct {
	// Timeout bounds each check (default 3 s); a check that overruns is down.
	Timeout time.Duration
	Logger  *slog.Logger
}

// New returns an empty registry.
func New(cfg Config) *Registry {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 3 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Registry{timeout: cfg.Timeout, log: cfg.Logger}
}

// Add registers a check. A critical check that is down makes the service
// down (503); a non-critical one only degrades it.
func (r *Registry) Add(name string, critical bool, fn CheckFunc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checks = append(r.checks, check{name: name, critical: critical, fn: fn})
}

// Result is one check's outcome.
type Result struct {
	Name      string `json:"name"`
	Status    Status `json:"status"`
	Critical  bool   `json:"critical"`
	LatencyMS int64  `json:"latency_ms"`
}

// Report is the outcome of all checks.
type Report struct {
	Status Status   `json:"status"`
	Checks []Result `json:"checks"`
}

// Run runs every check concurrently, each bounded by the timeout.
func (r *Registry) Run(ctx context.Context) Report {
	r.mu.RLock()
	checks := append([]check(nil), r.checks...)
	r.mu.RUnlock()

	results := make([]Result, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = r.runOne(ctx, c)
		}()
	}
	wg.Wait()
	sort.Slice(results, func(i, j int) bool { return results[i].Name < results[j].Name })

	overall := StatusOK
	for _, res := range results {
		switch {
		case res.Status == StatusDown && res.Critical:
			overall = StatusDown
		case res.Status != StatusOK && overall == StatusOK:
			overall = StatusDegraded
		}
	}
	return Report{Status: overall, Checks: results}
}

func (r *Registry) runOne(ctx context.Context, c check) Result {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- errors.New("check panicked")
			}
		}()
		done <- c.fn(ctx)
	}()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	res := Result{Name: c.name, Critical: c.critical, Status: StatusOK, LatencyMS: time.Since(start).Milliseconds()}
	switch {
	case err == nil:
	case errors.Is(err, ErrDegraded):
		res.Status = StatusDegraded
	default:
		res.Status = StatusDown
	}
	if err != nil {
		r.log.WarnContext(ctx, "health check failed", "check", c.name, "status", string(res.Status), "err", err)
	}
	return res
}
