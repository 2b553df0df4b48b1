package embedded

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/behalf-dev/behalf/shared/queue"
)

// delivery is one peek-locked message. Its lock is the row's lock_token
// (unique per delivery, so a stale delivery can never settle a later
// one); inside a session the session lock must be held too.
type delivery struct {
	q     *Queues
	c     QueueConfig
	seq   int64
	token string
	sess  *session // nil outside sessions

	mu      sync.Mutex
	msg     queue.Received
	settled bool
}

var _ queue.Delivery = (*delivery)(nil)

// Message returns the message; RenewLock updates its LockedUntil.
func (d *delivery) Message() *queue.Received { return &d.msg }

const lockHeld = ` WHERE seq = ? AND lock_token = ? AND locked_until > ?`

// Complete removes the message.
func (d *delivery) Complete(ctx context.Context) error {
	return d.settle(ctx, "complete", false, func(tx *sql.Tx, now int64) (sql.Result, error) {
		return tx.ExecContext(ctx, `DELETE FROM messages`+lockHeld, d.seq, d.token, now)
	})
}

// Abandon releases the message for another delivery, or dead-letters it
// when it has had the queue's maximum deliveries.
func (d *delivery) Abandon(ctx context.Context) error {
	return d.settle(ctx, "abandon", true, func(tx *sql.Tx, now int64) (sql.Result, error) {
		// SET expressions all see the old row, so the CASEs agree.
		return tx.ExecContext(ctx, `UPDATE messages SET lock_token = NULL, holder = NULL, locked_until = 0,
			dead = CASE WHEN dead = 0 AND deliveries >= ? THEN 1 ELSE dead END,
			dl_reason = CASE WHEN dead = 0 AND deliveries >= ? THEN ? ELSE dl_reason END,
			dl_description = CASE WHEN dead = 0 AND deliveries >= ? THEN ? ELSE dl_description END`+lockHeld,
			d.c.MaxDeliveries, d.c.MaxDeliveries, queue.ReasonMaxDeliveries, d.c.MaxDeliveries, maxDeliveriesText(d.c),
			d.seq, d.token, now)
	})
}

// DeadLetter moves the message to the dead-letter queue.
func (d *delivery) DeadLetter(ctx context.Context, reason, description string) error {
	if err := queue.CheckDeadLetter(reason, description); err != nil {
		return err
	}
	return d.settle(ctx, "dead-letter", true, func(tx *sql.Tx, now int64) (sql.Result, error) {
		return tx.ExecContext(ctx, `UPDATE messages SET dead = 1, lock_token = NULL, holder = NULL, locked_until = 0,
			dl_reason = ?, dl_description = ?`+lockHeld, reason, description, d.seq, d.token, now)
	})
}

func (d *delivery) settle(ctx context.Context, op string, wake bool, apply func(tx *sql.Tx, now int64) (sql.Result, error)) error {
	d.mu.Lock()
	settled := d.settled
	d.mu.Unlock()
	if settled {
		return fmt.Errorf("%w: message %q was already settled", queue.ErrLockLost, d.msg.ID)
	}
	var n int64
	err := d.q.tx(ctx, op, func(tx *sql.Tx, now int64) error {
		n = 0
		if d.sess != nil {
			held, err := d.sess.held(ctx, tx, now)
			if err != nil || !held {
				return err
			}
		}
		res, err := apply(tx, now)
		if err != nil {
			return fmt.Errorf("embedded: %s: %w", op, err)
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: message %q", queue.ErrLockLost, d.msg.ID)
	}
	d.mu.Lock()
	d.settled = true
	d.mu.Unlock()
	if wake {
		d.q.notify.broadcast()
	}
	return nil
}

// RenewLock extends the lock by the queue's lock duration; inside a
// session it renews the session (which holds the message).
func (d *delivery) RenewLock(ctx context.Context) error {
	d.mu.Lock()
	settled := d.settled
	d.mu.Unlock()
	if settled {
		return fmt.Errorf("%w: message %q was already settled", queue.ErrLockLost, d.msg.ID)
	}
	if d.sess != nil {
		return d.sess.RenewLock(ctx)
	}
	var until int64
	var n int64
	err := d.q.tx(ctx, "renew", func(tx *sql.Tx, now int64) error {
		until = now + int64(d.c.LockDuration)
		res, err := tx.ExecContext(ctx, `UPDATE messages SET locked_until = ?`+lockHeld, until, d.seq, d.token, now)
		if err != nil {
			return fmt.Errorf("embedded: renew: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: message %q", queue.ErrLockLost, d.msg.ID)
	}
	d.mu.Lock()
	d.msg.LockedUntil = time.Unix(0, until).UTC()
	d.mu.Unlock()
	return nil
}
