package queue_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/behalf-dev/behalf/shared/funchost"
	"github.com/behalf-dev/behalf/shared/httpapi"
	"github.com/behalf-dev/behalf/shared/queue"
	"github.com/behalf-dev/behalf/shared/queue/embedded"
)

func openEmbedded(t *testing.T, qs ...embedded.QueueConfig) *embedded.Queues {
	t.Helper()
	q, err := embedded.Open(context.Background(), embedded.Config{Path: filepath.Join(t.TempDir(), "q.db"), Queues: qs,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close(context.Background()) })
	return q
}

func TestDriverSourceMapsAndSettles(t *testing.T) {
	ctx := context.Background()
	q := openEmbedded(t, embedded.QueueConfig{Name: "audit", MaxDeliveries: 2})
	src := queue.DriverSource(q)

	if d, err := src.Receive(ctx, "audit", 50*time.Millisecond); d != nil || err != nil {
		t.Fatalf("empty queue: %v, %v", d, err)
	}
	if _, err := src.Receive(ctx, "nope", 0); !errors.Is(err, queue.ErrUnknownQueue) {
		t.Fatalf("unknown queue: %v", err)
	}

	props := map[string]any{"kind": "audit.event", "n": int64(3)}
	if err := q.Send(ctx, "audit", queue.Message{ID: "e1", Body: []byte(`{"id":"e1"}`), ContentType: "application/json",
		Subject: "audit", Properties: props, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	d, err := src.Receive(ctx, "audit", time.Second)
	if err != nil || d == nil {
		t.Fatalf("Receive: %v, %v", d, err)
	}
	m := d.Message
	if m.MessageID != "e1" || string(m.Body) != `{"id":"e1"}` || m.ContentType != "application/json" || m.Subject != "audit" ||
		m.DeliveryCount != 1 || m.SequenceNumber <= 0 || m.EnqueuedTime.IsZero() || !m.ExpiresAt.Equal(m.EnqueuedTime.Add(time.Hour)) ||
		!reflect.DeepEqual(m.ApplicationProperties, props) || m.LockToken != "" {
		t.Fatalf("mapped message %+v", m)
	}

	// What the function decodes from the invocation is what was sent.
	inv, err := funchost.EncodeServiceBus("audit-writer", "msg", m, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	back, err := funchost.DecodeServiceBus(inv, "msg")
	if err != nil {
		t.Fatal(err)
	}
	if back.MessageID != "e1" || string(back.Body) != string(m.Body) || back.DeliveryCount != 1 || back.SequenceNumber != m.SequenceNumber ||
		back.ApplicationProperties["kind"] != "audit.event" {
		t.Fatalf("decoded invocation %+v", back)
	}

	// A failed invocation abandons: redelivered, then dead-lettered at
	// the queue's maximum.
	if err := d.Settle(ctx, false); err != nil {
		t.Fatal(err)
	}
	d, err = src.Receive(ctx, "audit", time.Second)
	if err != nil || d == nil || d.Message.DeliveryCount != 2 {
		t.Fatalf("redelivery: %+v, %v", d, err)
	}
	if err := d.Settle(ctx, false); err != nil {
		t.Fatal(err)
	}
	if d, err := src.Receive(ctx, "audit", 50*time.Millisecond); d != nil || err != nil {
		t.Fatalf("after max deliveries: %+v, %v", d, err)
	}
	dl, err := q.ReceiveDeadLetters(ctx, "audit", 1, time.Second)
	if err != nil || len(dl) != 1 || dl[0].Message().DeadLetterReason != queue.ReasonMaxDeliveries {
		t.Fatalf("dead letters: %d, %v", len(dl), err)
	}

	// A successful invocation completes.
	if err := q.Send(ctx, "audit", queue.Message{ID: "e2"}); err != nil {
		t.Fatal(err)
	}
	d, err = src.Receive(ctx, "audit", time.Second)
	if err != nil || d == nil {
		t.Fatal(err)
	}
	if err := d.Settle(ctx, true); err != nil {
		t.Fatal(err)
	}
	if err := d.Settle(ctx, true); !errors.Is(err, queue.ErrLockLost) {
		t.Fatalf("second settle: %v", err)
	}
	if d, err := src.Receive(ctx, "audit", 50*time.Millisecond); d != nil || err != nil {
		t.Fatalf("after complete: %+v, %v", d, err)
	}
}

// The local trigger driver pumps the embedded queue into a queue
// function through the invocation protocol.
func TestDriverPumpsEmbeddedQueue(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q := openEmbedded(t, embedded.QueueConfig{Name: "audit", MaxDeliveries: 2})
	var mu sync.Mutex
	seen := map[string]int{}
	app := &funchost.App{}
	app.AddTrigger(funchost.TriggerFunction{Name: "audit-writer", Handler: func(ctx context.Context, inv *funchost.Invocation) (*funchost.InvocationResult, error) {
		m, err := funchost.DecodeServiceBus(inv, "msg")
		if err != nil {
			return nil, err
		}
		mu.Lock()
		seen[m.MessageID]++
		mu.Unlock()
		if string(m.Body) == "poison" {
			return nil, errors.New("cannot store")
		}
		return &funchost.InvocationResult{}, nil
	}})
	h, err := app.Handler(httpapi.Limits{MaxBodyBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	fsys := fstest.MapFS{"audit-writer/function.json": {Data: []byte(`{"bindings":[{"type":"serviceBusTrigger","direction":"in","name":"msg","queueName":"audit","connection":"ServiceBusConnection"}]}`)}}
	drv, err := funchost.NewDriver(funchost.DriverConfig{Functions: fsys, BaseURL: srv.URL, Queues: queue.DriverSource(q),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Send(ctx, "audit", queue.Message{ID: "good", Body: []byte(`{"id":"e1"}`)}, queue.Message{ID: "bad", Body: []byte("poison")}); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- drv.Run(runCtx) }()
	// The poison message ends in the dead-letter queue after two tries.
	dl, err := q.ReceiveDeadLetters(ctx, "audit", 1, 20*time.Second)
	stop()
	<-done
	if err != nil || len(dl) != 1 || dl[0].Message().ID != "bad" {
		t.Fatalf("dead letters: %d, %v", len(dl), err)
	}
	mu.Lock()
	defer mu.Unlock()
	if seen["good"] != 1 || seen["bad"] != 2 {
		t.Fatalf("invocations %v, want good once and bad twice", seen)
	}
	if ds, err := q.Receive(context.Background(), "audit", 10, 0); err != nil || len(ds) != 0 {
		t.Fatalf("left in the queue: %d, %v", len(ds), err)
	}
}
