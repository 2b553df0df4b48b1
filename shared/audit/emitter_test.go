package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/behalf-dev/behalf/shared/logging"
	"github.com/behalf-dev/behalf/shared/queue"
)

// fakeQueue is an in-memory audit queue with Service Bus' duplicate
// detection by message id. fail decides each call: an error, and whether
// the message was stored anyway (an answer lost on the way back).
type fakeQueue struct {
	mu    sync.Mutex
	msgs  []queue.Message
	ids   map[string]bool
	calls int
	fail  func(call int) (err error, storedAnyway bool)
}

func newFakeQueue() *fakeQueue { return &fakeQueue{ids: map[string]bool{}} }

func (f *fakeQueue) Send(ctx context.Context, q string, msgs ...queue.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if q != "audit" {
		return queue.ErrUnknownQueue
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var err error
	stored := true
	if f.fail != nil {
		if err, stored = f.fail(f.calls); err == nil {
			stored = true
		}
	}
	if stored {
		for _, m := range msgs {
			if !f.ids[m.ID] {
				f.ids[m.ID] = true
				f.msgs = append(f.msgs, m)
			}
		}
	}
	return err
}

func (f *fakeQueue) setFail(fn func(int) (error, bool)) {
	f.mu.Lock()
	f.fail = fn
	f.mu.Unlock()
}

// events decodes every stored message and checks its id.
func (f *fakeQueue) events(t *testing.T) []Event {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Event
	for _, m := range f.msgs {
		d, err := DecodeBatch(m.Body)
		if err != nil || len(d.Invalid) > 0 {
			t.Fatalf("message %s: %v %+v", m.ID, err, d)
		}
		var ids []string
		for _, ev := range d.Events {
			ids = append(ids, ev.ID)
		}
		if m.ID != BatchMessageID(ids) || m.ContentType != BatchContentType {
			t.Fatalf("message id %s does not derive from its events", m.ID)
		}
		out = append(out, d.Events...)
	}
	return out
}

var errDown = errors.New("queue down")

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newEmitter(t *testing.T, q Sender, mod func(*EmitterConfig)) *Emitter {
	t.Helper()
	cfg := EmitterConfig{Sender: q, FlushInterval: 20 * time.Millisecond, RetryInitial: time.Millisecond, RetryMax: 5 * time.Millisecond, Logger: quiet()}
	if mod != nil {
		mod(&cfg)
	}
	e, err := NewEmitter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = e.Close(ctx)
	})
	return e
}

func testEvent(i int) Event {
	return Event{Function: "genie-query", Action: "genie.ask", Actor: Actor{OID: fmt.Sprintf("oid-%d", i)}, Status: StatusSuccess}
}

func flush(t *testing.T, e *Emitter) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func checkOnce(t *testing.T, got []Event, n int) {
	t.Helper()
	seen := map[string]bool{}
	for _, ev := range got {
		if seen[ev.ID] {
			t.Fatalf("event %s queued twice", ev.ID)
		}
		seen[ev.ID] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct events queued, want %d", len(seen), n)
	}
}

func TestEmitterBatchesAndFillsDefaults(t *testing.T) {
	q := newFakeQueue()
	e := newEmitter(t, q, func(c *EmitterConfig) { c.BatchSize = 100; c.FlushInterval = time.Hour })
	ctx := logging.WithRequestID(context.Background(), "req-abc")
	for i := range 250 {
		if err := e.Emit(ctx, testEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, e)
	got := q.events(t)
	checkOnce(t, got, 250)
	if len(q.msgs) != 3 {
		t.Fatalf("%d messages for 250 events in batches of 100", len(q.msgs))
	}
	for i, ev := range got {
		if ev.RequestID != "req-abc" || ev.Time.IsZero() || ev.Actor.OID != fmt.Sprintf("oid-%d", i) {
			t.Fatalf("event %d: %+v (order or defaults lost)", i, ev)
		}
	}
	if s := e.Stats(); s.Accepted != 250 || s.Sent != 250 || s.Buffered != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestEmitterFlushesOnTheInterval(t *testing.T) {
	q := newFakeQueue()
	e := newEmitter(t, q, nil)
	if err := e.Emit(context.Background(), testEvent(1)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(q.events(t)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("a lone event was never sent")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEmitterSplitsBatchesByBytes(t *testing.T) {
	q := newFakeQueue()
	e := newEmitter(t, q, func(c *EmitterConfig) { c.MaxBatchBytes = 40 << 10; c.FlushInterval = time.Hour })
	for i := range 10 {
		ev := testEvent(i)
		ev.Statement = strings.Repeat("x", 15<<10)
		ev.StatementSHA256 = StatementSHA256(ev.Statement)
		if err := e.Emit(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, e)
	checkOnce(t, q.events(t), 10)
	for _, m := range q.msgs {
		if len(m.Body) > 40<<10 {
			t.Fatalf("message of %d bytes", len(m.Body))
		}
	}
	if len(q.msgs) < 5 {
		t.Fatalf("%d messages: batches were not split by size", len(q.msgs))
	}
}

func TestEmitterRefusesWhenTheBufferIsFull(t *testing.T) {
	q := newFakeQueue()
	q.setFail(func(int) (error, bool) { return errDown, false })
	e := newEmitter(t, q, func(c *EmitterConfig) { c.BufferSize = 5; c.BatchSize = 1; c.ReadFailMode = FailOpen })
	// Let the sender take the first event (and keep failing to send it)
	// before filling the buffer, so that the buffer stays full.
	if err := e.Emit(context.Background(), testEvent(0)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		q.mu.Lock()
		calls := q.calls
		q.mu.Unlock()
		if calls > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sender never tried")
		}
		time.Sleep(time.Millisecond)
	}
	var refused int
	for i := 1; i < 20; i++ {
		switch err := e.Emit(context.Background(), testEvent(i)); {
		case errors.Is(err, ErrBufferFull):
			refused++
		case err != nil:
			t.Fatal(err)
		}
	}
	// One event is held by the sender, five wait: the rest are refused,
	// never dropped silently.
	if refused < 14 || e.Stats().Refused != int64(refused) {
		t.Fatalf("refused %d, stats %+v", refused, e.Stats())
	}
	if err := e.Healthy(); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("healthy with a full buffer: %v", err)
	}
	if err := e.Admit(Change); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("a change was admitted: %v", err)
	}
	if err := e.Admit(Read); err != nil {
		t.Fatalf("fail-open read refused: %v", err)
	}
	q.setFail(nil)
	flush(t, e)
	checkOnce(t, q.events(t), 20-refused)
	if err := e.Healthy(); err != nil {
		t.Fatalf("not healthy after recovery: %v", err)
	}
}

func TestEmitterRetriesAndTurnsUnhealthy(t *testing.T) {
	q := newFakeQueue()
	q.setFail(func(int) (error, bool) { return errDown, false })
	e := newEmitter(t, q, func(c *EmitterConfig) { c.UnhealthyAfter = 3 })
	if err := e.Emit(context.Background(), testEvent(1)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.Healthy() == nil {
		if time.Now().After(deadline) {
			t.Fatal("still healthy while every send fails")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := e.Admit(Read); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("fail-closed read admitted: %v", err)
	}
	q.setFail(nil)
	flush(t, e)
	checkOnce(t, q.events(t), 1)
	if err := e.Healthy(); err != nil || e.Stats().SendFailures < 3 {
		t.Fatalf("after recovery: %v %+v", err, e.Stats())
	}
}

func TestEmitDurableReturnsOnlyOnceQueued(t *testing.T) {
	q := newFakeQueue()
	q.setFail(func(call int) (error, bool) {
		if call <= 2 {
			return errDown, false
		}
		return nil, true
	})
	e := newEmitter(t, q, nil)
	ev := testEvent(1)
	ev.Status = StatusExecuting
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.EmitDurable(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if got := q.events(t); len(got) != 1 || got[0].Status != StatusExecuting {
		t.Fatalf("durable event not queued: %+v", got)
	}
	q.setFail(func(int) (error, bool) { return errDown, false })
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if err := e.EmitDurable(short, testEvent(2)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("durable emit with the queue down: %v", err)
	}
	if s := e.Stats(); s.Durable != 1 || s.DurableFailed != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestEmitterRefusesInvalidEvents(t *testing.T) {
	e := newEmitter(t, newFakeQueue(), nil)
	bad := testEvent(1)
	bad.Actor.UPN = "Bearer abcdefghijklmnopqrstuvwxyz"
	if err := e.Emit(context.Background(), bad); !errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("emit: %v", err)
	}
	if err := e.EmitDurable(context.Background(), bad); !errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("emit durable: %v", err)
	}
	if e.Stats().Invalid != 2 {
		t.Fatalf("stats %+v", e.Stats())
	}
}

func TestCloseFlushesAndThenRefuses(t *testing.T) {
	q := newFakeQueue()
	e := newEmitter(t, q, func(c *EmitterConfig) { c.FlushInterval = time.Hour })
	for i := range 30 {
		if err := e.Emit(context.Background(), testEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkOnce(t, q.events(t), 30)
	if err := e.Emit(context.Background(), testEvent(99)); !errors.Is(err, ErrClosed) {
		t.Fatalf("emit after close: %v", err)
	}
	if err := e.Healthy(); !errors.Is(err, ErrClosed) {
		t.Fatalf("healthy after close: %v", err)
	}
}

func TestCloseCountsWhatItCouldNotSend(t *testing.T) {
	q := newFakeQueue()
	q.setFail(func(int) (error, bool) { return errDown, false })
	e := newEmitter(t, q, func(c *EmitterConfig) { c.BatchSize = 4 })
	for i := range 10 {
		if err := e.Emit(context.Background(), testEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := e.Close(ctx); !errors.Is(err, ErrLost) {
		t.Fatalf("close with the queue down: %v", err)
	}
	if s := e.Stats(); s.Lost != 10 || s.Sent != 0 {
		t.Fatalf("stats %+v", s)
	}
	if err := e.Check(context.Background()); err == nil {
		t.Fatal("health check passes after losing events")
	}
}

// TestFlakyQueueLosesNothing: with a fifth of sends failing — some after
// the queue stored the message — every event is queued, and the
// duplicates a retry produces carry the same message id.
func TestFlakyQueueLosesNothing(t *testing.T) {
	q := newFakeQueue()
	q.setFail(func(call int) (error, bool) {
		if call%5 == 0 {
			return errDown, call%10 == 0
		}
		return nil, true
	})
	e := newEmitter(t, q, func(c *EmitterConfig) { c.BatchSize = 7; c.UnhealthyAfter = 100 })
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				if err := e.Emit(context.Background(), testEvent(g*100+i)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	flush(t, e)
	checkOnce(t, q.events(t), 400)
	if e.Stats().SendFailures == 0 {
		t.Fatal("no send failed: the test did not test retries")
	}
}

func TestEmitterConfigIsChecked(t *testing.T) {
	for name, cfg := range map[string]EmitterConfig{
		"no sender":      {},
		"batch too big":  {Sender: newFakeQueue(), BatchSize: MaxBatch + 1},
		"bad fail mode":  {Sender: newFakeQueue(), ReadFailMode: "sometimes"},
		"negative batch": {Sender: newFakeQueue(), BufferSize: -1},
	} {
		if _, err := NewEmitter(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
