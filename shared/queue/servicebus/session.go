package servicebus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/behalf-dev/behalf/shared/queue"
)

// AcceptSession locks one session (AcceptSessionForQueue); a session held
// by another receiver is ErrSessionLocked.
func (q *Queues) AcceptSession(ctx context.Context, name, sessionID string) (queue.Session, error) {
	if err := q.sessionQueue(name); err != nil {
		return nil, err
	}
	if err := queue.CheckSessionID(sessionID); err != nil {
		return nil, err
	}
	if q.isClosed() {
		return nil, queue.ErrClosed
	}
	sr, err := q.client.AcceptSessionForQueue(ctx, name, sessionID, nil)
	if err != nil {
		return nil, fmt.Errorf("servicebus: accept session %q of %q: %w", sessionID, name, mapErr(err))
	}
	return q.newSession(ctx, sr)
}

// AcceptNextSession locks the next available session
// (AcceptNextSessionForQueue), waiting up to wait (at least a second).
func (q *Queues) AcceptNextSession(ctx context.Context, name string, wait time.Duration) (queue.Session, error) {
	if err := q.sessionQueue(name); err != nil {
		return nil, err
	}
	if err := queue.CheckWait(wait); err != nil {
		return nil, err
	}
	if q.isClosed() {
		return nil, queue.ErrClosed
	}
	wctx, cancel := boundedWait(ctx, wait)
	defer cancel()
	sr, err := q.client.AcceptNextSessionForQueue(wctx, name, nil)
	if err != nil {
		if waitEnded(ctx, err) {
			return nil, fmt.Errorf("%w: queue %q, waited %v", queue.ErrNoSession, name, wait)
		}
		return nil, fmt.Errorf("servicebus: accept next session of %q: %w", name, mapErr(err))
	}
	return q.newSession(ctx, sr)
}

func (q *Queues) sessionQueue(name string) error {
	sessions, known, err := q.kind(name)
	if err != nil {
		return err
	}
	if known && !sessions {
		return fmt.Errorf("%w: queue %q has no sessions", queue.ErrInvalidArgument, name)
	}
	return nil
}

func (q *Queues) isClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

func (q *Queues) newSession(ctx context.Context, sr *azservicebus.SessionReceiver) (queue.Session, error) {
	s := &session{q: q, sr: sr}
	if err := q.track(s, true); err != nil {
		_ = sr.Close(ctx)
		return nil, err
	}
	return s, nil
}

// session wraps a SessionReceiver: the link holds the session lock.
type session struct {
	q  *Queues
	sr *azservicebus.SessionReceiver

	recv   sync.Mutex // one ReceiveMessages at a time on the link
	mu     sync.Mutex
	closed bool
}

var _ queue.Session = (*session)(nil)

func (s *session) ID() string             { return s.sr.SessionID() }
func (s *session) LockedUntil() time.Time { return s.sr.LockedUntil() }

func (s *session) open() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("%w: session %q", queue.ErrClosed, s.sr.SessionID())
	}
	return nil
}

func (s *session) State(ctx context.Context) ([]byte, error) {
	if err := s.open(); err != nil {
		return nil, err
	}
	st, err := s.sr.GetSessionState(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("servicebus: session %q state: %w", s.ID(), sessionErr(err))
	}
	if len(st) == 0 {
		return nil, nil
	}
	return st, nil
}

func (s *session) SetState(ctx context.Context, state []byte) error {
	if err := queue.CheckState(state); err != nil {
		return err
	}
	if err := s.open(); err != nil {
		return err
	}
	if len(state) == 0 {
		state = nil // clears it
	}
	if err := s.sr.SetSessionState(ctx, state, nil); err != nil {
		return fmt.Errorf("servicebus: session %q set state: %w", s.ID(), sessionErr(err))
	}
	return nil
}

func (s *session) Receive(ctx context.Context, max int, wait time.Duration) ([]queue.Delivery, error) {
	if err := queue.CheckReceive(max, wait); err != nil {
		return nil, err
	}
	if err := s.open(); err != nil {
		return nil, err
	}
	s.recv.Lock()
	defer s.recv.Unlock()
	return receiveOn(ctx, "session "+s.ID(), wait, max, s.sr, sessionErr, func(m *azservicebus.ReceivedMessage) *delivery {
		return &delivery{msg: m, settler: s.sr, mapErr: sessionErr, renew: func(ctx context.Context) (time.Time, error) {
			if err := s.RenewLock(ctx); err != nil {
				return time.Time{}, err
			}
			return s.LockedUntil(), nil
		}}
	})
}

func (s *session) RenewLock(ctx context.Context) error {
	if err := s.open(); err != nil {
		return err
	}
	if err := s.sr.RenewSessionLock(ctx, nil); err != nil {
		return fmt.Errorf("servicebus: renew session %q: %w", s.ID(), sessionErr(err))
	}
	return nil
}

// Close closes the link, which releases the session lock; Service Bus
// makes unsettled messages available again without counting a delivery.
func (s *session) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	_ = s.q.track(s, false)
	if err := s.sr.Close(ctx); err != nil {
		var sbErr *azservicebus.Error
		if errors.As(err, &sbErr) && sbErr.Code == azservicebus.CodeClosed {
			return nil
		}
		return fmt.Errorf("servicebus: close session %q: %w", s.ID(), mapErr(err))
	}
	return nil
}
