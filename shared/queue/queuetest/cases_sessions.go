package queuetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/behalf-dev/behalf/shared/queue"
)

func accept(t *testing.T, ctx context.Context, q queue.Queues, qn, sid string) queue.Session {
	t.Helper()
	s, err := q.AcceptSession(ctx, qn, sid)
	if err != nil {
		t.Fatalf("AcceptSession(%s, %s): %v", qn, sid, err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	if s.ID() != sid {
		t.Fatalf("session id %q, want %q", s.ID(), sid)
	}
	return s
}

// acceptOnceFree retries AcceptSession while the session is locked, for
// up to Wait: a lapsed lock may take the broker a moment to notice.
func acceptOnceFree(t *testing.T, ctx context.Context, f Factory, q queue.Queues, qn, sid string) queue.Session {
	t.Helper()
	deadline := time.Now().Add(f.Timing().Wait)
	for {
		s, err := q.AcceptSession(ctx, qn, sid)
		if err == nil {
			t.Cleanup(func() { _ = s.Close(context.Background()) })
			return s
		}
		if !errors.Is(err, queue.ErrSessionLocked) || time.Now().After(deadline) {
			t.Fatalf("AcceptSession(%s) after the lock lapsed: %v", sid, err)
		}
		sleep(ctx, f.Timing().Empty)
	}
}

func sessionReceive1(t *testing.T, ctx context.Context, f Factory, s queue.Session) queue.Delivery {
	t.Helper()
	ds, err := s.Receive(ctx, 1, f.Timing().Wait)
	if err != nil {
		t.Fatalf("session %s Receive: %v", s.ID(), err)
	}
	if len(ds) != 1 {
		t.Fatalf("session %s Receive = %d messages, want 1", s.ID(), len(ds))
	}
	if ds[0].Message().SessionID != s.ID() {
		t.Fatalf("message of session %q received in session %q", ds[0].Message().SessionID, s.ID())
	}
	return ds[0]
}

func sessionEmpty(t *testing.T, ctx context.Context, f Factory, s queue.Session) {
	t.Helper()
	ds, err := s.Receive(ctx, 10, f.Timing().Empty)
	if err != nil {
		t.Fatalf("session %s Receive: %v", s.ID(), err)
	}
	if len(ds) != 0 {
		t.Fatalf("session %s Receive = %d messages, want none", s.ID(), len(ds))
	}
}

func testSessionLockContention(t *testing.T, f Factory) {
	qn := name("contend")
	q := f.Open(t, QueueSpec{Name: qn, Sessions: true})
	ctx := ctxFor(t)
	// One session per round: Service Bus may take a moment to free a
	// session after Close, which is not what this case is about.
	for round := 0; round < 3; round++ {
		sid := fmt.Sprintf("op-%d", round)
		send(t, ctx, q, qn, queue.Message{ID: sid, SessionID: sid})
		var wg sync.WaitGroup
		start := make(chan struct{})
		sessions := make([]queue.Session, 2)
		errs := make([]error, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				sessions[i], errs[i] = q.AcceptSession(ctx, qn, sid)
			}()
		}
		close(start)
		wg.Wait()
		var winner queue.Session
		locked := 0
		for i := range 2 {
			switch {
			case errs[i] == nil:
				if winner != nil {
					t.Fatalf("round %d: both receivers hold session %s", round, sid)
				}
				winner = sessions[i]
			case errors.Is(errs[i], queue.ErrSessionLocked):
				locked++
			default:
				t.Fatalf("round %d: AcceptSession: %v", round, errs[i])
			}
		}
		if winner == nil || locked != 1 {
			t.Fatalf("round %d: no receiver won session %s (%d refused)", round, sid, locked)
		}
		// While the winner holds it, every other receiver is refused.
		if _, err := q.AcceptSession(ctx, qn, sid); !errors.Is(err, queue.ErrSessionLocked) {
			t.Fatalf("round %d: third AcceptSession while held = %v, want ErrSessionLocked", round, err)
		}
		d := sessionReceive1(t, ctx, f, winner)
		must(t, "Complete by the winner", d.Complete(ctx))
		must(t, "Close", winner.Close(ctx))
	}
}

func testSessionLockExpiry(t *testing.T, f Factory) {
	qn := name("seslock")
	q := f.Open(t, QueueSpec{Name: qn, Sessions: true, LockDuration: f.Timing().Lock})
	ctx := ctxFor(t)
	send(t, ctx, q, qn, queue.Message{ID: "op", SessionID: "op-1", Body: []byte("stmt")})
	a := accept(t, ctx, q, qn, "op-1")
	if !a.LockedUntil().After(time.Now().Add(-time.Minute)) {
		t.Fatalf("LockedUntil = %v", a.LockedUntil())
	}
	must(t, "SetState", a.SetState(ctx, []byte("a-was-here")))
	da := sessionReceive1(t, ctx, f, a)
	if da.Message().DeliveryCount != 1 {
		t.Fatalf("DeliveryCount = %d, want 1", da.Message().DeliveryCount)
	}
	_, err := q.AcceptSession(ctx, qn, "op-1")
	wantErr(t, "AcceptSession while held", err, queue.ErrSessionLocked)

	sleepUntil(ctx, a.LockedUntil(), f.Timing().Slack)
	b := acceptOnceFree(t, ctx, f, q, qn, "op-1")
	wantErr(t, "Complete by the holder whose lock lapsed", da.Complete(ctx), queue.ErrLockLost)
	wantErr(t, "SetState by the holder whose lock lapsed", a.SetState(ctx, []byte("late")), queue.ErrLockLost)
	wantErr(t, "RenewLock by the holder whose lock lapsed", a.RenewLock(ctx), queue.ErrLockLost)
	st, err := b.State(ctx)
	must(t, "State", err)
	if string(st) != "a-was-here" {
		t.Fatalf("state = %q after the first holder's late write, want a-was-here", st)
	}
	db := sessionReceive1(t, ctx, f, b)
	if db.Message().ID != "op" || db.Message().DeliveryCount != 2 {
		t.Fatalf("second holder got %q/%d, want op/2 (a lapsed session lock counts a delivery)", db.Message().ID, db.Message().DeliveryCount)
	}
	must(t, "Complete by the new holder", db.Complete(ctx))
	if err := a.Close(ctx); err != nil && !errors.Is(err, queue.ErrLockLost) {
		t.Fatalf("Close of a lapsed session: %v", err)
	}
}

func testSessionRenewLock(t *testing.T, f Factory) {
	lock := f.Timing().Lock
	qn := name("sesrenew")
	q := f.Open(t, QueueSpec{Name: qn, Sessions: true, LockDuration: lock})
	ctx := ctxFor(t)
	send(t, ctx, q, qn, queue.Message{ID: "op", SessionID: "op-1"})
	s := accept(t, ctx, q, qn, "op-1")
	first := s.LockedUntil()
	d := sessionReceive1(t, ctx, f, s)
	// Renew every quarter lock until past the first lock's end.
	for i := 0; i < 2; i++ {
		sleep(ctx, lock/4)
		prev := s.LockedUntil()
		must(t, "Session.RenewLock", s.RenewLock(ctx))
		if !s.LockedUntil().After(prev) {
			t.Fatalf("LockedUntil %v not extended past %v", s.LockedUntil(), prev)
		}
	}
	sleep(ctx, lock/4)
	// A message's RenewLock renews its session.
	must(t, "Delivery.RenewLock", d.RenewLock(ctx))
	sleepUntil(ctx, first, lock/8)
	_, err := q.AcceptSession(ctx, qn, "op-1")
	wantErr(t, "AcceptSession of a renewed session", err, queue.ErrSessionLocked)
	must(t, "Complete past the first lock", d.Complete(ctx))
}

func testSessionState(t *testing.T, f Factory) {
	qn := name("state")
	q := f.Open(t, QueueSpec{Name: qn, Sessions: true})
	ctx := ctxFor(t)
	send(t, ctx, q, qn, queue.Message{ID: "op", SessionID: "op-1"})
	s := accept(t, ctx, q, qn, "op-1")
	st, err := s.State(ctx)
	must(t, "State", err)
	if len(st) != 0 {
		t.Fatalf("initial state = %q, want none", st)
	}
	must(t, "SetState", s.SetState(ctx, []byte(`{"status":"pending"}`)))
	must(t, "SetState", s.SetState(ctx, []byte(`{"status":"approved"}`)))
	wantErr(t, "SetState too large", s.SetState(ctx, bytes.Repeat([]byte("s"), queue.MaxSessionStateBytes+1)), queue.ErrInvalidArgument)
	d := sessionReceive1(t, ctx, f, s)
	must(t, "Complete", d.Complete(ctx))
	st, err = s.State(ctx)
	must(t, "State", err)
	if string(st) != `{"status":"approved"}` {
		t.Fatalf("state after completing the message = %q", st)
	}
	must(t, "Close", s.Close(ctx))

	// The state outlives the session's messages and its lock.
	s2 := acceptOnceFree(t, ctx, f, q, qn, "op-1")
	st, err = s2.State(ctx)
	must(t, "State", err)
	if string(st) != `{"status":"approved"}` {
		t.Fatalf("state after re-accepting = %q", st)
	}
	must(t, "clear state", s2.SetState(ctx, nil))
	st, err = s2.State(ctx)
	must(t, "State", err)
	if len(st) != 0 {
		t.Fatalf("state after clearing = %q", st)
	}
	// Another session's state is its own.
	other := accept(t, ctx, q, qn, "op-2")
	st, err = other.State(ctx)
	must(t, "State", err)
	if len(st) != 0 {
		t.Fatalf("op-2 state = %q, want none", st)
	}
}

func testSessionCloseReleases(t *testing.T, f Factory) {
	qn := name("sesclose")
	q := f.Open(t, QueueSpec{Name: qn, Sessions: true})
	ctx := ctxFor(t)
	send(t, ctx, q, qn, queue.Message{ID: "op", SessionID: "op-1"})
	a, err := q.AcceptSession(ctx, qn, "op-1")
	must(t, "AcceptSession", err)
	da := sessionReceive1(t, ctx, f, a)
	must(t, "Close", a.Close(ctx))
	wantErr(t, "Complete after Close", da.Complete(ctx), queue.ErrLockLost)
	b := acceptOnceFree(t, ctx, f, q, qn, "op-1")
	db := sessionReceive1(t, ctx, f, b)
	if db.Message().DeliveryCount != 1 {
		t.Fatalf("DeliveryCount after a release by Close = %d, want 1", db.Message().DeliveryCount)
	}
	must(t, "Complete", db.Complete(ctx))
	sessionEmpty(t, ctx, f, b)
}

func testSessionAbandonMaxDeliveries(t *testing.T, f Factory) {
	qn := name("sesmax")
	q := f.Open(t, QueueSpec{Name: qn, Sessions: true, MaxDeliveries: 2})
	ctx := ctxFor(t)
	send(t, ctx, q, qn, queue.Message{ID: "op", SessionID: "op-1"})
	s := accept(t, ctx, q, qn, "op-1")
	for i := 1; i <= 2; i++ {
		d := sessionReceive1(t, ctx, f, s)
		if d.Message().DeliveryCount != i {
			t.Fatalf("delivery %d: DeliveryCount %d", i, d.Message().DeliveryCount)
		}
		must(t, "Abandon", d.Abandon(ctx))
	}
	sessionEmpty(t, ctx, f, s)
	dl := deadLetter1(t, ctx, f, q, qn)
	if dl.Message().SessionID != "op-1" || dl.Message().DeadLetterReason != queue.ReasonMaxDeliveries {
		t.Fatalf("dead letter session %q reason %q", dl.Message().SessionID, dl.Message().DeadLetterReason)
	}
	must(t, "Complete dead letter", dl.Complete(ctx))
}

func testSessionFIFO(t *testing.T, f Factory) {
	qn := name("fifo")
	q := f.Open(t, QueueSpec{Name: qn, Sessions: true})
	ctx := ctxFor(t)
	msg := func(sid string, i int) queue.Message {
		return queue.Message{ID: fmt.Sprintf("%s-%d", sid, i), SessionID: sid, Properties: map[string]any{"i": int64(i)}}
	}
	send(t, ctx, q, qn, msg("s1", 0))
	send(t, ctx, q, qn, msg("s2", 0))
	send(t, ctx, q, qn, msg("s1", 1), msg("s2", 1), msg("s1", 2))
	send(t, ctx, q, qn, msg("s1", 3))
	s := accept(t, ctx, q, qn, "s1")
	ds := receiveN(t, f, 4, func(max int, wait time.Duration) ([]queue.Delivery, error) { return s.Receive(ctx, max, wait) })
	var last int64
	for i, d := range ds {
		if d.Message().Properties["i"] != int64(i) || d.Message().SessionID != "s1" {
			t.Fatalf("position %d: %q (i=%v)", i, d.Message().ID, d.Message().Properties["i"])
		}
		if d.Message().SequenceNumber <= last {
			t.Fatalf("sequence numbers not increasing: %d after %d", d.Message().SequenceNumber, last)
		}
		last = d.Message().SequenceNumber
	}
	// Abandon the head: it comes back first.
	must(t, "Abandon", ds[0].Abandon(ctx))
	d := sessionReceive1(t, ctx, f, s)
	if d.Message().ID != "s1-0" {
		t.Fatalf("after abandoning the head got %q, want s1-0", d.Message().ID)
	}
	must(t, "Complete", d.Complete(ctx))
	for _, d := range ds[1:] {
		must(t, "Complete", d.Complete(ctx))
	}
	sessionEmpty(t, ctx, f, s)
	s2 := accept(t, ctx, q, qn, "s2")
	ds = receiveN(t, f, 2, func(max int, wait time.Duration) ([]queue.Delivery, error) { return s2.Receive(ctx, max, wait) })
	if ds[0].Message().ID != "s2-0" || ds[1].Message().ID != "s2-1" {
		t.Fatalf("s2 order %q, %q", ds[0].Message().ID, ds[1].Message().ID)
	}
}

func testSessionTTLDeadLetter(t *testing.T, f Factory) {
	tm := f.Timing()
	qn := name("sesttl")
	q := f.Open(t, QueueSpec{Name: qn, Sessions: true, DeadLetterOnExpiry: true})
	ctx := ctxFor(t)
	send(t, ctx, q, qn, queue.Message{ID: "op", SessionID: "op-1", TTL: tm.TTL})
	sleep(ctx, tm.TTL+tm.Slack)
	s := accept(t, ctx, q, qn, "op-1")
	sessionEmpty(t, ctx, f, s)
	dl := deadLetter1(t, ctx, f, q, qn)
	if dl.Message().ID != "op" || dl.Message().SessionID != "op-1" || dl.Message().DeadLetterReason != queue.ReasonTTLExpired {
		t.Fatalf("dead letter %q session %q reason %q", dl.Message().ID, dl.Message().SessionID, dl.Message().DeadLetterReason)
	}
	must(t, "Complete dead letter", dl.Complete(ctx))
}

func testAcceptNextSession(t *testing.T, f Factory) {
	qn := name("next")
	q := f.Open(t, QueueSpec{Name: qn, Sessions: true})
	ctx := ctxFor(t)
	send(t, ctx, q, qn, queue.Message{ID: "1", SessionID: "op-1"}, queue.Message{ID: "2", SessionID: "op-2"})
	got := map[string]bool{}
	for i := 0; i < 2; i++ {
		s, err := q.AcceptNextSession(ctx, qn, f.Timing().Wait)
		must(t, "AcceptNextSession", err)
		t.Cleanup(func() { _ = s.Close(context.Background()) })
		if got[s.ID()] {
			t.Fatalf("session %q accepted twice while locked", s.ID())
		}
		got[s.ID()] = true
		d := sessionReceive1(t, ctx, f, s)
		must(t, "Complete", d.Complete(ctx))
	}
	if !got["op-1"] || !got["op-2"] {
		t.Fatalf("accepted %v, want op-1 and op-2", got)
	}
	_, err := q.AcceptNextSession(ctx, qn, f.Timing().Empty)
	wantErr(t, "AcceptNextSession with every session locked", err, queue.ErrNoSession)
}

func testAcceptNextSessionWaits(t *testing.T, f Factory) {
	qn := name("nextwait")
	q := f.Open(t, QueueSpec{Name: qn, Sessions: true})
	ctx := ctxFor(t)
	_, err := q.AcceptNextSession(ctx, qn, f.Timing().Empty)
	wantErr(t, "AcceptNextSession on an empty queue", err, queue.ErrNoSession)
	type result struct {
		s   queue.Session
		err error
	}
	res := make(chan result, 1)
	go func() {
		s, err := q.AcceptNextSession(ctx, qn, f.Timing().Wait)
		res <- result{s, err}
	}()
	sleep(ctx, f.Timing().Empty)
	send(t, ctx, q, qn, queue.Message{ID: "late", SessionID: "op-9"})
	r := <-res
	must(t, "AcceptNextSession while a message arrives", r.err)
	t.Cleanup(func() { _ = r.s.Close(context.Background()) })
	if r.s.ID() != "op-9" {
		t.Fatalf("accepted %q, want op-9", r.s.ID())
	}
	d := sessionReceive1(t, ctx, f, r.s)
	must(t, "Complete", d.Complete(ctx))
}

func testAcceptEmptySession(t *testing.T, f Factory) {
	qn := name("empty")
	q := f.Open(t, QueueSpec{Name: qn, Sessions: true})
	ctx := ctxFor(t)
	s := accept(t, ctx, q, qn, "op-7")
	sessionEmpty(t, ctx, f, s)
	_, err := q.AcceptSession(ctx, qn, "op-7")
	wantErr(t, "AcceptSession of a held empty session", err, queue.ErrSessionLocked)
	must(t, "SetState", s.SetState(ctx, []byte("decided")))
	must(t, "Close", s.Close(ctx))
	// A session with state but no messages is not offered by AcceptNextSession.
	_, err = q.AcceptNextSession(ctx, qn, f.Timing().Empty)
	wantErr(t, "AcceptNextSession with only a stateful empty session", err, queue.ErrNoSession)
	s2 := acceptOnceFree(t, ctx, f, q, qn, "op-7")
	st, err := s2.State(ctx)
	must(t, "State", err)
	if string(st) != "decided" {
		t.Fatalf("state = %q", st)
	}
}
