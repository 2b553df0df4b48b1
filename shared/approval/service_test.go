package approval

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// memQueue is an in-memory Queue with exclusive session locks.
type memQueue struct {
	mu       sync.Mutex
	locked   map[string]bool
	messages map[string]*Operation
	states   map[string][]byte
}

func newMemQueue() *memQueue {
	return &memQueue{locked: map[string]bool{}, messages: map[string]*Operation{}, states: map[string][]byte{}}
}

func (q *memQueue) Enqueue(ctx context.Context, op *Operation) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.messages[op.ID]; !ok {
		c := *op
		q.messages[op.ID] = &c
	}
	return nil
}

func (q *memQueue) Lock(ctx context.Context, id string) (Locked, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.locked[id] {
		return nil, ErrBusy
	}
	if _, ok := q.messages[id]; !ok && q.states[id] == nil {
		return nil, ErrNotFound
	}
	q.locked[id] = true
	return &memLocked{q: q, id: id}, nil
}

type memLocked struct {
	q  *memQueue
	id string
}

func (l *memLocked) State(ctx context.Context) ([]byte, error) {
	l.q.mu.Lock()
	defer l.q.mu.Unlock()
	return l.q.states[l.id], nil
}

func (l *memLocked) SetState(ctx context.Context, b []byte) error {
	l.q.mu.Lock()
	defer l.q.mu.Unlock()
	l.q.states[l.id] = b
	return nil
}

func (l *memLocked) Operation(ctx context.Context) (*Operation, error) {
	l.q.mu.Lock()
	defer l.q.mu.Unlock()
	op, ok := l.q.messages[l.id]
	if !ok {
		return nil, ErrGone
	}
	c := *op
	return &c, nil
}

func (l *memLocked) Complete(ctx context.Context) error {
	l.q.mu.Lock()
	defer l.q.mu.Unlock()
	delete(l.q.messages, l.id)
	return nil
}

func (l *memLocked) Release(ctx context.Context) {
	l.q.mu.Lock()
	defer l.q.mu.Unlock()
	delete(l.q.locked, l.id)
}

type recorder struct {
	mu       sync.Mutex
	finished []Status
	fail     bool
}

func (r *recorder) Decided(ctx context.Context, op *Operation, st State, d Decision) {}
func (r *recorder) Executing(ctx context.Context, op *Operation) error {
	if r.fail {
		return errors.New("audit queue down")
	}
	return nil
}
func (r *recorder) Finished(ctx context.Context, op *Operation, st State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.finished = append(r.finished, st.Status)
}

func setup(t *testing.T, policy Policy) (*Service, *memQueue, *recorder, *Operation) {
	q := newMemQueue()
	rec := &recorder{}
	o := op(policy)
	s := &Service{Queue: q, Events: rec, Now: func() time.Time { return t0 }}
	if err := s.Propose(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	return s, q, rec, o
}

func TestConcurrentConfirmsRunOnce(t *testing.T) {
	s, _, rec, o := setup(t, PolicySelf)
	var runs atomic.Int32
	run := func(ctx context.Context, op *Operation) (*Outcome, Status) {
		runs.Add(1)
		time.Sleep(5 * time.Millisecond)
		n := int64(3)
		return &Outcome{RowsAffected: &n}, StatusExecuted
	}
	var wg sync.WaitGroup
	var ok, busy, conflict atomic.Int32
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := s.Decide(context.Background(), o.ID, proposer, KindConfirm, "", "", run)
			var r *Refusal
			switch {
			case err == nil && v.State.Status == StatusExecuted:
				ok.Add(1)
			case errors.Is(err, ErrBusy):
				busy.Add(1)
			case errors.As(err, &r) && r.Code == "CONFLICT":
				conflict.Add(1)
			default:
				t.Errorf("unexpected answer %v %v", v, err)
			}
		}()
	}
	wg.Wait()
	if runs.Load() != 1 || ok.Load() != 1 || busy.Load()+conflict.Load() != 19 {
		t.Fatalf("runs %d ok %d busy %d conflict %d", runs.Load(), ok.Load(), busy.Load(), conflict.Load())
	}
	if len(rec.finished) != 1 || rec.finished[0] != StatusExecuted {
		t.Fatalf("terminal events %v", rec.finished)
	}
}

func TestCrashAfterExecutingMarkerReportsUnknown(t *testing.T) {
	s, q, rec, o := setup(t, PolicySelf)
	// Simulate the crash: the marker is written, the run never reports.
	crash := func(ctx context.Context, op *Operation) (*Outcome, Status) { panic("process killed") }
	func() {
		defer func() { _ = recover() }()
		_, _ = s.Decide(context.Background(), o.ID, proposer, KindConfirm, "", "", crash)
	}()
	// The lock of the dead process is gone (expired in a real queue).
	q.mu.Lock()
	delete(q.locked, o.ID)
	q.mu.Unlock()
	var runs atomic.Int32
	v, err := s.Decide(context.Background(), o.ID, proposer, KindConfirm, "", "", func(ctx context.Context, op *Operation) (*Outcome, Status) {
		runs.Add(1)
		return &Outcome{}, StatusExecuted
	})
	if err == nil || runs.Load() != 0 || v.State.Status != StatusUnknown {
		t.Fatalf("retry after crash: runs %d view %+v err %v", runs.Load(), v, err)
	}
	if len(rec.finished) != 1 || rec.finished[0] != StatusUnknown {
		t.Fatalf("terminal events %v", rec.finished)
	}
}

func TestAuditFailureBlocksTheRun(t *testing.T) {
	s, _, rec, o := setup(t, PolicySelf)
	rec.fail = true
	v, err := s.Decide(context.Background(), o.ID, proposer, KindConfirm, "", "", func(ctx context.Context, op *Operation) (*Outcome, Status) {
		t.Fatal("statement ran without its executing event")
		return nil, ""
	})
	if err != nil || v.State.Status != StatusFailed || v.State.Outcome.ErrorCode != "AUDIT_UNAVAILABLE" {
		t.Fatalf("%+v %v", v, err)
	}
}

func TestExpiryAndTampering(t *testing.T) {
	s, _, rec, o := setup(t, PolicyFourEyes)
	if _, err := s.Decide(context.Background(), o.ID, approver, KindApprove, "", "not-the-hash", nil); err == nil {
		t.Fatal("decision on another statement's hash accepted")
	}
	if _, err := s.Decide(context.Background(), "other-op", approver, KindApprove, "", "", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other op id: %v", err)
	}
	s.Now = func() time.Time { return o.ExpiresAt.Add(time.Minute) }
	v, err := s.Get(context.Background(), o.ID)
	if err != nil || v.State.Status != StatusExpired {
		t.Fatalf("%+v %v", v, err)
	}
	if _, err := s.Decide(context.Background(), o.ID, approver, KindApprove, "", "", nil); err == nil {
		t.Fatal("decision after expiry accepted")
	}
	v, err = s.Get(context.Background(), o.ID)
	if err != nil || v.State.Status != StatusExpired || v.Operation.ID != o.ID {
		t.Fatalf("expired op not readable after completion: %+v %v", v, err)
	}
	if len(rec.finished) != 1 {
		t.Fatalf("terminal events %v", rec.finished)
	}
}

func TestInterruptedProposalNeverBecomesAnOperation(t *testing.T) {
	q := newMemQueue()
	rec := &recorder{}
	s := &Service{Queue: q, Events: rec, Now: func() time.Time { return t0 }}
	o := op(PolicySelf)
	// The process died after queueing the message and before recording
	// the operation: only the message exists.
	if err := q.Enqueue(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(context.Background(), o.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get of an interrupted proposal: %v", err)
	}
	ran := false
	_, err := s.Decide(context.Background(), o.ID, proposer, KindConfirm, "", "", func(ctx context.Context, op *Operation) (*Outcome, Status) {
		ran = true
		return &Outcome{}, StatusExecuted
	})
	if !errors.Is(err, ErrNotFound) || ran {
		t.Fatalf("confirm of an interrupted proposal: ran=%v err=%v", ran, err)
	}
	if len(rec.finished) != 0 {
		t.Fatalf("events for a proposal that never existed: %v", rec.finished)
	}
}

func TestReplayedProposalDoesNotResetState(t *testing.T) {
	s, q, _, o := setup(t, PolicyFourEyes)
	if _, err := s.Decide(context.Background(), o.ID, approver, KindApprove, "ok", "", nil); err != nil {
		t.Fatal(err)
	}
	before := string(q.states[o.ID])
	if err := s.Propose(context.Background(), o); err == nil {
		t.Fatal("a second proposal with the same id was accepted")
	}
	if string(q.states[o.ID]) != before {
		t.Fatal("the replayed proposal changed the operation's state")
	}
	v, err := s.Get(context.Background(), o.ID)
	if err != nil || v.State.Status != StatusApproved {
		t.Fatalf("%+v %v", v, err)
	}
}
