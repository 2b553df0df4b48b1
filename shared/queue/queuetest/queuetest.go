// Package queuetest is the contract suite every queue.Queues
// implementation passes: the embedded SQLite queue in every test run, and
// Azure Service Bus when a namespace is configured. The cases state
// Service Bus' semantics (peek-lock, delivery counts, dead-lettering, time
// to live, duplicate detection, exclusive expiring session locks and
// session state) so that code tested against the embedded queue behaves
// the same in Azure.
package queuetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/behalf-dev/behalf/shared/queue"
)

// QueueSpec is a queue a case needs; the factory creates it.
type QueueSpec struct {
	Name     string
	Sessions bool
	// LockDuration is the message (or session) lock; zero means the
	// implementation's default (Service Bus: 60 s).
	LockDuration time.Duration
	// DefaultTTL is the queue's time to live; zero means unlimited.
	DefaultTTL time.Duration
	// MaxDeliveries; zero means the default (10).
	MaxDeliveries int
	// DuplicateDetection turns duplicate detection by message id on (with
	// the implementation's default window, or its minimum).
	DuplicateDetection bool
	DeadLetterOnExpiry bool
}

// Timing scales the suite to what an implementation allows: Service Bus'
// shortest lock is 5 s, the embedded queue takes milliseconds.
type Timing struct {
	// Lock is the short lock duration of the lock-expiry cases.
	Lock time.Duration
	// TTL is the short time to live of the expiry cases.
	TTL time.Duration
	// Slack is how long past an expiry the broker may take to act on it.
	Slack time.Duration
	// Wait is how long a Receive waits for a message known to be there.
	Wait time.Duration
	// Empty is how long a Receive waits before the suite concludes that
	// nothing is there.
	Empty time.Duration
}

// Factory opens namespaces for the suite.
type Factory interface {
	Timing() Timing
	// Open returns a fresh namespace holding exactly these queues. It is
	// closed, and its queues removed, when t ends; failures go to t.
	Open(t testing.TB, queues ...QueueSpec) queue.Queues
}

// Run runs the contract suite against f. The cases run in parallel; each
// opens its own namespace.
func Run(t *testing.T, f Factory) {
	cases := []struct {
		name string
		fn   func(t *testing.T, f Factory)
	}{
		{"SendReceiveComplete", testSendReceiveComplete},
		{"AbandonRedelivers", testAbandonRedelivers},
		{"DeadLetter", testDeadLetter},
		{"SettleTwice", testSettleTwice},
		{"MessageLockExpiry", testMessageLockExpiry},
		{"RenewMessageLock", testRenewMessageLock},
		{"MaxDeliveries", testMaxDeliveries},
		{"TTLDeadLetter", testTTLDeadLetter},
		{"TTLWithoutDeadLettering", testTTLWithoutDeadLettering},
		{"QueueDefaultTTL", testQueueDefaultTTL},
		{"DuplicateDetection", testDuplicateDetection},
		{"AtomicBatch", testAtomicBatch},
		{"InvalidMessages", testInvalidMessages},
		{"UnknownQueue", testUnknownQueue},
		{"CompetingReceivers", testCompetingReceivers},
		{"SessionLockContention", testSessionLockContention},
		{"SessionLockExpiry", testSessionLockExpiry},
		{"SessionRenewLock", testSessionRenewLock},
		{"SessionState", testSessionState},
		{"SessionCloseReleases", testSessionCloseReleases},
		{"SessionAbandonAndMaxDeliveries", testSessionAbandonMaxDeliveries},
		{"SessionFIFO", testSessionFIFO},
		{"SessionTTLDeadLetter", testSessionTTLDeadLetter},
		{"AcceptNextSession", testAcceptNextSession},
		{"AcceptNextSessionWaits", testAcceptNextSessionWaits},
		{"AcceptEmptySession", testAcceptEmptySession},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, f)
		})
	}
}

// name returns a queue name unique to this run, so cases never meet in a
// shared namespace (Service Bus).
func name(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "qt-" + strings.ToLower(prefix) + "-" + hex.EncodeToString(b[:])
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func send(t *testing.T, ctx context.Context, q queue.Queues, qn string, msgs ...queue.Message) {
	t.Helper()
	if err := q.Send(ctx, qn, msgs...); err != nil {
		t.Fatalf("Send(%s): %v", qn, err)
	}
}

// receive1 waits for exactly one message on a queue without sessions.
func receive1(t *testing.T, ctx context.Context, f Factory, q queue.Queues, qn string) queue.Delivery {
	t.Helper()
	ds, err := q.Receive(ctx, qn, 1, f.Timing().Wait)
	if err != nil {
		t.Fatalf("Receive(%s): %v", qn, err)
	}
	if len(ds) != 1 {
		t.Fatalf("Receive(%s) = %d messages, want 1", qn, len(ds))
	}
	return ds[0]
}

// receiveN collects want messages from recv, waiting up to Wait overall.
func receiveN(t *testing.T, f Factory, want int, recv func(max int, wait time.Duration) ([]queue.Delivery, error)) []queue.Delivery {
	t.Helper()
	var got []queue.Delivery
	deadline := time.Now().Add(f.Timing().Wait)
	for len(got) < want {
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("received %d messages, want %d", len(got), want)
		}
		ds, err := recv(want-len(got), left)
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		got = append(got, ds...)
	}
	return got
}

func expectEmpty(t *testing.T, ctx context.Context, f Factory, q queue.Queues, qn string) {
	t.Helper()
	ds, err := q.Receive(ctx, qn, 10, f.Timing().Empty)
	if err != nil {
		t.Fatalf("Receive(%s): %v", qn, err)
	}
	if len(ds) != 0 {
		t.Fatalf("Receive(%s) = %d messages (first %q), want none", qn, len(ds), ds[0].Message().ID)
	}
}

func expectNoDeadLetters(t *testing.T, ctx context.Context, f Factory, q queue.Queues, qn string) {
	t.Helper()
	ds, err := q.ReceiveDeadLetters(ctx, qn, 10, f.Timing().Empty)
	if err != nil {
		t.Fatalf("ReceiveDeadLetters(%s): %v", qn, err)
	}
	if len(ds) != 0 {
		t.Fatalf("ReceiveDeadLetters(%s) = %d messages, want none", qn, len(ds))
	}
}

func deadLetter1(t *testing.T, ctx context.Context, f Factory, q queue.Queues, qn string) queue.Delivery {
	t.Helper()
	ds, err := q.ReceiveDeadLetters(ctx, qn, 1, f.Timing().Wait)
	if err != nil {
		t.Fatalf("ReceiveDeadLetters(%s): %v", qn, err)
	}
	if len(ds) != 1 {
		t.Fatalf("ReceiveDeadLetters(%s) = %d messages, want 1", qn, len(ds))
	}
	return ds[0]
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s = %v, want %v", what, err, want)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// sleepUntil sleeps until at, plus slack.
func sleepUntil(ctx context.Context, at time.Time, slack time.Duration) {
	sleep(ctx, time.Until(at)+slack)
}
