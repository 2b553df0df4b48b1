package approval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Queue is what approval needs from the pending-operations queue
// (Service Bus in Azure, the embedded queue elsewhere): one session per
// operation whose id is the op id, holding one message (the operation)
// and the session state (the decisions).
type Queue interface {
	// Enqueue durably sends op as the only message of session op.ID, with
	// message id op.ID (duplicate detection) and time to live until
	// op.ExpiresAt. It returns only once the message is stored.
	Enqueue(ctx context.Context, op *Operation) error
	// Lock takes the operation's session exclusively. It fails with
	// ErrBusy when someone else holds it, and ErrNotFound when there is
	// no such session.
	Lock(ctx context.Context, opID string) (Locked, error)
}

// Locked is an exclusively held operation session.
type Locked interface {
	State(ctx context.Context) ([]byte, error)
	SetState(ctx context.Context, state []byte) error
	// Operation returns the operation message, or ErrGone when it was
	// completed or dead-lettered (expired). Decisions never need it (the
	// operation is kept in the state); the sweeper reads it to recognise
	// an orphaned proposal.
	Operation(ctx context.Context) (*Operation, error)
	// Complete removes the operation message for good; ErrGone when it
	// was already gone.
	Complete(ctx context.Context) error
	// Release gives the session back (the message, if not completed,
	// stays for later decisions).
	Release(ctx context.Context)
}

// Queue errors.
var (
	ErrBusy     = errors.New("approval: another decision on this operation is in progress")
	ErrNotFound = errors.New("approval: no such operation")
	ErrGone     = errors.New("approval: the operation message is gone")
)

// Runner runs an approved statement as the proposer and says how it
// ended: executed, failed (known not to have changed anything) or unknown.
type Runner func(ctx context.Context, op *Operation) (*Outcome, Status)

// Events receives everything that happens to operations (audit, Teams).
// Executing must be durable before it returns: a statement is never sent
// unless its executing event is recorded.
type Events interface {
	Decided(ctx context.Context, op *Operation, st State, d Decision)
	Executing(ctx context.Context, op *Operation) error
	Finished(ctx context.Context, op *Operation, st State)
}

// Service applies decisions to operations under their session lock.
type Service struct {
	Queue  Queue
	Events Events
	Now    func() time.Time
	// LockWait is how long Get and Decide wait for a session another
	// visitor holds (a concurrent decision, the expiry sweep) before
	// answering ErrBusy (default 5 s; negative: do not wait).
	LockWait time.Duration
}

// lock takes the operation's session, waiting a little while someone else
// holds it: decisions are short, and a person clicking a button should not
// see "busy" because the sweep happened to pass.
func (s *Service) lock(ctx context.Context, opID string) (Locked, error) {
	wait := s.LockWait
	if wait == 0 {
		wait = 5 * time.Second
	}
	deadline := time.Now().Add(wait)
	pause := 50 * time.Millisecond
	for {
		l, err := s.Queue.Lock(ctx, opID)
		if !errors.Is(err, ErrBusy) || wait < 0 || time.Now().Add(pause).After(deadline) {
			return l, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(pause):
		}
		pause = min(2*pause, 500*time.Millisecond)
	}
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// View is an operation with its state, for GET and the approval page.
type View struct {
	Operation *Operation `json:"operation"`
	State     State      `json:"state"`
}

// Get reads an operation's status. It takes the lock briefly, so a
// decision in progress reads as ErrBusy.
func (s *Service) Get(ctx context.Context, opID string) (*View, error) {
	l, err := s.lock(ctx, opID)
	if err != nil {
		return nil, err
	}
	defer l.Release(context.WithoutCancel(ctx))
	op, st, err := s.load(ctx, l)
	if err != nil {
		return nil, err
	}
	if op != nil && !st.Status.Terminal() && st.Status != StatusExecuting && !s.now().Before(op.ExpiresAt) {
		if st, err = s.expire(ctx, l, op, st); err != nil {
			return nil, err
		}
	}
	return &View{Operation: op, State: st}, nil
}

// load reads the operation and its state from the session state. An
// operation exists only once Propose has written its state: a message
// without state is a proposal whose creation was interrupted (a crash
// between queueing and recording), which is never shown, decided on or
// run; the sweeper removes it.
func (s *Service) load(ctx context.Context, l Locked) (*Operation, State, error) {
	var rec record
	raw, err := l.State(ctx)
	if err != nil {
		return nil, State{}, err
	}
	if len(raw) == 0 {
		return nil, State{}, ErrNotFound
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, State{}, fmt.Errorf("approval: corrupt session state: %w", err)
	}
	if rec.Op == nil {
		return nil, State{}, ErrNotFound
	}
	if rec.State.Status == "" {
		rec.State.Status = StatusPending
	}
	return rec.Op, rec.State, nil
}

// record is the session state on the wire.
type record struct {
	Op    *Operation `json:"op"`
	State State      `json:"state"`
}

func (s *Service) save(ctx context.Context, l Locked, op *Operation, st State) error {
	b, err := json.Marshal(record{Op: op, State: st})
	if err != nil {
		return err
	}
	return l.SetState(ctx, b)
}

func (s *Service) expire(ctx context.Context, l Locked, op *Operation, st State) (State, error) {
	next, ok := Expire(st, s.now())
	if !ok {
		return st, nil
	}
	if err := s.save(ctx, l, op, next); err != nil {
		return st, err
	}
	if err := l.Complete(ctx); err != nil && !errors.Is(err, ErrGone) {
		return next, err
	}
	s.Events.Finished(ctx, op, next)
	return next, nil
}

// Decide applies a decision. When the decision makes the statement run,
// the executing marker is saved and its event recorded BEFORE run is
// called; a crash after that leaves "executing", which any later visit
// turns into "unknown" instead of running again. Only after the outcome is
// saved is the message completed.
func (s *Service) Decide(ctx context.Context, opID string, actor Actor, kind Kind, reason, statementSHA256 string, run Runner) (*View, error) {
	l, err := s.lock(ctx, opID)
	if err != nil {
		return nil, err
	}
	defer l.Release(context.WithoutCancel(ctx))
	op, st, err := s.load(ctx, l)
	if err != nil {
		return nil, err
	}
	if st.Status == StatusExecuting {
		// A previous run crashed or lost its answer: never run again.
		st.Status, st.UpdatedAt = StatusUnknown, s.now()
		st.Outcome = &Outcome{ErrorCode: "OUTCOME_UNKNOWN", Message: "an earlier run was interrupted; check the table before proposing again"}
		if err := s.save(ctx, l, op, st); err != nil {
			return nil, err
		}
		_ = l.Complete(ctx)
		s.Events.Finished(ctx, op, st)
		return &View{Operation: op, State: st}, &Refusal{Code: "CONFLICT", Message: "the operation was already executing; its outcome is unknown and it will not run again"}
	}
	if !st.Status.Terminal() && !s.now().Before(op.ExpiresAt) {
		st, err = s.expire(ctx, l, op, st)
		if err != nil {
			return nil, err
		}
	}
	if statementSHA256 != "" && statementSHA256 != op.StatementSHA256 {
		return &View{Operation: op, State: st}, &Refusal{Code: "CONFLICT", Message: "the statement you reviewed is not the one proposed"}
	}
	next, mustRun, err := Decide(op, st, actor, kind, reason, s.now())
	if err != nil {
		return &View{Operation: op, State: st}, err
	}
	d := next.Decisions[len(next.Decisions)-1]
	if !mustRun {
		if err := s.save(ctx, l, op, next); err != nil {
			return nil, err
		}
		if next.Status.Terminal() {
			if err := l.Complete(ctx); err != nil && !errors.Is(err, ErrGone) {
				return nil, err
			}
		}
		s.Events.Decided(ctx, op, next, d)
		if next.Status.Terminal() {
			s.Events.Finished(ctx, op, next)
		}
		return &View{Operation: op, State: next}, nil
	}

	// At most once: the marker is durable before anything is sent.
	if err := s.save(ctx, l, op, next); err != nil {
		return nil, fmt.Errorf("approval: record executing: %w", err)
	}
	s.Events.Decided(ctx, op, next, d)
	if err := s.Events.Executing(ctx, op); err != nil {
		// Fail closed: without its audit record the statement does not run.
		next.Status, next.UpdatedAt = StatusFailed, s.now()
		next.Outcome = &Outcome{ErrorCode: "AUDIT_UNAVAILABLE", Message: "the audit trail could not record the run, so the statement was not sent"}
		if err := s.save(ctx, l, op, next); err != nil {
			return nil, err
		}
		_ = l.Complete(ctx)
		s.Events.Finished(ctx, op, next)
		return &View{Operation: op, State: next}, nil
	}
	outcome, status := run(ctx, op)
	next.Status, next.Outcome, next.UpdatedAt = status, outcome, s.now()
	sctx := context.WithoutCancel(ctx)
	if err := s.save(sctx, l, op, next); err != nil {
		return nil, fmt.Errorf("approval: record outcome: %w", err)
	}
	if err := l.Complete(sctx); err != nil && !errors.Is(err, ErrGone) {
		return nil, err
	}
	s.Events.Finished(sctx, op, next)
	return &View{Operation: op, State: next}, nil
}

// Propose creates a new operation in two steps: the message is queued
// (durably, with its time to live), then the operation and its pending
// state are written to the session state. Only the second step makes it
// an operation that can be decided on; if the process dies between the
// two, the message is an orphan that can never run and the sweeper
// removes it. Nothing runs here.
func (s *Service) Propose(ctx context.Context, op *Operation) error {
	if !op.Intact() {
		return errors.New("approval: statement does not match its hash")
	}
	if err := s.Queue.Enqueue(ctx, op); err != nil {
		return fmt.Errorf("approval: queue the operation: %w", err)
	}
	l, err := s.Queue.Lock(ctx, op.ID)
	if err != nil {
		return fmt.Errorf("approval: lock the new operation: %w", err)
	}
	defer l.Release(context.WithoutCancel(ctx))
	raw, err := l.State(ctx)
	if err != nil {
		return fmt.Errorf("approval: read the new operation's state: %w", err)
	}
	if len(raw) > 0 {
		// Never reset an existing operation (a replayed proposal id).
		return fmt.Errorf("approval: operation %s already exists", op.ID)
	}
	if err := s.save(ctx, l, op, State{Status: StatusPending, Decisions: []Decision{}, UpdatedAt: s.now()}); err != nil {
		return fmt.Errorf("approval: record the new operation: %w", err)
	}
	return nil
}
