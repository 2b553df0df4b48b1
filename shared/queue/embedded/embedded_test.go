package embedded

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/behalf-dev/behalf/shared/queue"
)

// clock is a settable broker clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func open(t *testing.T, path string, now func() time.Time, qs ...QueueConfig) *Queues {
	t.Helper()
	q, err := Open(context.Background(), Config{Path: path, Queues: qs, Now: now, Logger: quietLogger()})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { q.Close(context.Background()) })
	return q
}

func TestOpenRejectsBadConfig(t *testing.T) {
	dir := t.TempDir()
	ok := QueueConfig{Name: "audit"}
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no path", Config{Queues: []QueueConfig{ok}}, "Path is required"},
		{"uri path", Config{Path: "file:x.db", Queues: []QueueConfig{ok}}, "plain file path"},
		{"query in path", Config{Path: filepath.Join(dir, "x.db?mode=ro"), Queues: []QueueConfig{ok}}, "plain file path"},
		{"no queues", Config{Path: filepath.Join(dir, "a.db")}, "declare between"},
		{"twice", Config{Path: filepath.Join(dir, "a.db"), Queues: []QueueConfig{ok, ok}}, "declared twice"},
		{"bad name", Config{Path: filepath.Join(dir, "a.db"), Queues: []QueueConfig{{Name: "a b"}}}, "may hold only"},
		{"empty name", Config{Path: filepath.Join(dir, "a.db"), Queues: []QueueConfig{{}}}, "1-260"},
		{"lock too long", Config{Path: filepath.Join(dir, "a.db"), Queues: []QueueConfig{{Name: "a", LockDuration: time.Hour}}}, "lock duration"},
		{"negative lock", Config{Path: filepath.Join(dir, "a.db"), Queues: []QueueConfig{{Name: "a", LockDuration: -time.Second}}}, "lock duration"},
		{"deliveries", Config{Path: filepath.Join(dir, "a.db"), Queues: []QueueConfig{{Name: "a", MaxDeliveries: -1}}}, "max deliveries"},
		{"ttl", Config{Path: filepath.Join(dir, "a.db"), Queues: []QueueConfig{{Name: "a", DefaultTTL: -time.Second}}}, "default TTL"},
		{"window", Config{Path: filepath.Join(dir, "a.db"), Queues: []QueueConfig{{Name: "a", DuplicateWindow: 30 * 24 * time.Hour}}}, "duplicate window"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q, err := Open(context.Background(), c.cfg)
			if err == nil {
				q.Close(context.Background())
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not mention %q", err, c.want)
			}
		})
	}
}

func TestReopenKeepsMessagesAndState(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	qs := []QueueConfig{{Name: "audit"}, {Name: "pending", Sessions: true}}
	q1, err := Open(ctx, Config{Path: path, Queues: qs, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := q1.Send(ctx, "audit", queue.Message{ID: "e1", Body: []byte("event")}); err != nil {
		t.Fatal(err)
	}
	if err := q1.Send(ctx, "pending", queue.Message{ID: "op-1", SessionID: "op-1", Body: []byte("stmt")}); err != nil {
		t.Fatal(err)
	}
	s, err := q1.AcceptSession(ctx, "pending", "op-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetState(ctx, []byte("pending")); err != nil {
		t.Fatal(err)
	}
	// Close releases the session held by this namespace.
	if err := q1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.State(ctx); !errors.Is(err, queue.ErrClosed) {
		t.Fatalf("State after Close = %v, want ErrClosed", err)
	}
	if err := q1.Send(ctx, "audit", queue.Message{}); !errors.Is(err, queue.ErrClosed) {
		t.Fatalf("Send after Close = %v, want ErrClosed", err)
	}
	if err := q1.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}

	q2 := open(t, path, nil, qs...)
	ds, err := q2.Receive(ctx, "audit", 10, time.Second)
	if err != nil || len(ds) != 1 || string(ds[0].Message().Body) != "event" {
		t.Fatalf("after reopen: %d messages, %v", len(ds), err)
	}
	s2, err := q2.AcceptSession(ctx, "pending", "op-1")
	if err != nil {
		t.Fatalf("AcceptSession after the first namespace closed: %v", err)
	}
	st, err := s2.State(ctx)
	if err != nil || string(st) != "pending" {
		t.Fatalf("state after reopen = %q, %v", st, err)
	}

	// The same file cannot be reopened with a queue's sessions flipped.
	_, err = Open(ctx, Config{Path: path, Queues: []QueueConfig{{Name: "pending"}}, Logger: quietLogger()})
	if err == nil || !strings.Contains(err.Error(), "sessions") {
		t.Fatalf("reopen with sessions flipped: %v", err)
	}
}

func TestWrongKindOfQueue(t *testing.T) {
	ctx := context.Background()
	q := open(t, filepath.Join(t.TempDir(), "q.db"), nil, QueueConfig{Name: "plain"}, QueueConfig{Name: "sess", Sessions: true})
	if _, err := q.Receive(ctx, "sess", 1, 0); !errors.Is(err, queue.ErrInvalidArgument) {
		t.Fatalf("Receive on a session queue = %v", err)
	}
	if _, err := q.AcceptSession(ctx, "plain", "s"); !errors.Is(err, queue.ErrInvalidArgument) {
		t.Fatalf("AcceptSession on a plain queue = %v", err)
	}
	if _, err := q.AcceptNextSession(ctx, "plain", 0); !errors.Is(err, queue.ErrInvalidArgument) {
		t.Fatalf("AcceptNextSession on a plain queue = %v", err)
	}
	if _, err := q.AcceptNextSession(ctx, "sess", queue.MaxWait+time.Second); !errors.Is(err, queue.ErrInvalidArgument) {
		t.Fatalf("AcceptNextSession with too long a wait = %v", err)
	}
}

// The broker clock drives expiry, lock lapses and the duplicate window.
func TestBrokerClock(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	q := open(t, filepath.Join(t.TempDir(), "q.db"), clk.Now,
		QueueConfig{Name: "work", LockDuration: time.Minute, DeadLetterOnExpiry: true},
		QueueConfig{Name: "capped", DefaultTTL: time.Hour})

	// Duplicate window: remembered for 10 minutes, then forgotten.
	mustSend := func(qn string, m queue.Message) {
		t.Helper()
		if err := q.Send(ctx, qn, m); err != nil {
			t.Fatal(err)
		}
	}
	receive := func(qn string) []queue.Delivery {
		t.Helper()
		ds, err := q.Receive(ctx, qn, 10, 0)
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	mustSend("work", queue.Message{ID: "d"})
	clk.Advance(9 * time.Minute)
	mustSend("work", queue.Message{ID: "d"})
	ds := receive("work")
	if len(ds) != 1 {
		t.Fatalf("within the window: %d messages", len(ds))
	}
	if err := ds[0].Complete(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Minute)
	mustSend("work", queue.Message{ID: "d"})
	if ds = receive("work"); len(ds) != 1 {
		t.Fatalf("after the window: %d messages", len(ds))
	}

	// Lock lapse by the broker clock: redelivered with a higher count.
	if got := receive("work"); len(got) != 0 {
		t.Fatalf("locked message delivered twice")
	}
	clk.Advance(61 * time.Second)
	again := receive("work")
	if len(again) != 1 || again[0].Message().DeliveryCount != 2 {
		t.Fatalf("after the lock lapsed: %d messages", len(again))
	}
	if err := ds[0].Complete(ctx); !errors.Is(err, queue.ErrLockLost) {
		t.Fatalf("stale Complete = %v", err)
	}
	if err := again[0].Complete(ctx); err != nil {
		t.Fatal(err)
	}

	// A locked message does not expire under its holder.
	mustSend("work", queue.Message{ID: "ttl", TTL: 30 * time.Second})
	held := receive("work")
	clk.Advance(45 * time.Second)
	if err := held[0].Complete(ctx); err != nil {
		t.Fatalf("Complete of a locked message past its TTL: %v", err)
	}
	mustSend("work", queue.Message{ID: "ttl2", TTL: 30 * time.Second})
	clk.Advance(31 * time.Second)
	if got := receive("work"); len(got) != 0 {
		t.Fatalf("expired message delivered")
	}
	dl, err := q.ReceiveDeadLetters(ctx, "work", 10, 0)
	if err != nil || len(dl) != 1 || dl[0].Message().DeadLetterReason != queue.ReasonTTLExpired {
		t.Fatalf("dead letters %d, %v", len(dl), err)
	}

	// The queue's default TTL caps a longer message TTL.
	mustSend("capped", queue.Message{ID: "long", TTL: 24 * time.Hour})
	c := receive("capped")
	if len(c) != 1 || c[0].Message().TTL != time.Hour || !c[0].Message().ExpiresAt.Equal(clk.Now().Add(time.Hour)) {
		t.Fatalf("capped TTL %v expires %v", c[0].Message().TTL, c[0].Message().ExpiresAt)
	}
}

func TestCallerMessagesUnchanged(t *testing.T) {
	ctx := context.Background()
	q := open(t, filepath.Join(t.TempDir(), "q.db"), nil, QueueConfig{Name: "work"})
	props := map[string]any{"n": 7}
	msgs := []queue.Message{{Properties: props}}
	if err := q.Send(ctx, "work", msgs...); err != nil {
		t.Fatal(err)
	}
	if msgs[0].ID != "" || props["n"] != 7 {
		t.Fatalf("Send changed the caller's message: %+v", msgs[0])
	}
	ds, err := q.Receive(ctx, "work", 1, time.Second)
	if err != nil || len(ds) != 1 {
		t.Fatal(err)
	}
	if ds[0].Message().ID == "" || ds[0].Message().Properties["n"] != int64(7) {
		t.Fatalf("received %+v", ds[0].Message().Message)
	}
}
