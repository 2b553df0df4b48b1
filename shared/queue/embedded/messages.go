package embedded

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/behalf-dev/behalf/shared/queue"
	"github.com/google/uuid"
)

// Send stores every message or none, in one transaction that is on disk
// before Send returns. A message whose id the queue saw within its
// duplicate window is dropped, and the send still succeeds.
func (q *Queues) Send(ctx context.Context, name string, msgs ...queue.Message) error {
	c, err := q.config(name)
	if err != nil {
		return err
	}
	prepared, err := queue.PrepareBatch(msgs, c.Sessions)
	if err != nil {
		return err
	}
	props := make([][]byte, len(prepared))
	for i := range prepared {
		if props[i], err = encodeProps(prepared[i].Properties); err != nil {
			return fmt.Errorf("%w: message %d: %w", queue.ErrInvalidMessage, i, err)
		}
	}
	dropped := 0
	err = q.tx(ctx, "send", func(tx *sql.Tx, now int64) error {
		dropped = 0
		dedup := c.DuplicateWindow > 0
		if dedup {
			if _, err := tx.ExecContext(ctx, `DELETE FROM duplicates WHERE queue = ? AND seen <= ?`, c.Name, now-int64(c.DuplicateWindow)); err != nil {
				return fmt.Errorf("embedded: send: %w", err)
			}
		}
		for i, m := range prepared {
			if dedup {
				res, err := tx.ExecContext(ctx, `INSERT INTO duplicates (queue, message_id, seen) VALUES (?, ?, ?)
					ON CONFLICT (queue, message_id) DO NOTHING`, c.Name, m.ID, now)
				if err != nil {
					return fmt.Errorf("embedded: send: %w", err)
				}
				if n, _ := res.RowsAffected(); n == 0 {
					dropped++
					continue
				}
			}
			ttl := effectiveTTL(m.TTL, c.DefaultTTL)
			var expires int64
			if ttl > 0 {
				expires = now + int64(ttl)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO messages
				(queue, message_id, session_id, body, content_type, subject, props, ttl, enqueued, expires)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				c.Name, m.ID, m.SessionID, m.Body, m.ContentType, m.Subject, props[i], int64(ttl), now, expires); err != nil {
				return fmt.Errorf("embedded: send: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if dropped > 0 {
		q.log.Debug("queue: duplicate messages dropped", "queue", c.Name, "dropped", dropped)
	}
	q.notify.broadcast()
	return nil
}

// effectiveTTL applies the queue's default and cap, as Service Bus does.
func effectiveTTL(msg, queueDefault time.Duration) time.Duration {
	if queueDefault > 0 && (msg == 0 || msg > queueDefault) {
		return queueDefault
	}
	return msg
}

// Receive peek-locks up to max messages of a queue without sessions.
func (q *Queues) Receive(ctx context.Context, name string, max int, wait time.Duration) ([]queue.Delivery, error) {
	return q.receive(ctx, name, false, max, wait)
}

// ReceiveDeadLetters peek-locks up to max messages of the queue's
// dead-letter queue (which has no sessions, also for a session queue).
func (q *Queues) ReceiveDeadLetters(ctx context.Context, name string, max int, wait time.Duration) ([]queue.Delivery, error) {
	return q.receive(ctx, name, true, max, wait)
}

func (q *Queues) receive(ctx context.Context, name string, dead bool, max int, wait time.Duration) ([]queue.Delivery, error) {
	c, err := q.config(name)
	if err != nil {
		return nil, err
	}
	if err := queue.CheckReceive(max, wait); err != nil {
		return nil, err
	}
	if c.Sessions && !dead {
		return nil, fmt.Errorf("%w: queue %q has sessions: receive through AcceptSession or AcceptNextSession", queue.ErrInvalidArgument, name)
	}
	out := []queue.Delivery{}
	err = q.poll(ctx, wait, func() (bool, error) {
		var got []queue.Delivery
		err := q.tx(ctx, "receive", func(tx *sql.Tx, now int64) error {
			got = nil
			if err := q.sweep(ctx, tx, c, now); err != nil {
				return err
			}
			seqs, err := selectSeqs(ctx, tx, `SELECT seq FROM messages WHERE queue = ? AND dead = ? AND locked_until <= ? ORDER BY seq LIMIT ?`,
				c.Name, dead, now, max)
			if err != nil {
				return err
			}
			until := now + int64(c.LockDuration)
			for _, seq := range seqs {
				d := &delivery{q: q, c: c, seq: seq, token: uuid.NewString()}
				row := tx.QueryRowContext(ctx, `UPDATE messages SET lock_token = ?, holder = NULL, locked_until = ?, deliveries = deliveries + 1
					WHERE seq = ? RETURNING `+receivedColumns, d.token, until, seq)
				if d.msg, err = scanReceived(row); err != nil {
					return err
				}
				got = append(got, d)
			}
			return nil
		})
		if err != nil {
			return false, err
		}
		out = append(out, got...)
		return len(out) > 0, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func selectSeqs(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}
	defer rows.Close()
	var seqs []int64
	for rows.Next() {
		var s int64
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("embedded: %w", err)
		}
		seqs = append(seqs, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}
	return seqs, nil
}

const receivedColumns = `seq, message_id, session_id, body, content_type, subject, props, ttl, enqueued, expires,
	deliveries, locked_until, dl_reason, dl_description`

func scanReceived(row *sql.Row) (queue.Received, error) {
	var r queue.Received
	var props []byte
	var ttl, enq, exp, until int64
	if err := row.Scan(&r.SequenceNumber, &r.ID, &r.SessionID, &r.Body, &r.ContentType, &r.Subject, &props, &ttl, &enq, &exp,
		&r.DeliveryCount, &until, &r.DeadLetterReason, &r.DeadLetterDescription); err != nil {
		return r, fmt.Errorf("embedded: read message: %w", err)
	}
	var err error
	if r.Properties, err = decodeProps(props); err != nil {
		return r, err
	}
	r.TTL = time.Duration(ttl)
	r.EnqueuedAt = time.Unix(0, enq).UTC()
	if exp > 0 {
		r.ExpiresAt = time.Unix(0, exp).UTC()
	}
	r.LockedUntil = time.Unix(0, until).UTC()
	return r, nil
}

// sweep applies the queue's rules to messages nobody holds, before they
// are offered: one delivered MaxDeliveries times whose lock lapsed goes
// to the dead-letter queue; an expired one is dead-lettered or dropped.
// Like Service Bus, the broker does this when a receiver asks.
func (q *Queues) sweep(ctx context.Context, tx *sql.Tx, c QueueConfig, now int64) error {
	res, err := tx.ExecContext(ctx, `UPDATE messages SET dead = 1, lock_token = NULL, holder = NULL, locked_until = 0,
		dl_reason = ?, dl_description = ?
		WHERE queue = ? AND dead = 0 AND lock_token IS NOT NULL AND locked_until <= ? AND deliveries >= ?`,
		queue.ReasonMaxDeliveries, maxDeliveriesText(c), c.Name, now, c.MaxDeliveries)
	if err != nil {
		return fmt.Errorf("embedded: sweep: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		q.log.Info("queue: messages dead-lettered", "queue", c.Name, "reason", queue.ReasonMaxDeliveries, "count", n)
	}
	const expired = ` WHERE queue = ? AND dead = 0 AND expires > 0 AND expires <= ? AND locked_until <= ?`
	if c.DeadLetterOnExpiry {
		res, err = tx.ExecContext(ctx, `UPDATE messages SET dead = 1, lock_token = NULL, holder = NULL, locked_until = 0,
			dl_reason = ?, dl_description = 'The message expired and was dead lettered.'`+expired,
			queue.ReasonTTLExpired, c.Name, now, now)
	} else {
		res, err = tx.ExecContext(ctx, `DELETE FROM messages`+expired, c.Name, now, now)
	}
	if err != nil {
		return fmt.Errorf("embedded: sweep: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		q.log.Info("queue: messages expired", "queue", c.Name, "dead_lettered", c.DeadLetterOnExpiry, "count", n)
	}
	return nil
}

func maxDeliveriesText(c QueueConfig) string {
	return fmt.Sprintf("Message could not be consumed after %d delivery attempts.", c.MaxDeliveries)
}
