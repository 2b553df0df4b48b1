package funchost

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/behalf-dev/behalf/shared/httpapi"
)

// chanSource is an in-memory QueueSource recording how each delivery was settled.
type chanSource struct {
	msgs    chan *ServiceBusMessage
	mu      sync.Mutex
	settled map[string]bool
	done    chan struct{}
}

func (c *chanSource) Receive(ctx context.Context, queue string, wait time.Duration) (*Delivery, error) {
	select {
	case m := <-c.msgs:
		return &Delivery{Message: m, Settle: func(ctx context.Context, ok bool) error {
			c.mu.Lock()
			c.settled[m.MessageID] = ok
			n := len(c.settled)
			c.mu.Unlock()
			if n == 2 {
				close(c.done)
			}
			return nil
		}}, nil
	case <-time.After(wait):
		return nil, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func TestDriverDeliversThroughInvocationProtocol(t *testing.T) {
	fsys := fstest.MapFS{
		"audit-writer/function.json": {Data: []byte(`{"bindings":[{"type":"serviceBusTrigger","direction":"in","name":"msg","queueName":"audit","connection":"ServiceBusConnection"}]}`)},
		"audit-export/function.json": {Data: []byte(`{"bindings":[{"type":"timerTrigger","direction":"in","name":"timer","schedule":"%ExportSchedule%"}]}`)},
		"health/function.json":       {Data: []byte(`{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","methods":["get"],"route":"health"},{"type":"http","direction":"out","name":"res"}]}`)},
	}
	var mu sync.Mutex
	var bodies []string
	var ticks int
	app := &App{}
	app.AddTrigger(TriggerFunction{Name: "audit-writer", Handler: func(ctx context.Context, inv *Invocation) (*InvocationResult, error) {
		m, err := DecodeServiceBus(inv, "msg")
		if err != nil {
			return nil, err
		}
		mu.Lock()
		bodies = append(bodies, string(m.Body))
		mu.Unlock()
		if string(m.Body) == "poison" {
			return nil, errors.New("cannot store")
		}
		return &InvocationResult{}, nil
	}})
	app.AddTrigger(TriggerFunction{Name: "audit-export", Handler: func(ctx context.Context, inv *Invocation) (*InvocationResult, error) {
		if _, err := DecodeTimer(inv, "timer"); err != nil {
			return nil, err
		}
		mu.Lock()
		ticks++
		mu.Unlock()
		return &InvocationResult{}, nil
	}})
	h, err := app.Handler(httpapi.Limits{MaxBodyBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	src := &chanSource{msgs: make(chan *ServiceBusMessage, 2), settled: map[string]bool{}, done: make(chan struct{})}
	src.msgs <- &ServiceBusMessage{MessageID: "good", Body: []byte(`{"id":"e1"}`), EnqueuedTime: time.Now()}
	src.msgs <- &ServiceBusMessage{MessageID: "bad", Body: []byte(`poison`), EnqueuedTime: time.Now()}

	d, err := NewDriver(DriverConfig{Functions: fsys, BaseURL: srv.URL, Queues: src,
		Setting: func(n string) string {
			if n == "ExportSchedule" {
				return "0 0 2 * * *"
			}
			return ""
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- d.Run(ctx) }()
	select {
	case <-src.done:
	case <-time.After(30 * time.Second):
		t.Fatal("messages were not delivered")
	}
	if err := d.Fire(ctx, "audit-export"); err != nil {
		t.Fatalf("manual timer tick: %v", err)
	}
	if err := d.Fire(ctx, "audit-writer"); err == nil {
		t.Fatal("Fire accepted a queue function")
	}
	cancel()
	<-runErr

	src.mu.Lock()
	defer src.mu.Unlock()
	if !src.settled["good"] || src.settled["bad"] {
		t.Fatalf("settlements %v: a success must complete, a failure must abandon", src.settled)
	}
	if ticks != 1 || len(bodies) != 2 || bodies[0] != `{"id":"e1"}` {
		t.Fatalf("ticks %d bodies %q", ticks, bodies)
	}
}

func TestDriverRejectsBadSchedule(t *testing.T) {
	fsys := fstest.MapFS{"t/function.json": {Data: []byte(`{"bindings":[{"type":"timerTrigger","direction":"in","name":"timer","schedule":"every day"}]}`)}}
	d, err := NewDriver(DriverConfig{Functions: fsys, BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Run(context.Background()); err == nil {
		t.Fatal("bad schedule accepted")
	}
}
