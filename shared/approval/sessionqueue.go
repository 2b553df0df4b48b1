package approval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/behalf-dev/behalf/shared/queue"
)

// SessionQueue keeps operations in a session-enabled queue (Service Bus
// or the embedded queue): one session per operation whose id is the op
// id, holding the operation as its only message (message id = op id for
// duplicate detection, time to live = the approval window) and the
// decisions in the session state.
type SessionQueue struct {
	Queues queue.Queues
	// Name is the pending-operations queue.
	Name string
	// ReceiveWait bounds how long reading or completing the operation's
	// message waits for it (default 2 s).
	ReceiveWait time.Duration
}

func (q *SessionQueue) wait() time.Duration {
	if q.ReceiveWait > 0 {
		return q.ReceiveWait
	}
	return 2 * time.Second
}

// Enqueue sends the operation as the only message of its session.
func (q *SessionQueue) Enqueue(ctx context.Context, op *Operation) error {
	body, err := json.Marshal(op)
	if err != nil {
		return err
	}
	ttl := time.Until(op.ExpiresAt)
	if ttl <= 0 {
		return fmt.Errorf("approval: operation %s expires in the past", op.ID)
	}
	return q.Queues.Send(ctx, q.Name, queue.Message{
		ID: op.ID, SessionID: op.ID, Body: body, ContentType: "application/json", Subject: "sql-operation", TTL: ttl,
	})
}

// Lock accepts the operation's session. The lock is renewed in the
// background while held, so a long-running statement does not lose it.
func (q *SessionQueue) Lock(ctx context.Context, opID string) (Locked, error) {
	s, err := q.Queues.AcceptSession(ctx, q.Name, opID)
	if errors.Is(err, queue.ErrSessionLocked) {
		return nil, ErrBusy
	}
	if err != nil {
		return nil, fmt.Errorf("approval: lock operation %s: %w", opID, err)
	}
	return q.hold(s), nil
}

// LockNext locks any operation session that still holds its message.
func (q *SessionQueue) LockNext(ctx context.Context, wait time.Duration) (string, Locked, error) {
	s, err := q.Queues.AcceptNextSession(ctx, q.Name, wait)
	if errors.Is(err, queue.ErrNoSession) {
		return "", nil, ErrNoneWaiting
	}
	if err != nil {
		return "", nil, err
	}
	return s.ID(), q.hold(s), nil
}

// DeadLettered receives dead-lettered operation messages.
func (q *SessionQueue) DeadLettered(ctx context.Context, max int, wait time.Duration) ([]DeadLetter, error) {
	ds, err := q.Queues.ReceiveDeadLetters(ctx, q.Name, max, wait)
	if err != nil {
		return nil, err
	}
	out := make([]DeadLetter, 0, len(ds))
	for _, d := range ds {
		m := d.Message()
		id := m.SessionID
		if id == "" {
			id = m.ID
		}
		out = append(out, DeadLetter{OpID: id, Reason: m.DeadLetterReason, Settle: func(ctx context.Context, done bool) error {
			if done {
				return d.Complete(ctx)
			}
			return d.Abandon(ctx)
		}})
	}
	return out, nil
}

func (q *SessionQueue) hold(s queue.Session) *lockedSession {
	ctx, cancel := context.WithCancel(context.Background())
	l := &lockedSession{q: q, s: s, stop: cancel, renewed: make(chan struct{})}
	go l.renew(ctx)
	return l
}

type lockedSession struct {
	q       *SessionQueue
	s       queue.Session
	stop    context.CancelFunc
	renewed chan struct{}

	mu   sync.Mutex
	msg  queue.Delivery
	op   *Operation
	gone bool
}

// renew keeps the session lock alive until Release: a statement may run
// longer than one lock duration, and losing the lock mid-run would let
// another visitor in while the outcome is still unknown.
func (l *lockedSession) renew(ctx context.Context) {
	defer close(l.renewed)
	for {
		left := time.Until(l.s.LockedUntil())
		wait := left / 2
		if wait < 100*time.Millisecond {
			wait = 100 * time.Millisecond
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if err := l.s.RenewLock(ctx); err != nil {
			return // the next state write fails with the lost lock
		}
	}
}

func (l *lockedSession) State(ctx context.Context) ([]byte, error) { return l.s.State(ctx) }

func (l *lockedSession) SetState(ctx context.Context, state []byte) error {
	return l.s.SetState(ctx, state)
}

func (l *lockedSession) Operation(ctx context.Context) (*Operation, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.receive(ctx)
}

func (l *lockedSession) receive(ctx context.Context) (*Operation, error) {
	if l.op != nil {
		return l.op, nil
	}
	if l.gone {
		return nil, ErrGone
	}
	ds, err := l.s.Receive(ctx, 1, l.q.wait())
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		l.gone = true
		return nil, ErrGone
	}
	var op Operation
	if err := json.Unmarshal(ds[0].Message().Body, &op); err != nil {
		// Not an operation: nothing behalf wrote. Keep it out of the way.
		_ = ds[0].DeadLetter(ctx, "InvalidOperation", "the message is not an operation")
		l.gone = true
		return nil, ErrGone
	}
	l.msg, l.op = ds[0], &op
	return l.op, nil
}

func (l *lockedSession) Complete(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.receive(ctx); err != nil {
		return err
	}
	if err := l.msg.Complete(ctx); err != nil {
		return err
	}
	l.msg, l.op, l.gone = nil, nil, true
	return nil
}

func (l *lockedSession) Release(ctx context.Context) {
	l.stop()
	<-l.renewed
	l.mu.Lock()
	defer l.mu.Unlock()
	// Closing the session releases an unsettled message without counting
	// a delivery (reading an operation is not a failed attempt).
	l.msg = nil
	_ = l.s.Close(ctx)
}
