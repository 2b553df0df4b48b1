package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/behalf-dev/behalf/shared/queue"
	"github.com/google/uuid"
)

// A session lock is the sessions row's lock_token and locked_until; the
// messages it holds carry the session's token in holder and its expiry in
// locked_until, so a lapsed session frees its messages with it.

// AcceptSession locks the session, whether or not it has messages.
func (q *Queues) AcceptSession(ctx context.Context, name, sessionID string) (queue.Session, error) {
	c, err := q.sessionQueue(name)
	if err != nil {
		return nil, err
	}
	if err := queue.CheckSessionID(sessionID); err != nil {
		return nil, err
	}
	s := &session{q: q, c: c, id: sessionID, token: uuid.NewString()}
	err = q.tx(ctx, "accept-session", func(tx *sql.Tx, now int64) error {
		ok, err := s.lock(ctx, tx, now)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: %q", queue.ErrSessionLocked, sessionID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	q.trackSession(s, true)
	return s, nil
}

// AcceptNextSession locks the unlocked session holding the oldest
// available message, waiting up to wait for one.
func (q *Queues) AcceptNextSession(ctx context.Context, name string, wait time.Duration) (queue.Session, error) {
	c, err := q.sessionQueue(name)
	if err != nil {
		return nil, err
	}
	if err := queue.CheckWait(wait); err != nil {
		return nil, err
	}
	var s *session
	err = q.poll(ctx, wait, func() (bool, error) {
		err := q.tx(ctx, "accept-next-session", func(tx *sql.Tx, now int64) error {
			s = nil
			if err := q.sweep(ctx, tx, c, now); err != nil {
				return err
			}
			var sid string
			err := tx.QueryRowContext(ctx, `SELECT m.session_id FROM messages m
				WHERE m.queue = ? AND m.dead = 0 AND m.locked_until <= ? AND NOT EXISTS (
					SELECT 1 FROM sessions s WHERE s.queue = m.queue AND s.session_id = m.session_id
					AND s.lock_token IS NOT NULL AND s.locked_until > ?)
				ORDER BY m.seq LIMIT 1`, c.Name, now, now).Scan(&sid)
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("embedded: accept next session: %w", err)
			}
			cand := &session{q: q, c: c, id: sid, token: uuid.NewString()}
			ok, err := cand.lock(ctx, tx, now)
			if err != nil {
				return err
			}
			if ok {
				s = cand
			}
			return nil
		})
		return s != nil, err
	})
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, fmt.Errorf("%w: queue %q, waited %v", queue.ErrNoSession, name, wait)
	}
	q.trackSession(s, true)
	return s, nil
}

func (q *Queues) sessionQueue(name string) (QueueConfig, error) {
	c, err := q.config(name)
	if err != nil {
		return c, err
	}
	if !c.Sessions {
		return c, fmt.Errorf("%w: queue %q has no sessions", queue.ErrInvalidArgument, name)
	}
	return c, nil
}

type session struct {
	q     *Queues
	c     QueueConfig
	id    string
	token string

	mu          sync.Mutex
	lockedUntil time.Time
	closed      bool
}

var _ queue.Session = (*session)(nil)

// lock takes the session row for s.token unless another holder's lock is
// still running; it reports whether s now holds it.
func (s *session) lock(ctx context.Context, tx *sql.Tx, now int64) (bool, error) {
	until := now + int64(s.c.LockDuration)
	res, err := tx.ExecContext(ctx, `INSERT INTO sessions (queue, session_id, lock_token, locked_until) VALUES (?, ?, ?, ?)
		ON CONFLICT (queue, session_id) DO UPDATE SET lock_token = excluded.lock_token, locked_until = excluded.locked_until
		WHERE sessions.lock_token IS NULL OR sessions.locked_until <= ?`, s.c.Name, s.id, s.token, until, now)
	if err != nil {
		return false, fmt.Errorf("embedded: lock session: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return false, err
	}
	s.mu.Lock()
	s.lockedUntil = time.Unix(0, until).UTC()
	s.mu.Unlock()
	return true, nil
}

// held reports whether s still holds its lock, inside tx.
func (s *session) held(ctx context.Context, tx *sql.Tx, now int64) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM sessions WHERE queue = ? AND session_id = ? AND lock_token = ? AND locked_until > ?`,
		s.c.Name, s.id, s.token, now).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("embedded: session lock: %w", err)
	}
	return true, nil
}

// run runs fn in a transaction holding the session lock; ErrLockLost
// when the lock lapsed or went to another holder.
func (s *session) run(ctx context.Context, op string, fn func(tx *sql.Tx, now int64) error) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return fmt.Errorf("%w: session %q", queue.ErrClosed, s.id)
	}
	return s.q.tx(ctx, op, func(tx *sql.Tx, now int64) error {
		ok, err := s.held(ctx, tx, now)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: session %q", queue.ErrLockLost, s.id)
		}
		return fn(tx, now)
	})
}

func (s *session) ID() string { return s.id }

func (s *session) LockedUntil() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lockedUntil
}

// State returns the session state (nil when never set or cleared).
func (s *session) State(ctx context.Context) ([]byte, error) {
	var state []byte
	err := s.run(ctx, "session-state", func(tx *sql.Tx, _ int64) error {
		return tx.QueryRowContext(ctx, `SELECT state FROM sessions WHERE queue = ? AND session_id = ?`, s.c.Name, s.id).Scan(&state)
	})
	if err != nil {
		return nil, err
	}
	if len(state) == 0 {
		return nil, nil
	}
	return state, nil
}

// SetState replaces the session state; nil (or empty) clears it.
func (s *session) SetState(ctx context.Context, state []byte) error {
	if err := queue.CheckState(state); err != nil {
		return err
	}
	var v any
	if len(state) > 0 {
		v = state
	}
	return s.run(ctx, "set-session-state", func(tx *sql.Tx, _ int64) error {
		_, err := tx.ExecContext(ctx, `UPDATE sessions SET state = ? WHERE queue = ? AND session_id = ?`, v, s.c.Name, s.id)
		if err != nil {
			return fmt.Errorf("embedded: set session state: %w", err)
		}
		return nil
	})
}

// Receive peek-locks up to max messages of the session, oldest first.
func (s *session) Receive(ctx context.Context, max int, wait time.Duration) ([]queue.Delivery, error) {
	if err := queue.CheckReceive(max, wait); err != nil {
		return nil, err
	}
	out := []queue.Delivery{}
	err := s.q.poll(ctx, wait, func() (bool, error) {
		var got []queue.Delivery
		err := s.run(ctx, "session-receive", func(tx *sql.Tx, now int64) error {
			got = nil
			if err := s.q.sweep(ctx, tx, s.c, now); err != nil {
				return err
			}
			var until int64
			if err := tx.QueryRowContext(ctx, `SELECT locked_until FROM sessions WHERE queue = ? AND session_id = ?`,
				s.c.Name, s.id).Scan(&until); err != nil {
				return fmt.Errorf("embedded: session receive: %w", err)
			}
			seqs, err := selectSeqs(ctx, tx, `SELECT seq FROM messages WHERE queue = ? AND session_id = ? AND dead = 0 AND locked_until <= ?
				ORDER BY seq LIMIT ?`, s.c.Name, s.id, now, max)
			if err != nil {
				return err
			}
			for _, seq := range seqs {
				d := &delivery{q: s.q, c: s.c, seq: seq, token: uuid.NewString(), sess: s}
				row := tx.QueryRowContext(ctx, `UPDATE messages SET lock_token = ?, holder = ?, locked_until = ?, deliveries = deliveries + 1
					WHERE seq = ? RETURNING `+receivedColumns, d.token, s.token, until, seq)
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

// RenewLock extends the session lock, and with it the locks of the
// messages it holds.
func (s *session) RenewLock(ctx context.Context) error {
	var until int64
	err := s.run(ctx, "renew-session", func(tx *sql.Tx, now int64) error {
		until = now + int64(s.c.LockDuration)
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET locked_until = ? WHERE queue = ? AND session_id = ?`,
			until, s.c.Name, s.id); err != nil {
			return fmt.Errorf("embedded: renew session: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET locked_until = ? WHERE holder = ? AND locked_until > ?`,
			until, s.token, now); err != nil {
			return fmt.Errorf("embedded: renew session: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.lockedUntil = time.Unix(0, until).UTC()
	s.mu.Unlock()
	return nil
}

// Close releases the session and the messages it holds unsettled; the
// release does not count as a delivery (Service Bus' rule). A session
// without state or messages is forgotten. Closing a session whose lock
// already lapsed releases nothing and succeeds.
func (s *session) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.q.trackSession(s, false)
	err := s.q.tx(ctx, "close-session", func(tx *sql.Tx, now int64) error {
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET lock_token = NULL, holder = NULL, locked_until = 0, deliveries = deliveries - 1
			WHERE holder = ? AND dead = 0 AND locked_until > ?`, s.token, now); err != nil {
			return fmt.Errorf("embedded: close session: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET lock_token = NULL, locked_until = 0
			WHERE queue = ? AND session_id = ? AND lock_token = ?`, s.c.Name, s.id, s.token); err != nil {
			return fmt.Errorf("embedded: close session: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE queue = ? AND session_id = ? AND lock_token IS NULL AND state IS NULL
			AND NOT EXISTS (SELECT 1 FROM messages WHERE queue = ? AND session_id = ? AND dead = 0)`, s.c.Name, s.id, s.c.Name, s.id); err != nil {
			return fmt.Errorf("embedded: close session: %w", err)
		}
		return nil
	})
	if errors.Is(err, queue.ErrClosed) {
		// The namespace closed first: the lock lapses on its own.
		return nil
	}
	if err != nil {
		return err
	}
	s.q.notify.broadcast()
	return nil
}
