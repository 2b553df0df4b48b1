package auditwriter

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/behalf-dev/behalf/shared/audit"
	"github.com/behalf-dev/behalf/shared/audit/audittest"
	"github.com/behalf-dev/behalf/shared/audit/sqlitestore"
	"github.com/behalf-dev/behalf/shared/funchost"
	"github.com/behalf-dev/behalf/shared/queue"
	"github.com/behalf-dev/behalf/shared/queue/embedded"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openStore(t *testing.T) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), sqlitestore.Config{Path: filepath.Join(t.TempDir(), "audit.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openQueue(t *testing.T, maxDeliveries int) *embedded.Queues {
	t.Helper()
	q, err := embedded.Open(context.Background(), embedded.Config{Path: filepath.Join(t.TempDir(), "queue.db"),
		Queues: []embedded.QueueConfig{{Name: "audit", LockDuration: 5 * time.Second, MaxDeliveries: maxDeliveries}}, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close(context.Background()) })
	return q
}

// pump delivers every message on the audit queue to the function through
// the invocation protocol, the way the local trigger driver does, until
// the queue stays empty. It returns how many deliveries failed.
func pump(t *testing.T, q queue.Queues, fn funchost.TriggerFunction) int {
	t.Helper()
	src := queue.DriverSource(q)
	failed := 0
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		del, err := src.Receive(ctx, "audit", 200*time.Millisecond)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if del == nil {
			return failed
		}
		inv, err := funchost.EncodeServiceBus(fn.Name, Binding, del.Message, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		_, herr := fn.Handler(context.Background(), inv)
		if herr != nil {
			failed++
		}
		if err := del.Settle(context.Background(), herr == nil); err != nil {
			t.Fatal(err)
		}
	}
}

func newEmitter(t *testing.T, s audit.Sender) *audit.Emitter {
	t.Helper()
	e, err := audit.NewEmitter(audit.EmitterConfig{Sender: s, BatchSize: 9, FlushInterval: 5 * time.Millisecond,
		RetryInitial: time.Millisecond, RetryMax: 5 * time.Millisecond, UnhealthyAfter: 1000, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	return e
}

// flakyQueue fails a fifth of sends; half of those fail after the queue
// stored the batch (the answer was lost), so the emitter sends a batch
// the queue already holds.
type flakyQueue struct {
	queue.Queues
	mu  sync.Mutex
	rnd *rand.Rand
	n   atomic.Int64
}

func (f *flakyQueue) Send(ctx context.Context, name string, msgs ...queue.Message) error {
	f.mu.Lock()
	roll := f.rnd.IntN(10)
	f.mu.Unlock()
	switch {
	case roll == 0:
		f.n.Add(1)
		return errors.New("queue unavailable")
	case roll == 1:
		if err := f.Queues.Send(ctx, name, msgs...); err != nil {
			return err
		}
		f.n.Add(1)
		return errors.New("the answer was lost")
	}
	return f.Queues.Send(ctx, name, msgs...)
}

// crashingStore crashes in the middle of every third append: the first
// half of the batch is committed, then the writer dies.
type crashingStore struct {
	inner   audit.Appender
	calls   atomic.Int64
	crashes atomic.Int64
	partial atomic.Int64 // events the crashed appends had committed
}

func (c *crashingStore) Append(ctx context.Context, evs []audit.Event) (audit.AppendResult, error) {
	if c.calls.Add(1)%3 == 0 && len(evs) > 1 {
		res, err := c.inner.Append(ctx, evs[:len(evs)/2])
		if err != nil {
			return audit.AppendResult{}, err
		}
		c.partial.Add(int64(res.Appended))
		c.crashes.Add(1)
		return audit.AppendResult{}, errors.New("writer crashed mid-batch")
	}
	return c.inner.Append(ctx, evs)
}

// TestNoEventLostOrDuplicated is acceptance point 2: with the queue
// failing 20% of sends and the writer crashing mid-batch, every event is
// stored exactly once, in one verified chain.
func TestNoEventLostOrDuplicated(t *testing.T) {
	q := openQueue(t, 100)
	flaky := &flakyQueue{Queues: q, rnd: rand.New(rand.NewPCG(7, 9))}
	em := newEmitter(t, flaky)
	store := openStore(t)
	crashing := &crashingStore{inner: store}
	stats := &audit.WriterStats{}
	fn := Function(Config{Store: crashing, Stats: stats, Logger: quiet()})

	const writers, each = 4, 75
	ids := make(chan string, writers*each)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				ev := audittest.Event(w*each + i)
				if err := em.Emit(context.Background(), ev); err != nil {
					t.Error(err)
					return
				}
				ids <- ev.ID
			}
		}()
	}
	wg.Wait()
	close(ids)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := em.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	failed := pump(t, q, fn)

	recs := audittest.MustVerify(t, store)
	want := map[string]bool{}
	for id := range ids {
		want[id] = true
	}
	if len(recs) != len(want) {
		t.Fatalf("%d records for %d events", len(recs), len(want))
	}
	for _, r := range recs {
		if !want[r.Event.ID] {
			t.Fatalf("seq %d: event %s stored twice or never emitted", r.Seq, r.Event.ID)
		}
		delete(want, r.Event.ID)
	}
	if flaky.n.Load() == 0 || crashing.crashes.Load() == 0 || failed == 0 {
		t.Fatalf("the faults did not happen: %d send failures, %d crashes, %d failed deliveries", flaky.n.Load(), crashing.crashes.Load(), failed)
	}
	dl, err := q.ReceiveDeadLetters(context.Background(), "audit", 10, 10*time.Millisecond)
	if err != nil || len(dl) != 0 {
		t.Fatalf("dead letters: %d %v", len(dl), err)
	}
	s := stats.Snapshot()
	if s.Failed != int64(failed) || s.DeadLettered != 0 || s.Stored+crashing.partial.Load() != int64(len(recs)) {
		t.Fatalf("stats %+v, %d failed deliveries", s, failed)
	}
	t.Logf("%d events, %d failed sends, %d writer crashes, %d redeliveries, stats %+v", len(recs), flaky.n.Load(), crashing.crashes.Load(), failed, s)
}

// TestPoisonDoesNotBlockGoodEvents: invalid events are replaced by
// rejection records, the good ones are stored, the message completes, and
// a redelivery records nothing twice.
func TestPoisonDoesNotBlockGoodEvents(t *testing.T) {
	q := openQueue(t, 3)
	store := openStore(t)
	fn := Function(Config{Store: store, Logger: quiet()})
	good1, _ := audit.Canonical(audittest.Event(1))
	good2, _ := audit.Canonical(audittest.Event(2))
	body := `{"v":1,"events":[` + string(good1) + `,{"v":1,"id":"0195a0c4-0000-7000-8000-0000000000ff","status":"hacked","actor":{"upn":"Bearer abcdefghijklmnopqrstuvwxyz"}},` + string(good2) + `]}`
	msgs := []queue.Message{{ID: "m1", Body: []byte(body)}, {ID: "m2", Body: []byte("not a batch")}}
	if err := q.Send(context.Background(), "audit", msgs...); err != nil {
		t.Fatal(err)
	}
	if failed := pump(t, q, fn); failed != 0 {
		t.Fatalf("%d deliveries failed", failed)
	}
	recs := audittest.MustVerify(t, store)
	if len(recs) != 4 {
		t.Fatalf("%d records", len(recs))
	}
	var rejected []audit.Record
	for _, r := range recs {
		if r.Event.Action == ActionRejected {
			rejected = append(rejected, r)
		}
	}
	if len(rejected) != 2 || rejected[0].Event.Target.EventID != "0195a0c4-0000-7000-8000-0000000000ff" || rejected[0].Event.ErrorCode != CodeInvalidEvent ||
		rejected[1].Event.ErrorCode != CodeInvalidBatch || rejected[0].Event.RequestID != "m1" {
		t.Fatalf("rejections %+v", rejected)
	}
	if err := audit.ScanRecords(recs); err != nil {
		t.Fatal(err)
	}
	// The same message again (a redelivery after a lost completion).
	inv, _ := funchost.EncodeServiceBus(Name, Binding, &funchost.ServiceBusMessage{MessageID: "m1", Body: []byte(body), DeliveryCount: 2}, time.Now())
	if _, err := fn.Handler(context.Background(), inv); err != nil {
		t.Fatal(err)
	}
	if again := audittest.MustVerify(t, store); len(again) != 4 {
		t.Fatalf("redelivery added records: %d", len(again))
	}
}

type downStore struct{}

func (downStore) Append(context.Context, []audit.Event) (audit.AppendResult, error) {
	return audit.AppendResult{}, audit.ErrStoreUnavailable
}

// TestStoreOutageEndsInCountedDeadLetters: a store that stays down makes
// every delivery fail; after max deliveries the queue dead-letters the
// message, the writer counts it, and the health check reports it.
func TestStoreOutageEndsInCountedDeadLetters(t *testing.T) {
	q := openQueue(t, 3)
	stats := &audit.WriterStats{}
	fn := Function(Config{Store: downStore{}, Stats: stats, MaxDeliveries: 3, Logger: quiet()})
	b, _ := audit.Canonical(audittest.Event(1))
	body, _ := audit.EncodeBatch([][]byte{b})
	if err := q.Send(context.Background(), "audit", queue.Message{ID: "m1", Body: body}); err != nil {
		t.Fatal(err)
	}
	if failed := pump(t, q, fn); failed != 3 {
		t.Fatalf("%d failed deliveries, want 3", failed)
	}
	if s := stats.Snapshot(); s.Failed != 3 || s.DeadLettered != 1 {
		t.Fatalf("stats %+v", s)
	}
	dls, err := audit.NewDeadLetters(audit.DeadLetterConfig{Peeker: q, Writer: stats, Wait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // counting twice: peeking must not remove anything
		n, _, err := dls.Count(context.Background())
		if err != nil || n != 1 {
			t.Fatalf("dead letters %d %v", n, err)
		}
	}
	if err := dls.Check(context.Background()); err == nil {
		t.Fatal("health check passes with a dead-lettered audit message")
	}
}

func TestFunctionShape(t *testing.T) {
	fn := Function(Config{})
	if fn.Name != Name {
		t.Fatal(fn.Name)
	}
	inv, _ := funchost.EncodeServiceBus(Name, Binding, &funchost.ServiceBusMessage{MessageID: "x", Body: []byte("{}")}, time.Now())
	if _, err := fn.Handler(context.Background(), inv); err == nil {
		t.Fatal("a writer without a store succeeded")
	}
	fjs, err := funchost.LoadFunctions(os.DirFS(".."))
	if err != nil {
		t.Fatal(err)
	}
	trig, err := fjs["audit-writer"].Trigger()
	if err != nil || trig.Type != "serviceBusTrigger" || trig.Name != Binding || trig.QueueName != "audit" || trig.IsSessionsEnabled {
		t.Fatalf("function.json trigger %+v %v", trig, err)
	}
}
