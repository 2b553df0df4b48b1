package audit_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/behalf-dev/behalf/shared/audit"
	"github.com/behalf-dev/behalf/shared/audit/audittest"
	"github.com/behalf-dev/behalf/shared/queue"
	"github.com/behalf-dev/behalf/shared/queue/embedded"
)

// TestEmitterOnTheEmbeddedQueue sends through the real embedded queue:
// batches arrive whole, a retried batch is dropped by duplicate detection,
// and an EmitDurable event is on the queue when it returns.
func TestEmitterOnTheEmbeddedQueue(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q, err := embedded.Open(ctx, embedded.Config{Path: filepath.Join(t.TempDir(), "queue.db"), Queues: []embedded.QueueConfig{{Name: "audit"}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close(ctx)
	e, err := audit.NewEmitter(audit.EmitterConfig{Sender: q, BatchSize: 10, FlushInterval: 10 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for i := range 45 {
		ev := audittest.Event(i)
		want[ev.ID] = true
		if err := e.Emit(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	durable := audittest.Event(99)
	durable.Status = audit.StatusExecuting
	want[durable.ID] = true
	if err := e.EmitDurable(ctx, durable); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for {
		dels, err := q.Receive(ctx, "audit", 100, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(dels) == 0 {
			break
		}
		for _, d := range dels {
			m := d.Message()
			b, err := audit.DecodeBatch(m.Body)
			if err != nil || len(b.Invalid) > 0 || m.ContentType != audit.BatchContentType {
				t.Fatalf("message %s: %v", m.ID, err)
			}
			for _, ev := range b.Events {
				if got[ev.ID] {
					t.Fatalf("event %s twice", ev.ID)
				}
				got[ev.ID] = true
			}
			if err := d.Complete(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d events on the queue, want %d", len(got), len(want))
	}
	// An answer lost after the queue stored the batch: the emitter resends
	// it with the same message id, and the queue drops the copy.
	lossy := &lostAnswer{q: q}
	e2, err := audit.NewEmitter(audit.EmitterConfig{Sender: lossy, RetryInitial: time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := e2.Emit(ctx, audittest.Event(7)); err != nil {
		t.Fatal(err)
	}
	if err := e2.Close(ctx); err != nil {
		t.Fatal(err)
	}
	dels, err := q.Receive(ctx, "audit", 10, 200*time.Millisecond)
	if err != nil || len(dels) != 1 || lossy.calls < 2 {
		t.Fatalf("%d messages after %d sends: %v", len(dels), lossy.calls, err)
	}
}

type lostAnswer struct {
	q     *embedded.Queues
	calls int
}

func (l *lostAnswer) Send(ctx context.Context, name string, msgs ...queue.Message) error {
	l.calls++
	if err := l.q.Send(ctx, name, msgs...); err != nil {
		return err
	}
	if l.calls == 1 {
		return errors.New("the answer was lost")
	}
	return nil
}
