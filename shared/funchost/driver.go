package funchost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// QueueSource is what the local trigger driver needs from a queue: one
// peek-locked message at a time, settled after the function answers.
type QueueSource interface {
	// Receive waits up to wait for a message on queue; it returns nil, nil
	// when none arrived.
	Receive(ctx context.Context, queue string, wait time.Duration) (*Delivery, error)
}

// Delivery is a locked message and how to settle it.
type Delivery struct {
	Message *ServiceBusMessage
	// Settle completes the message when ok, and abandons it otherwise (so
	// it is redelivered and, after max deliveries, dead-lettered).
	Settle func(ctx context.Context, ok bool) error
}

// DriverConfig configures the local trigger driver.
type DriverConfig struct {
	// Functions is the function app folder holding */function.json.
	Functions fs.FS
	// BaseURL is where the handler listens, e.g. http://127.0.0.1:7071.
	BaseURL string
	Client  *http.Client
	// Queues delivers Service Bus trigger messages; nil disables them.
	Queues QueueSource
	// Setting resolves %Name% in timer schedules (app settings).
	Setting func(name string) string
	Logger  *slog.Logger
	// Now is the clock (tests).
	Now func() time.Time
}

// Driver delivers queue messages and timer ticks to the handler through
// the invocation protocol, the way the Functions host would.
type Driver struct {
	cfg       DriverConfig
	functions map[string]*FunctionJSON
	mu        sync.Mutex
	lastTick  map[string]time.Time
}

// NewDriver reads the function.json files and validates their triggers.
func NewDriver(cfg DriverConfig) (*Driver, error) {
	if cfg.Functions == nil || cfg.BaseURL == "" {
		return nil, errors.New("funchost: driver needs Functions and BaseURL")
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 5 * time.Minute}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Setting == nil {
		cfg.Setting = func(string) string { return "" }
	}
	fns, err := LoadFunctions(cfg.Functions)
	if err != nil {
		return nil, err
	}
	return &Driver{cfg: cfg, functions: fns, lastTick: map[string]time.Time{}}, nil
}

// Run drives every queue and timer function until ctx ends.
func (d *Driver) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for name, f := range d.functions {
		if f.Disabled || f.IsHTTP() {
			continue
		}
		trig, err := f.Trigger()
		if err != nil {
			return err
		}
		switch strings.ToLower(trig.Type) {
		case "servicebustrigger":
			if d.cfg.Queues == nil {
				d.cfg.Logger.Warn("no local queue; queue function not driven", "function", name)
				continue
			}
			wg.Add(1)
			go func() { defer wg.Done(); d.pumpQueue(ctx, name, *trig) }()
		case "timertrigger":
			sched, err := d.schedule(trig.Schedule)
			if err != nil {
				return fmt.Errorf("funchost: %s: %w", name, err)
			}
			wg.Add(1)
			go func() { defer wg.Done(); d.runTimer(ctx, name, *trig, sched) }()
		default:
			return fmt.Errorf("funchost: %s: trigger type %q is not supported by the local driver", name, trig.Type)
		}
	}
	wg.Wait()
	return ctx.Err()
}

func (d *Driver) schedule(expr string) (cron.Schedule, error) {
	expr = expandSettings(expr, d.cfg.Setting)
	p := cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	s, err := p.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", expr, err)
	}
	return s, nil
}

// expandSettings replaces %Name% with the setting's value, as the host does.
func expandSettings(s string, get func(string) string) string {
	for {
		i := strings.IndexByte(s, '%')
		if i < 0 {
			return s
		}
		j := strings.IndexByte(s[i+1:], '%')
		if j < 0 {
			return s
		}
		s = s[:i] + get(s[i+1:i+1+j]) + s[i+2+j:]
	}
}

func (d *Driver) pumpQueue(ctx context.Context, name string, trig Binding) {
	for ctx.Err() == nil {
		del, err := d.cfg.Queues.Receive(ctx, trig.QueueName, 5*time.Second)
		if err != nil {
			if ctx.Err() == nil {
				d.cfg.Logger.Error("local queue receive failed", "function", name, "queue", trig.QueueName, "err", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		if del == nil {
			continue
		}
		inv, err := EncodeServiceBus(name, trig.Name, del.Message, d.cfg.Now())
		ok := err == nil && d.invoke(ctx, name, inv) == nil
		// Settle with a fresh context so shutdown does not strand a lock.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		if err := del.Settle(sctx, ok); err != nil {
			d.cfg.Logger.Error("local queue settle failed", "function", name, "err", err)
		}
		cancel()
	}
}

func (d *Driver) runTimer(ctx context.Context, name string, trig Binding, sched cron.Schedule) {
	last := time.Time{}
	if trig.RunOnStartup {
		_ = d.tick(ctx, name, trig, last, sched.Next(d.cfg.Now()))
		last = d.cfg.Now()
	}
	for {
		next := sched.Next(d.cfg.Now())
		if !sleep(ctx, time.Until(next)) {
			return
		}
		_ = d.tick(ctx, name, trig, last, sched.Next(next))
		last = next
	}
}

// Fire invokes a timer function once now, as a manual trigger.
func (d *Driver) Fire(ctx context.Context, name string) error {
	f, ok := d.functions[name]
	if !ok {
		return fmt.Errorf("funchost: no function %q", name)
	}
	trig, err := f.Trigger()
	if err != nil {
		return err
	}
	if !strings.EqualFold(trig.Type, "timerTrigger") {
		return fmt.Errorf("funchost: %s is not a timer function", name)
	}
	d.mu.Lock()
	last := d.lastTick[name]
	d.mu.Unlock()
	return d.tick(ctx, name, *trig, last, time.Time{})
}

func (d *Driver) tick(ctx context.Context, name string, trig Binding, last, next time.Time) error {
	now := d.cfg.Now()
	ti := &TimerInfo{Last: last, Next: next, LastUpdated: now}
	if last.IsZero() || next.IsZero() {
		ti = &TimerInfo{}
	}
	inv, err := EncodeTimer(name, trig.Name, ti, now)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.lastTick[name] = now
	d.mu.Unlock()
	return d.invoke(ctx, name, inv)
}

// invoke posts inv to /<name> and applies the host's success rule: 2xx with
// a JSON body; anything else is a failed invocation.
func (d *Driver) invoke(ctx context.Context, name string, inv *Invocation) error {
	body, err := json.Marshal(inv)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(d.cfg.BaseURL, "/")+"/"+name, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("X-Azure-Functions-InvocationId", newGUID())
	req.Header.Set("User-Agent", "behalf-local-trigger-driver")
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		d.cfg.Logger.Error("invocation failed", "function", name, "err", err)
		return err
	}
	defer resp.Body.Close()
	res, err := ParseInvocationResponse(resp)
	for _, l := range logsOf(res) {
		d.cfg.Logger.Info("function log", "function", name, "log", l)
	}
	if err != nil {
		d.cfg.Logger.Error("invocation failed", "function", name, "err", err)
	}
	return err
}

func logsOf(r *InvocationResult) []string {
	if r == nil {
		return nil
	}
	return r.Logs
}

// ParseInvocationResponse applies the host's rules to a handler's answer:
// a non-2xx status, a non-JSON content type or a malformed body each mean
// the invocation failed.
func ParseInvocationResponse(resp *http.Response) (*InvocationResult, error) {
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxInvocationBytes))
	if err != nil {
		return nil, err
	}
	var res InvocationResult
	jsonErr := json.Unmarshal(b, &res)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		if jsonErr == nil {
			return &res, fmt.Errorf("function answered %d", resp.StatusCode)
		}
		return nil, fmt.Errorf("function answered %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return nil, fmt.Errorf("function answered content type %q, want application/json", ct)
	}
	if jsonErr != nil {
		return nil, fmt.Errorf("function answered malformed JSON: %w", jsonErr)
	}
	return &res, nil
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
