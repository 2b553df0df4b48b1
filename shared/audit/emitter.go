package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/behalf-dev/behalf/shared/logging"
	"github.com/behalf-dev/behalf/shared/queue"
)

// Sender is what the emitter needs from a queue; shared/queue's Queues
// (Service Bus or embedded) satisfies it.
type Sender interface {
	// Send stores every message or none and returns once they are durable.
	Send(ctx context.Context, queue string, msgs ...queue.Message) error
}

// Errors callers branch on.
var (
	// ErrBufferFull: the emitter holds BufferSize events not yet on the
	// queue; the event was refused, and the caller must fail closed.
	ErrBufferFull = errors.New("audit: the audit buffer is full")
	// ErrClosed: the emitter was closed.
	ErrClosed = errors.New("audit: the emitter is closed")
	// ErrUnavailable: the trail cannot take events now (Admit, Healthy,
	// EmitDurable); functions answer 503.
	ErrUnavailable = errors.New("audit: the audit trail is unavailable")
	// ErrLost: events accepted by Emit could not be queued before Close's
	// deadline.
	ErrLost = errors.New("audit: events were lost")
)

// FailMode says whether reads are served while the trail is unhealthy.
type FailMode string

// Fail modes.
const (
	// FailClosed refuses the request (503) rather than serve it unaudited.
	FailClosed FailMode = "closed"
	// FailOpen serves it and relies on Emit's own error (reads only).
	FailOpen FailMode = "open"
)

// Kind is what a request does, for Admit.
type Kind int

// Kinds.
const (
	// Read serves data without changing anything.
	Read Kind = iota
	// Change changes state (propose, approve, execute); always fail closed.
	Change
)

// EmitterConfig configures an Emitter.
type EmitterConfig struct {
	Sender Sender
	// Queue is the audit queue (default "audit").
	Queue string
	// BufferSize is how many events may wait for the queue (default 10000).
	BufferSize int
	// BatchSize is the most events per message (default 100).
	BatchSize int
	// MaxBatchBytes bounds a message body (default 192 KiB, under Service
	// Bus standard's 256 KiB).
	MaxBatchBytes int
	// FlushInterval is the longest an event waits for its batch to fill
	// (default 1 s).
	FlushInterval time.Duration
	// RetryInitial and RetryMax bound the backoff between send attempts
	// (defaults 100 ms and 10 s); SendTimeout bounds one attempt (10 s).
	RetryInitial, RetryMax, SendTimeout time.Duration
	// UnhealthyAfter is how many consecutive failed sends make the trail
	// unhealthy (default 3).
	UnhealthyAfter int
	// ReadFailMode is how Admit treats reads while unhealthy (default
	// closed).
	ReadFailMode FailMode
	Logger       *slog.Logger
	// Now is the clock (tests).
	Now func() time.Time
}

// Stats counts what the emitter did, for /api/health and metrics.
type Stats struct {
	// Accepted events were taken by Emit; Sent ones are durably queued.
	Accepted, Sent int64
	// Refused events were turned away by Emit (buffer full, closed); the
	// caller got an error. Invalid ones failed validation.
	Refused, Invalid int64
	// Lost events were accepted but not queued before Close gave up.
	Lost int64
	// Durable counts EmitDurable successes; DurableFailed its failures.
	Durable, DurableFailed int64
	// SendFailures counts failed send attempts; ConsecutiveFailures is the
	// current run of them.
	SendFailures, ConsecutiveFailures int64
	// Buffered events wait for the queue now.
	Buffered int
}

type pending struct {
	id   string
	body []byte
}

// Emitter sends audit events to the audit queue in the background.
type Emitter struct {
	cfg EmitterConfig
	log *slog.Logger

	mu     sync.RWMutex // guards closed against Emit's send on ch
	closed bool
	ch     chan pending
	flush  chan struct{}
	stop   chan context.Context
	done   chan struct{}

	// progress: enqueued counts events put on ch; finished counts those
	// sent or lost. Flush waits for finished to pass its target.
	progMu   sync.Mutex
	progCond chan struct{}
	enqueued int64
	finished int64

	accepted, sent, refused, invalid, lost atomic.Int64
	durable, durableFailed                 atomic.Int64
	sendFailures, consecutive              atomic.Int64
	lastFailure                            atomic.Int64 // unix nanos

	// flushTarget is the highest event number (counting from 1 in Emit
	// order) some Flush waits for.
	flushTarget atomic.Int64

	// loop-owned state: taken counts events read from ch (FIFO, so the
	// n-th taken is the n-th enqueued).
	taken    int64
	carry    *pending
	loopCtx  context.Context
	stopping bool
}

// NewEmitter validates cfg and starts the background sender.
func NewEmitter(cfg EmitterConfig) (*Emitter, error) {
	if cfg.Sender == nil {
		return nil, errors.New("audit: EmitterConfig.Sender is required")
	}
	if cfg.Queue == "" {
		cfg.Queue = "audit"
	}
	def := func(v *int, d, max int, name string) error {
		if *v == 0 {
			*v = d
		}
		if *v < 1 || *v > max {
			return fmt.Errorf("audit: EmitterConfig.%s must be 1 to %d", name, max)
		}
		return nil
	}
	if err := errors.Join(def(&cfg.BufferSize, 10000, 1_000_000, "BufferSize"), def(&cfg.BatchSize, 100, MaxBatch, "BatchSize"),
		def(&cfg.MaxBatchBytes, 192<<10, 100<<20, "MaxBatchBytes"), def(&cfg.UnhealthyAfter, 3, 1000, "UnhealthyAfter")); err != nil {
		return nil, err
	}
	durDef := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	durDef(&cfg.FlushInterval, time.Second)
	durDef(&cfg.RetryInitial, 100*time.Millisecond)
	durDef(&cfg.RetryMax, 10*time.Second)
	durDef(&cfg.SendTimeout, 10*time.Second)
	switch cfg.ReadFailMode {
	case "":
		cfg.ReadFailMode = FailClosed
	case FailClosed, FailOpen:
	default:
		return nil, fmt.Errorf("audit: ReadFailMode must be closed or open, got %q", cfg.ReadFailMode)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	e := &Emitter{cfg: cfg, log: cfg.Logger, ch: make(chan pending, cfg.BufferSize), flush: make(chan struct{}, 1),
		stop: make(chan context.Context, 1), done: make(chan struct{}), progCond: make(chan struct{}), loopCtx: context.Background()}
	go e.run()
	return e, nil
}

// prepare fills the defaults of an event and encodes it.
func (e *Emitter) prepare(ctx context.Context, ev Event) (Event, []byte, error) {
	if ev.ID == "" {
		ev.ID = NewID()
	}
	if ev.Time.IsZero() {
		ev.Time = e.cfg.Now()
	}
	if ev.RequestID == "" {
		if id := logging.RequestID(ctx); reRequestID.MatchString(id) {
			ev.RequestID = id
		}
	}
	ev = Normalize(ev)
	b, err := Canonical(ev)
	if err != nil {
		e.invalid.Add(1)
		return ev, nil, err
	}
	if len(b)+64 > e.cfg.MaxBatchBytes {
		e.invalid.Add(1)
		return ev, nil, &FieldError{"event", fmt.Sprintf("encodes to %d bytes, more than a queue message holds", len(b))}
	}
	return ev, b, nil
}

// Emit queues ev for the background sender without waiting. It fills in
// the id, time and request id (from ctx) when they are empty. It never
// drops silently: a full buffer or a closed emitter is an error, and the
// caller must then refuse to go on (fail closed).
func (e *Emitter) Emit(ctx context.Context, ev Event) error {
	ev, b, err := e.prepare(ctx, ev)
	if err != nil {
		return err
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		e.refused.Add(1)
		return ErrClosed
	}
	e.progMu.Lock()
	defer e.progMu.Unlock()
	select {
	case e.ch <- pending{id: ev.ID, body: b}:
		e.enqueued++
		e.accepted.Add(1)
		return nil
	default:
		e.refused.Add(1)
		return ErrBufferFull
	}
}

// EmitDurable sends ev as its own message and returns only once the queue
// holds it durably, retrying until ctx ends. Use it for the event that
// must exist before an action (the executing event of a destructive
// statement): on error, do not act.
func (e *Emitter) EmitDurable(ctx context.Context, ev Event) error {
	ev, b, err := e.prepare(ctx, ev)
	if err != nil {
		return err
	}
	e.mu.RLock()
	closed := e.closed
	e.mu.RUnlock()
	if closed {
		e.durableFailed.Add(1)
		return ErrClosed
	}
	if err := e.sendWithRetry(ctx, []pending{{id: ev.ID, body: b}}, false); err != nil {
		e.durableFailed.Add(1)
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	e.durable.Add(1)
	return nil
}

// Healthy is nil when the trail can take events: not closed, buffer not
// full, and the queue not failing repeatedly.
func (e *Emitter) Healthy() error {
	e.mu.RLock()
	closed := e.closed
	e.mu.RUnlock()
	switch {
	case closed:
		return fmt.Errorf("%w: %w", ErrUnavailable, ErrClosed)
	case len(e.ch) >= cap(e.ch):
		return fmt.Errorf("%w: %w", ErrUnavailable, ErrBufferFull)
	case e.consecutive.Load() >= int64(e.cfg.UnhealthyAfter) && e.cfg.Now().Sub(time.Unix(0, e.lastFailure.Load())) < 2*e.cfg.RetryMax:
		// After 2×RetryMax without a failed attempt the trail is given a
		// chance again (half-open): otherwise an outage seen only by
		// EmitDurable would refuse changes forever, since nothing else
		// would ever try the queue.
		return fmt.Errorf("%w: the last %d sends to queue %q failed", ErrUnavailable, e.consecutive.Load(), e.cfg.Queue)
	}
	return nil
}

// Admit says whether a request of kind k may be served now. Changes
// always need a healthy trail; reads follow ReadFailMode.
func (e *Emitter) Admit(k Kind) error {
	if k == Read && e.cfg.ReadFailMode == FailOpen {
		return nil
	}
	return e.Healthy()
}

// Stats returns the counters.
func (e *Emitter) Stats() Stats {
	return Stats{
		Accepted: e.accepted.Load(), Sent: e.sent.Load(), Refused: e.refused.Load(), Invalid: e.invalid.Load(), Lost: e.lost.Load(),
		Durable: e.durable.Load(), DurableFailed: e.durableFailed.Load(), SendFailures: e.sendFailures.Load(),
		ConsecutiveFailures: e.consecutive.Load(), Buffered: len(e.ch),
	}
}

// Flush waits until every event accepted before the call is queued (or
// lost), sending a partial batch at once.
func (e *Emitter) Flush(ctx context.Context) error {
	e.progMu.Lock()
	target := e.enqueued
	lostBefore := e.lost.Load()
	e.progMu.Unlock()
	for {
		old := e.flushTarget.Load()
		if target <= old || e.flushTarget.CompareAndSwap(old, target) {
			break
		}
	}
	select {
	case e.flush <- struct{}{}:
	default:
	}
	for {
		e.progMu.Lock()
		fin, wake := e.finished, e.progCond
		e.progMu.Unlock()
		if fin >= target {
			if e.lost.Load() > lostBefore {
				return ErrLost
			}
			return nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return fmt.Errorf("audit: flush: %d events not yet queued: %w", target-fin, ctx.Err())
		case <-e.done:
			// The loop ended; finished is final.
			e.progMu.Lock()
			fin = e.finished
			e.progMu.Unlock()
			if fin >= target && e.lost.Load() == lostBefore {
				return nil
			}
			return ErrLost
		}
	}
}

// Close stops accepting events, sends what is buffered (retrying until ctx
// ends) and stops the sender. Events still unsent when ctx ends are
// counted as lost and logged; Close then returns ErrLost.
func (e *Emitter) Close(ctx context.Context) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		<-e.done
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	lostBefore := e.lost.Load()
	e.stop <- ctx
	select {
	case <-e.done:
	case <-ctx.Done():
		<-e.done // the loop gives up on ctx too
	}
	if n := e.lost.Load() - lostBefore; n > 0 {
		return fmt.Errorf("%w: %d events were not queued before shutdown", ErrLost, n)
	}
	return nil
}

func (e *Emitter) progress(n int64) {
	e.progMu.Lock()
	e.finished += n
	close(e.progCond)
	e.progCond = make(chan struct{})
	e.progMu.Unlock()
}

func (e *Emitter) run() {
	defer close(e.done)
	for {
		batch := e.collect()
		if len(batch) > 0 {
			if err := e.sendWithRetry(e.loopCtx, batch, true); err != nil {
				e.lost.Add(int64(len(batch)))
				e.log.Error("audit events lost: the audit queue could not be reached before shutdown",
					"queue", e.cfg.Queue, "events", len(batch), "err", err)
			}
			e.progress(int64(len(batch)))
		}
		if e.stopping && e.carry == nil && len(e.ch) == 0 && len(batch) == 0 {
			return
		}
	}
}

// collect gathers the next batch: it waits for a first event, then for
// more until the batch is full, FlushInterval passes, a Flush wants an
// event of this batch sent, or Close is called.
func (e *Emitter) collect() []pending {
	var batch []pending
	size := 32
	// add appends p unless it would overflow the byte bound (then it is
	// carried to the next batch); it reports whether the batch has room.
	add := func(p pending) bool {
		if len(batch) > 0 && size+len(p.body)+1 > e.cfg.MaxBatchBytes {
			e.carry = &p
			return false
		}
		batch = append(batch, p)
		size += len(p.body) + 1
		return len(batch) < e.cfg.BatchSize
	}
	// drain takes what is already buffered, without waiting.
	drain := func() []pending {
		for e.carry == nil && len(batch) < e.cfg.BatchSize {
			select {
			case p := <-e.ch:
				e.taken++
				if !add(p) {
					return batch
				}
			default:
				return batch
			}
		}
		return batch
	}
	if e.carry != nil {
		p := *e.carry
		e.carry = nil
		add(p)
	}
	if e.stopping {
		return drain()
	}
	for len(batch) == 0 {
		select {
		case p := <-e.ch:
			e.taken++
			if !add(p) {
				return batch
			}
		case ctx := <-e.stop:
			e.stopping, e.loopCtx = true, ctx
			return drain()
		case <-e.flush:
			// Nothing taken yet: whatever Flush waits for is still in ch.
		}
	}
	timer := time.NewTimer(e.cfg.FlushInterval)
	defer timer.Stop()
	for {
		// A Flush waits for events up to its target; if one of them is in
		// this batch, send now rather than at the interval.
		if e.flushTarget.Load() > e.taken-int64(len(batch)) {
			return drain()
		}
		select {
		case p := <-e.ch:
			e.taken++
			if !add(p) {
				return batch
			}
		case <-timer.C:
			return batch
		case <-e.flush:
		case ctx := <-e.stop:
			e.stopping, e.loopCtx = true, ctx
			return drain()
		}
	}
}

// sendWithRetry sends one batch until it is queued or ctx ends. In the
// background loop (watchStop) a Close switches ctx to Close's context.
func (e *Emitter) sendWithRetry(ctx context.Context, batch []pending, watchStop bool) error {
	ids := make([]string, len(batch))
	bodies := make([][]byte, len(batch))
	for i, p := range batch {
		ids[i], bodies[i] = p.id, p.body
	}
	body, err := EncodeBatch(bodies)
	if err != nil {
		return err
	}
	msg := queue.Message{ID: BatchMessageID(ids), Body: body, ContentType: BatchContentType, Subject: BatchSubject,
		Properties: map[string]any{"events": int64(len(batch))}}
	delay := e.cfg.RetryInitial
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, e.cfg.SendTimeout)
		err = e.cfg.Sender.Send(actx, e.cfg.Queue, msg)
		cancel()
		if err == nil {
			e.consecutive.Store(0)
			if watchStop {
				e.sent.Add(int64(len(batch)))
			}
			return nil
		}
		e.sendFailures.Add(1)
		e.lastFailure.Store(e.cfg.Now().UnixNano())
		n := e.consecutive.Add(1)
		if n == int64(e.cfg.UnhealthyAfter) {
			e.log.Error("audit queue is failing; requests will be refused until it recovers", "queue", e.cfg.Queue, "attempts", n, "err", err)
		} else {
			e.log.Warn("audit send failed; retrying", "queue", e.cfg.Queue, "attempt", attempt, "events", len(batch), "err", err)
		}
		if ctx.Err() != nil {
			return err
		}
		// Full jitter keeps many instances from retrying in step.
		wait := time.Duration(rand.Int64N(int64(delay))) + delay/2
		delay = min(delay*2, e.cfg.RetryMax)
		t := time.NewTimer(wait)
		var stopCh chan context.Context
		if watchStop && !e.stopping {
			stopCh = e.stop
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case sctx := <-stopCh:
			t.Stop()
			e.stopping, e.loopCtx, ctx = true, sctx, sctx
		}
	}
}
