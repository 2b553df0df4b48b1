package approval

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Sweepable is what the sweeper needs besides Queue: a way to visit
// operations nobody is looking at. Service Bus expires messages lazily (an
// expired message moves to the dead-letter queue only when a receiver
// pulls from the queue), so the sweeper both pulls (LockNext) and drains
// the dead letters.
type Sweepable interface {
	// LockNext locks any unlocked operation session that still holds its
	// message; ErrNoneWaiting when none came within wait. Sessions locked
	// during one sweep stay locked until released, so one sweep never
	// visits the same operation twice.
	LockNext(ctx context.Context, wait time.Duration) (opID string, l Locked, err error)
	// DeadLettered receives up to max dead-lettered operation messages.
	DeadLettered(ctx context.Context, max int, wait time.Duration) ([]DeadLetter, error)
}

// DeadLetter is a dead-lettered operation message.
type DeadLetter struct {
	OpID   string
	Reason string
	// Settle removes it (done) or gives it back for a later sweep.
	Settle func(ctx context.Context, done bool) error
}

// ErrNoneWaiting: no operation session was available.
var ErrNoneWaiting = errors.New("approval: no operation waiting")

// SweepConfig bounds one sweep.
type SweepConfig struct {
	// MaxOperations visited per sweep (default 200).
	MaxOperations int
	// Wait for each LockNext / dead-letter receive (default 2 s).
	Wait time.Duration
	// OrphanAfter is how old a message without state must be before it is
	// removed as an interrupted proposal (default 10 minutes: long after
	// any Propose has finished or died).
	OrphanAfter time.Duration
	// StaleExecuting is how long an executing marker may stand before the
	// operation is reported as unknown (default 30 minutes, far beyond
	// any statement deadline).
	StaleExecuting time.Duration
	Logger         *slog.Logger
}

// SweepReport says what one sweep did.
type SweepReport struct {
	Visited, Expired, Unknown, Orphans, Cleaned, DeadLetters int
}

// Sweep ends operations whose window passed (expired), executing markers
// left by a crash long ago (unknown), and removes orphaned proposals and
// leftover messages of finished operations. It is idempotent and safe to
// run on several instances at once: every change happens under the
// operation's session lock.
func (s *Service) Sweep(ctx context.Context, q Sweepable, cfg SweepConfig) (SweepReport, error) {
	if cfg.MaxOperations <= 0 {
		cfg.MaxOperations = 200
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 2 * time.Second
	}
	if cfg.OrphanAfter <= 0 {
		cfg.OrphanAfter = 10 * time.Minute
	}
	if cfg.StaleExecuting <= 0 {
		cfg.StaleExecuting = 30 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	var rep SweepReport
	var held []Locked
	release := func() {
		for _, l := range held {
			l.Release(context.WithoutCancel(ctx))
		}
		held = nil
	}
	defer release()
	for rep.Visited < cfg.MaxOperations && ctx.Err() == nil {
		id, l, err := q.LockNext(ctx, cfg.Wait)
		if errors.Is(err, ErrNoneWaiting) {
			break
		}
		if err != nil {
			return rep, fmt.Errorf("approval: sweep: %w", err)
		}
		held = append(held, l)
		rep.Visited++
		if err := s.sweepOne(ctx, id, l, cfg, &rep); err != nil {
			cfg.Logger.Warn("sweep: operation left for the next sweep", "op_id", id, "err", err)
		}
	}
	// Sessions are held only for the main pass (so it visits each once);
	// people deciding must not wait for the dead-letter pass.
	release()
	for ctx.Err() == nil {
		dead, err := q.DeadLettered(ctx, 50, cfg.Wait)
		if err != nil {
			return rep, fmt.Errorf("approval: sweep dead letters: %w", err)
		}
		if len(dead) == 0 {
			break
		}
		for _, d := range dead {
			rep.DeadLetters++
			done, err := s.sweepDead(ctx, d, cfg, &rep)
			if err != nil {
				cfg.Logger.Warn("sweep: dead-lettered operation left for the next sweep", "op_id", d.OpID, "err", err)
			}
			if err := d.Settle(ctx, done); err != nil {
				cfg.Logger.Warn("sweep: settle dead letter", "op_id", d.OpID, "err", err)
			}
		}
	}
	return rep, ctx.Err()
}

func (s *Service) sweepOne(ctx context.Context, id string, l Locked, cfg SweepConfig, rep *SweepReport) error {
	op, st, err := s.load(ctx, l)
	if errors.Is(err, ErrNotFound) {
		// A message without state: a proposal interrupted between queueing
		// and recording. It never became an operation; once it is surely
		// not in progress any more, remove it.
		msg, err := l.Operation(ctx)
		if errors.Is(err, ErrGone) {
			return nil
		}
		if err != nil {
			return err
		}
		if s.now().Sub(msg.CreatedAt) < cfg.OrphanAfter {
			return nil
		}
		rep.Orphans++
		cfg.Logger.Info("sweep: removed an interrupted proposal", "op_id", id)
		return ignoreGone(l.Complete(ctx))
	}
	if err != nil {
		return err
	}
	switch {
	case st.Status.Terminal():
		// Finished, but its message outlived the decision (Complete found
		// nothing in time): remove it now.
		rep.Cleaned++
		return ignoreGone(l.Complete(ctx))
	case st.Status == StatusExecuting:
		if st.ExecutingAt == nil || s.now().Sub(*st.ExecutingAt) < cfg.StaleExecuting {
			return nil
		}
		rep.Unknown++
		return s.markUnknown(ctx, l, op, st)
	case !s.now().Before(op.ExpiresAt):
		rep.Expired++
		_, err := s.expire(ctx, l, op, st)
		return err
	}
	return nil
}

// sweepDead handles a dead-lettered operation message; it reports whether
// the dead letter can be removed (the operation is finished).
func (s *Service) sweepDead(ctx context.Context, d DeadLetter, cfg SweepConfig, rep *SweepReport) (bool, error) {
	l, err := s.Queue.Lock(ctx, d.OpID)
	if err != nil {
		return false, err
	}
	defer l.Release(context.WithoutCancel(ctx))
	op, st, err := s.load(ctx, l)
	if errors.Is(err, ErrNotFound) {
		return true, nil // an orphaned proposal that expired: nothing to report
	}
	if err != nil {
		return false, err
	}
	switch {
	case st.Status.Terminal():
		return true, nil
	case st.Status == StatusExecuting:
		// Keep the dead letter until the marker is resolved (by a visit or
		// by the main-queue sweep, which no longer sees this operation).
		if st.ExecutingAt != nil && s.now().Sub(*st.ExecutingAt) >= cfg.StaleExecuting {
			rep.Unknown++
			return true, s.markUnknown(ctx, l, op, st)
		}
		return false, nil
	case !s.now().Before(op.ExpiresAt):
		rep.Expired++
		_, err := s.expire(ctx, l, op, st)
		return err == nil, err
	}
	// Dead-lettered before its window closed (too many deliveries): the
	// operation stays decidable; come back until it ends.
	return false, nil
}

func (s *Service) markUnknown(ctx context.Context, l Locked, op *Operation, st State) error {
	st.Status, st.UpdatedAt = StatusUnknown, s.now()
	st.Outcome = &Outcome{ErrorCode: "OUTCOME_UNKNOWN", Message: "a run was interrupted; check the table before proposing again"}
	if err := s.save(ctx, l, op, st); err != nil {
		return err
	}
	_ = ignoreGone(l.Complete(ctx))
	s.Events.Finished(ctx, op, st)
	return nil
}

func ignoreGone(err error) error {
	if errors.Is(err, ErrGone) {
		return nil
	}
	return err
}
