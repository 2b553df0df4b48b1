package servicebus

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/behalf-dev/behalf/shared/queue"
)

// pool lends receive links of one queue (or its dead-letter queue): an
// azservicebus.Receiver serves one ReceiveMessages call at a time, while
// messages it delivered can be settled on it at any time.
type pool struct {
	sem    chan struct{}
	mu     sync.Mutex
	idle   []*azservicebus.Receiver
	create func() (*azservicebus.Receiver, error)
}

func (p *pool) acquire(ctx context.Context) (*azservicebus.Receiver, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		r := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return r, nil
	}
	p.mu.Unlock()
	r, err := p.create()
	if err != nil {
		<-p.sem
		return nil, err
	}
	return r, nil
}

func (p *pool) release(r *azservicebus.Receiver) {
	p.mu.Lock()
	p.idle = append(p.idle, r)
	p.mu.Unlock()
	<-p.sem
}

func (q *Queues) pool(name string, dead bool) (*pool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil, queue.ErrClosed
	}
	k := receiverKey{name, dead}
	if p, ok := q.receivers[k]; ok {
		return p, nil
	}
	opts := &azservicebus.ReceiverOptions{ReceiveMode: azservicebus.ReceiveModePeekLock}
	if dead {
		opts.SubQueue = azservicebus.SubQueueDeadLetter
	}
	p := &pool{sem: make(chan struct{}, receiversPerQueue), create: func() (*azservicebus.Receiver, error) {
		r, err := q.client.NewReceiverForQueue(name, opts)
		if err != nil {
			return nil, mapErr(err)
		}
		return r, nil
	}}
	q.receivers[k] = p
	return p, nil
}

// Receive peek-locks up to max messages of a queue without sessions.
func (q *Queues) Receive(ctx context.Context, name string, max int, wait time.Duration) ([]queue.Delivery, error) {
	return q.receive(ctx, name, false, max, wait)
}

// ReceiveDeadLetters peek-locks up to max messages of the queue's
// dead-letter sub-queue (which has no sessions, also for a session queue).
func (q *Queues) ReceiveDeadLetters(ctx context.Context, name string, max int, wait time.Duration) ([]queue.Delivery, error) {
	return q.receive(ctx, name, true, max, wait)
}

func (q *Queues) receive(ctx context.Context, name string, dead bool, max int, wait time.Duration) ([]queue.Delivery, error) {
	sessions, _, err := q.kind(name)
	if err != nil {
		return nil, err
	}
	if err := queue.CheckReceive(max, wait); err != nil {
		return nil, err
	}
	if sessions && !dead {
		return nil, fmt.Errorf("%w: queue %q has sessions: receive through AcceptSession or AcceptNextSession", queue.ErrInvalidArgument, name)
	}
	p, err := q.pool(name, dead)
	if err != nil {
		return nil, err
	}
	r, err := p.acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("servicebus: receive from %q: %w", name, err)
	}
	defer p.release(r)
	return receiveOn(ctx, name, wait, max, r, mapErr, func(m *azservicebus.ReceivedMessage) *delivery {
		return &delivery{msg: m, settler: r, mapErr: mapErr, renew: func(ctx context.Context) (time.Time, error) {
			if err := r.RenewMessageLock(ctx, m, nil); err != nil {
				return time.Time{}, err
			}
			if m.LockedUntil == nil {
				return time.Time{}, nil
			}
			return *m.LockedUntil, nil
		}}
	})
}

// messageReceiver is what Receiver and SessionReceiver share.
type messageReceiver interface {
	ReceiveMessages(ctx context.Context, max int, opts *azservicebus.ReceiveMessagesOptions) ([]*azservicebus.ReceivedMessage, error)
}

func receiveOn(ctx context.Context, name string, wait time.Duration, max int, r messageReceiver, mapFn func(error) error,
	wrap func(*azservicebus.ReceivedMessage) *delivery) ([]queue.Delivery, error) {
	rctx, cancel := boundedWait(ctx, wait)
	defer cancel()
	msgs, err := r.ReceiveMessages(rctx, max, nil)
	if err != nil && !waitEnded(ctx, err) {
		return nil, fmt.Errorf("servicebus: receive from %q: %w", name, mapFn(err))
	}
	out := make([]queue.Delivery, 0, len(msgs))
	for _, m := range msgs {
		d := wrap(m)
		d.rcv = fromSB(m)
		out = append(out, d)
	}
	return out, nil
}

// settler is how a message is settled: on the link that received it.
type settler interface {
	CompleteMessage(ctx context.Context, m *azservicebus.ReceivedMessage, o *azservicebus.CompleteMessageOptions) error
	AbandonMessage(ctx context.Context, m *azservicebus.ReceivedMessage, o *azservicebus.AbandonMessageOptions) error
	DeadLetterMessage(ctx context.Context, m *azservicebus.ReceivedMessage, o *azservicebus.DeadLetterOptions) error
}

type delivery struct {
	msg     *azservicebus.ReceivedMessage
	settler settler
	mapErr  func(error) error // mapErr, or sessionErr inside a session
	// renew renews the lock and returns its new end.
	renew func(ctx context.Context) (time.Time, error)

	mu      sync.Mutex
	rcv     queue.Received
	settled bool
}

var _ queue.Delivery = (*delivery)(nil)

func (d *delivery) Message() *queue.Received { return &d.rcv }

func (d *delivery) Complete(ctx context.Context) error {
	return d.settle(func() error { return d.settler.CompleteMessage(ctx, d.msg, nil) })
}

func (d *delivery) Abandon(ctx context.Context) error {
	return d.settle(func() error { return d.settler.AbandonMessage(ctx, d.msg, nil) })
}

func (d *delivery) DeadLetter(ctx context.Context, reason, description string) error {
	if err := queue.CheckDeadLetter(reason, description); err != nil {
		return err
	}
	return d.settle(func() error {
		return d.settler.DeadLetterMessage(ctx, d.msg, &azservicebus.DeadLetterOptions{Reason: &reason, ErrorDescription: &description})
	})
}

// settle runs one settlement. The SDK treats a second settlement of the
// same message as a no-op; the contract says it fails, so it is refused
// here.
func (d *delivery) settle(fn func() error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.settled {
		return fmt.Errorf("%w: message %q was already settled", queue.ErrLockLost, d.rcv.ID)
	}
	if err := fn(); err != nil {
		return fmt.Errorf("servicebus: settle %q: %w", d.rcv.ID, d.mapErr(err))
	}
	d.settled = true
	return nil
}

// RenewLock renews the message lock (in a session: the session lock).
func (d *delivery) RenewLock(ctx context.Context) error {
	d.mu.Lock()
	settled := d.settled
	d.mu.Unlock()
	if settled {
		return fmt.Errorf("%w: message %q was already settled", queue.ErrLockLost, d.rcv.ID)
	}
	until, err := d.renew(ctx)
	if err != nil {
		return fmt.Errorf("servicebus: renew lock of %q: %w", d.rcv.ID, d.mapErr(err))
	}
	if !until.IsZero() {
		d.mu.Lock()
		d.rcv.LockedUntil = until
		d.mu.Unlock()
	}
	return nil
}
