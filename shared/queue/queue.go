// Package queue is behalf's one interface to a message queue, with two
// implementations that pass one contract suite (queuetest): Azure Service
// Bus (azservicebus, managed identity) in Azure, and an embedded queue in a
// SQLite file for the dev stack and the standalone server.
//
// Two kinds of queue are used. The pending-operations queue is
// session-enabled: one session per operation (session id = op id) holding
// the operation as its only message, with the decisions kept in the
// session state. The audit queue has no sessions: audit events travel in
// batches and are written by the queue-triggered audit-writer.
//
// The semantics are Service Bus' own, so that code tested against the
// embedded queue behaves the same in Azure: peek-lock receive with
// complete / abandon / dead-letter; a delivery count, and dead-lettering
// after the queue's maximum deliveries; time to live, and dead-lettering
// of expired messages; duplicate detection by message id; exclusive,
// expiring session locks and session state.
package queue

import (
	"context"
	"errors"
	"time"
)

// Message is what is sent.
type Message struct {
	// ID is the message id; a second message with the same id within the
	// queue's duplicate-detection window is dropped (the send succeeds).
	ID string
	// SessionID is required on session queues and refused elsewhere.
	SessionID   string
	Body        []byte
	ContentType string
	Subject     string
	// Properties are application properties: string, bool, int64 or
	// float64 values.
	Properties map[string]any
	// TTL is the time to live; zero means the queue's default.
	TTL time.Duration
}

// Received is a delivered message and what the broker knows about it.
type Received struct {
	Message
	SequenceNumber int64
	// DeliveryCount is 1 on the first delivery.
	DeliveryCount int
	EnqueuedAt    time.Time
	// ExpiresAt is when the time to live ends (zero: never).
	ExpiresAt   time.Time
	LockedUntil time.Time
	// DeadLetterReason and DeadLetterDescription are set on messages
	// received from a dead-letter queue.
	DeadLetterReason      string
	DeadLetterDescription string
}

// Delivery is a peek-locked message. Exactly one of Complete, Abandon or
// DeadLetter settles it; after the lock expires they fail with
// ErrLockLost and the message is delivered again.
type Delivery interface {
	Message() *Received
	// Complete removes the message for good.
	Complete(ctx context.Context) error
	// Abandon releases the lock so the message is delivered again (its
	// delivery count has grown; at the queue's maximum it is
	// dead-lettered instead).
	Abandon(ctx context.Context) error
	// DeadLetter moves the message to the queue's dead-letter queue.
	DeadLetter(ctx context.Context, reason, description string) error
	// RenewLock extends the lock by the queue's lock duration.
	RenewLock(ctx context.Context) error
}

// Session is an exclusively locked session of a session-enabled queue.
// Only one holder at a time; the lock expires unless renewed, and Close
// releases it. Unsettled messages are released with it and delivered
// again; as in Service Bus, a release by Close does not count as a
// delivery, while a lapsed session lock does (abandon explicitly to count
// a failed attempt). Messages of a session are locked by the session lock:
// RenewLock on one of them renews the session.
type Session interface {
	ID() string
	// State returns the session state (nil when never set).
	State(ctx context.Context) ([]byte, error)
	// SetState replaces the session state; nil clears it.
	SetState(ctx context.Context, state []byte) error
	// Receive peek-locks up to max messages of this session, waiting up to
	// wait for the first; it returns an empty slice when none came.
	Receive(ctx context.Context, max int, wait time.Duration) ([]Delivery, error)
	RenewLock(ctx context.Context) error
	LockedUntil() time.Time
	Close(ctx context.Context) error
}

// Queues is a namespace of queues.
type Queues interface {
	// Send stores every message or none. It returns only once they are
	// durable.
	Send(ctx context.Context, queue string, msgs ...Message) error
	// Receive peek-locks up to max messages of a queue without sessions,
	// waiting up to wait for the first; it returns an empty slice when none
	// came.
	Receive(ctx context.Context, queue string, max int, wait time.Duration) ([]Delivery, error)
	// ReceiveDeadLetters is Receive on the queue's dead-letter queue.
	ReceiveDeadLetters(ctx context.Context, queue string, max int, wait time.Duration) ([]Delivery, error)
	// AcceptSession locks one session of a session-enabled queue, whether
	// or not it holds messages. It fails with ErrSessionLocked when
	// another holder has it.
	AcceptSession(ctx context.Context, queue, sessionID string) (Session, error)
	// AcceptNextSession locks any unlocked session that has messages,
	// waiting up to wait; ErrNoSession when none came.
	AcceptNextSession(ctx context.Context, queue string, wait time.Duration) (Session, error)
	Close(ctx context.Context) error
}

// Errors callers branch on.
var (
	// ErrSessionLocked: another receiver holds the session.
	ErrSessionLocked = errors.New("queue: the session is locked by another receiver")
	// ErrNoSession: no unlocked session with messages arrived in time.
	ErrNoSession = errors.New("queue: no session available")
	// ErrLockLost: the message or session lock expired or was released.
	ErrLockLost = errors.New("queue: the lock was lost")
	// ErrUnknownQueue: no such queue.
	ErrUnknownQueue = errors.New("queue: no such queue")
	// ErrInvalidMessage: a message the queue cannot take (too large, a
	// session id on a queue without sessions or none on one with them).
	ErrInvalidMessage = errors.New("queue: invalid message")
	// ErrInvalidArgument: a bad argument other than a message (a receive
	// count or wait out of bounds, an empty session id, an oversized
	// session state, Receive on a session queue).
	ErrInvalidArgument = errors.New("queue: invalid argument")
	// ErrClosed: the namespace (or the session) was closed.
	ErrClosed = errors.New("queue: closed")
)
