package queuetest

import (
	"bytes"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/behalf-dev/behalf/shared/queue"
)

func testSendReceiveComplete(t *testing.T, f Factory) {
	qn := name("basic")
	q := f.Open(t, QueueSpec{Name: qn})
	ctx := ctxFor(t)
	before := time.Now()
	props := map[string]any{"s": "text", "b": true, "i": int64(-42), "f": 1.5}
	send(t, ctx, q, qn, queue.Message{ID: "m-1", Body: []byte(`{"a":1}`), ContentType: "application/json",
		Subject: "audit.event", Properties: props, TTL: time.Hour})
	d := receive1(t, ctx, f, q, qn)
	r := d.Message()
	if r.ID != "m-1" || string(r.Body) != `{"a":1}` || r.ContentType != "application/json" || r.Subject != "audit.event" || r.SessionID != "" {
		t.Fatalf("received %+v", r.Message)
	}
	if !reflect.DeepEqual(r.Properties, props) {
		t.Fatalf("properties = %#v, want %#v", r.Properties, props)
	}
	if r.DeliveryCount != 1 {
		t.Fatalf("DeliveryCount = %d, want 1", r.DeliveryCount)
	}
	// Allow for clock skew against a remote broker.
	if r.EnqueuedAt.Before(before.Add(-time.Minute)) || r.EnqueuedAt.After(time.Now().Add(time.Minute)) {
		t.Fatalf("EnqueuedAt = %v, sent at %v", r.EnqueuedAt, before)
	}
	if r.TTL != time.Hour {
		t.Fatalf("TTL = %v, want 1h", r.TTL)
	}
	if got := r.ExpiresAt.Sub(r.EnqueuedAt); got < time.Hour-time.Second || got > time.Hour+time.Second {
		t.Fatalf("ExpiresAt - EnqueuedAt = %v, want 1h", got)
	}
	if !r.LockedUntil.After(r.EnqueuedAt) {
		t.Fatalf("LockedUntil = %v, not after EnqueuedAt %v", r.LockedUntil, r.EnqueuedAt)
	}
	if r.DeadLetterReason != "" {
		t.Fatalf("DeadLetterReason = %q on a live message", r.DeadLetterReason)
	}
	must(t, "Complete", d.Complete(ctx))
	expectEmpty(t, ctx, f, q, qn)

	// Without a TTL, the message never expires.
	send(t, ctx, q, qn, queue.Message{ID: "m-2"})
	d = receive1(t, ctx, f, q, qn)
	if r2 := d.Message(); !r2.ExpiresAt.IsZero() && r2.ExpiresAt.Before(time.Now().AddDate(1, 0, 0)) {
		t.Fatalf("ExpiresAt = %v for a message without TTL on a queue without one", r2.ExpiresAt)
	}
	if d.Message().SequenceNumber <= r.SequenceNumber {
		t.Fatalf("sequence numbers %d then %d, want increasing", r.SequenceNumber, d.Message().SequenceNumber)
	}
	must(t, "Complete", d.Complete(ctx))
}

func testAbandonRedelivers(t *testing.T, f Factory) {
	qn := name("abandon")
	q := f.Open(t, QueueSpec{Name: qn})
	ctx := ctxFor(t)
	send(t, ctx, q, qn, queue.Message{ID: "a", Body: []byte("x")})
	d1 := receive1(t, ctx, f, q, qn)
	must(t, "Abandon", d1.Abandon(ctx))
	d2 := receive1(t, ctx, f, q, qn)
	if d2.Message().ID != "a" || d2.Message().DeliveryCount != 2 {
		t.Fatalf("redelivered %q with DeliveryCount %d, want a/2", d2.Message().ID, d2.Message().DeliveryCount)
	}
	if d2.Message().SequenceNumber != d1.Message().SequenceNumber {
		t.Fatalf("sequence number changed on redelivery: %d -> %d", d1.Message().SequenceNumber, d2.Message().SequenceNumber)
	}
	must(t, "Complete", d2.Complete(ctx))
	expectEmpty(t, ctx, f, q, qn)
	expectNoDeadLetters(t, ctx, f, q, qn)
}

func testDeadLetter(t *testing.T, f Factory) {
	qn := name("deadletter")
	q := f.Open(t, QueueSpec{Name: qn})
	ctx := ctxFor(t)
	send(t, ctx, q, qn, queue.Message{ID: "poison", Body: []byte("?"), Properties: map[string]any{"k": "v"}})
	d := receive1(t, ctx, f, q, qn)
	must(t, "DeadLetter", d.DeadLetter(ctx, "Unparsable", "body is not JSON"))
	expectEmpty(t, ctx, f, q, qn)
	dl := deadLetter1(t, ctx, f, q, qn)
	r := dl.Message()
	if r.ID != "poison" || string(r.Body) != "?" || r.Properties["k"] != "v" {
		t.Fatalf("dead letter = %+v", r.Message)
	}
	if r.DeadLetterReason != "Unparsable" || r.DeadLetterDescription != "body is not JSON" {
		t.Fatalf("dead-letter reason %q / %q", r.DeadLetterReason, r.DeadLetterDescription)
	}
	must(t, "Complete dead letter", dl.Complete(ctx))
	expectNoDeadLetters(t, ctx, f, q, qn)
	wantErr(t, "DeadLetter with an oversized reason", func() error {
		send(t, ctx, q, qn, queue.Message{ID: "p2"})
		d := receive1(t, ctx, f, q, qn)
		defer d.Complete(ctx)
		return d.DeadLetter(ctx, string(bytes.Repeat([]byte("r"), queue.MaxDeadLetterTextBytes+1)), "")
	}(), queue.ErrInvalidArgument)
}

func testSettleTwice(t *testing.T, f Factory) {
	qn := name("settle")
	q := f.Open(t, QueueSpec{Name: qn})
	ctx := ctxFor(t)
	send(t, ctx, q, qn, queue.Message{ID: "once"})
	d := receive1(t, ctx, f, q, qn)
	must(t, "Complete", d.Complete(ctx))
	wantErr(t, "second Complete", d.Complete(ctx), queue.ErrLockLost)
	wantErr(t, "Abandon after Complete", d.Abandon(ctx), queue.ErrLockLost)
	wantErr(t, "DeadLetter after Complete", d.DeadLetter(ctx, "r", "d"), queue.ErrLockLost)
	expectEmpty(t, ctx, f, q, qn)
}

func testMessageLockExpiry(t *testing.T, f Factory) {
	qn := name("msglock")
	q := f.Open(t, QueueSpec{Name: qn, LockDuration: f.Timing().Lock})
	ctx := ctxFor(t)
	send(t, ctx, q, qn, queue.Message{ID: "slow"})
	d1 := receive1(t, ctx, f, q, qn)
	// While locked, nobody else gets it.
	expectEmpty(t, ctx, f, q, qn)
	sleepUntil(ctx, d1.Message().LockedUntil, f.Timing().Slack)
	d2 := receive1(t, ctx, f, q, qn)
	if d2.Message().ID != "slow" || d2.Message().DeliveryCount != 2 {
		t.Fatalf("after lock expiry got %q/%d, want slow/2", d2.Message().ID, d2.Message().DeliveryCount)
	}
	wantErr(t, "Complete with a lapsed lock", d1.Complete(ctx), queue.ErrLockLost)
	wantErr(t, "RenewLock with a lapsed lock", d1.RenewLock(ctx), queue.ErrLockLost)
	must(t, "Complete by the second receiver", d2.Complete(ctx))
	expectEmpty(t, ctx, f, q, qn)
}

func testRenewMessageLock(t *testing.T, f Factory) {
	lock := f.Timing().Lock
	qn := name("renew")
	q := f.Open(t, QueueSpec{Name: qn, LockDuration: lock})
	ctx := ctxFor(t)
	send(t, ctx, q, qn, queue.Message{ID: "long"})
	d := receive1(t, ctx, f, q, qn)
	first := d.Message().LockedUntil
	// Renew every quarter lock, for one and a half locks: a slow machine
	// still renews in time.
	for i := 0; i < 6; i++ {
		sleep(ctx, lock/4)
		prev := d.Message().LockedUntil
		must(t, "RenewLock", d.RenewLock(ctx))
		if !d.Message().LockedUntil.After(prev) {
			t.Fatalf("LockedUntil %v not extended past %v", d.Message().LockedUntil, prev)
		}
	}
	if time.Now().Before(first) {
		t.Fatalf("test ran too fast: still inside the first lock")
	}
	expectEmpty(t, ctx, f, q, qn)
	must(t, "Complete after renewals", d.Complete(ctx))
}

func testMaxDeliveries(t *testing.T, f Factory) {
	qn := name("maxdel")
	q := f.Open(t, QueueSpec{Name: qn, MaxDeliveries: 2})
	ctx := ctxFor(t)
	send(t, ctx, q, qn, queue.Message{ID: "bad", Body: []byte("b")})
	for i := 1; i <= 2; i++ {
		d := receive1(t, ctx, f, q, qn)
		if d.Message().DeliveryCount != i {
			t.Fatalf("delivery %d has DeliveryCount %d", i, d.Message().DeliveryCount)
		}
		must(t, "Abandon", d.Abandon(ctx))
	}
	expectEmpty(t, ctx, f, q, qn)
	dl := deadLetter1(t, ctx, f, q, qn)
	if dl.Message().ID != "bad" || dl.Message().DeadLetterReason != queue.ReasonMaxDeliveries {
		t.Fatalf("dead letter %q reason %q, want bad/%s", dl.Message().ID, dl.Message().DeadLetterReason, queue.ReasonMaxDeliveries)
	}
	must(t, "Complete dead letter", dl.Complete(ctx))
}

func testTTLDeadLetter(t *testing.T, f Factory) {
	tm := f.Timing()
	qn := name("ttldl")
	q := f.Open(t, QueueSpec{Name: qn, DeadLetterOnExpiry: true})
	ctx := ctxFor(t)
	send(t, ctx, q, qn, queue.Message{ID: "short", TTL: tm.TTL}, queue.Message{ID: "keep", TTL: time.Hour})
	sleep(ctx, tm.TTL+tm.Slack)
	d := receive1(t, ctx, f, q, qn)
	if d.Message().ID != "keep" {
		t.Fatalf("received %q, want keep (short expired)", d.Message().ID)
	}
	must(t, "Complete", d.Complete(ctx))
	expectEmpty(t, ctx, f, q, qn)
	dl := deadLetter1(t, ctx, f, q, qn)
	if dl.Message().ID != "short" || dl.Message().DeadLetterReason != queue.ReasonTTLExpired {
		t.Fatalf("dead letter %q reason %q, want short/%s", dl.Message().ID, dl.Message().DeadLetterReason, queue.ReasonTTLExpired)
	}
	must(t, "Complete dead letter", dl.Complete(ctx))
}

func testTTLWithoutDeadLettering(t *testing.T, f Factory) {
	tm := f.Timing()
	qn := name("ttldrop")
	q := f.Open(t, QueueSpec{Name: qn})
	ctx := ctxFor(t)
	send(t, ctx, q, qn, queue.Message{ID: "gone", TTL: tm.TTL})
	sleep(ctx, tm.TTL+tm.Slack)
	expectEmpty(t, ctx, f, q, qn)
	expectNoDeadLetters(t, ctx, f, q, qn)
}

func testQueueDefaultTTL(t *testing.T, f Factory) {
	tm := f.Timing()
	qn := name("defttl")
	q := f.Open(t, QueueSpec{Name: qn, DefaultTTL: tm.TTL, DeadLetterOnExpiry: true})
	ctx := ctxFor(t)
	// A message TTL longer than the queue's is cut to the queue's.
	send(t, ctx, q, qn, queue.Message{ID: "default"}, queue.Message{ID: "longer", TTL: time.Hour})
	sleep(ctx, tm.TTL+tm.Slack)
	expectEmpty(t, ctx, f, q, qn)
	dls := receiveN(t, f, 2, func(max int, wait time.Duration) ([]queue.Delivery, error) {
		return q.ReceiveDeadLetters(ctx, qn, max, wait)
	})
	ids := []string{}
	for _, d := range dls {
		if d.Message().DeadLetterReason != queue.ReasonTTLExpired {
			t.Fatalf("%q reason %q", d.Message().ID, d.Message().DeadLetterReason)
		}
		ids = append(ids, d.Message().ID)
		must(t, "Complete", d.Complete(ctx))
	}
	sort.Strings(ids)
	if fmt.Sprint(ids) != "[default longer]" {
		t.Fatalf("dead letters %v", ids)
	}
}

func testDuplicateDetection(t *testing.T, f Factory) {
	dup, plain := name("dup"), name("nodup")
	q := f.Open(t, QueueSpec{Name: dup, DuplicateDetection: true}, QueueSpec{Name: plain})
	ctx := ctxFor(t)
	for _, qn := range []string{dup, plain} {
		send(t, ctx, q, qn, queue.Message{ID: "op-1", Body: []byte("first")})
		send(t, ctx, q, qn, queue.Message{ID: "op-1", Body: []byte("second")})
		send(t, ctx, q, qn, queue.Message{ID: "op-1", Body: []byte("third")}, queue.Message{ID: "op-2", Body: []byte("fourth")})
	}
	bodies := func(qn string, n int) []string {
		ds := receiveN(t, f, n, func(max int, wait time.Duration) ([]queue.Delivery, error) { return q.Receive(ctx, qn, max, wait) })
		var out []string
		for _, d := range ds {
			out = append(out, string(d.Message().Body))
			must(t, "Complete", d.Complete(ctx))
		}
		expectEmpty(t, ctx, f, q, qn)
		return out
	}
	if got := bodies(dup, 2); fmt.Sprint(got) != "[first fourth]" {
		t.Fatalf("with duplicate detection received %v, want [first fourth]", got)
	}
	if got := bodies(plain, 4); fmt.Sprint(got) != "[first second third fourth]" {
		t.Fatalf("without duplicate detection received %v", got)
	}
	// A completed message's id still counts within the window.
	send(t, ctx, q, dup, queue.Message{ID: "op-1", Body: []byte("fifth")})
	expectEmpty(t, ctx, f, q, dup)
}

func testAtomicBatch(t *testing.T, f Factory) {
	qn := name("batch")
	q := f.Open(t, QueueSpec{Name: qn})
	ctx := ctxFor(t)
	big := bytes.Repeat([]byte("x"), queue.MaxMessageBytes)
	err := q.Send(ctx, qn, queue.Message{ID: "ok-1"}, queue.Message{ID: "ok-2"}, queue.Message{ID: "big", Body: big})
	wantErr(t, "Send of a batch with one message too large", err, queue.ErrInvalidMessage)
	chunk := bytes.Repeat([]byte("y"), 60<<10)
	var over []queue.Message
	for i := 0; i < 5; i++ {
		over = append(over, queue.Message{ID: fmt.Sprintf("c-%d", i), Body: chunk})
	}
	wantErr(t, "Send of a batch over the batch limit", q.Send(ctx, qn, over...), queue.ErrInvalidMessage)
	wantErr(t, "Send of no messages", q.Send(ctx, qn), queue.ErrInvalidMessage)
	expectEmpty(t, ctx, f, q, qn)

	send(t, ctx, q, qn, over[:4]...)
	ds := receiveN(t, f, 4, func(max int, wait time.Duration) ([]queue.Delivery, error) { return q.Receive(ctx, qn, max, wait) })
	for i, d := range ds {
		if d.Message().ID != fmt.Sprintf("c-%d", i) || !bytes.Equal(d.Message().Body, chunk) {
			t.Fatalf("batch message %d = %q (%d bytes)", i, d.Message().ID, len(d.Message().Body))
		}
		must(t, "Complete", d.Complete(ctx))
	}
}

func testInvalidMessages(t *testing.T, f Factory) {
	plain, sess := name("invalid"), name("invalids")
	q := f.Open(t, QueueSpec{Name: plain}, QueueSpec{Name: sess, Sessions: true})
	ctx := ctxFor(t)
	long := string(bytes.Repeat([]byte("i"), queue.MaxIDLength+1))
	cases := []struct {
		name  string
		queue string
		msg   queue.Message
	}{
		{"session id on a queue without sessions", plain, queue.Message{SessionID: "s"}},
		{"no session id on a session queue", sess, queue.Message{ID: "x"}},
		{"body too large", plain, queue.Message{Body: bytes.Repeat([]byte("z"), queue.MaxMessageBytes)}},
		{"message id too long", plain, queue.Message{ID: long}},
		{"session id too long", sess, queue.Message{SessionID: long}},
		{"property of an unsupported type", plain, queue.Message{Properties: map[string]any{"t": time.Now()}}},
		{"empty property name", plain, queue.Message{Properties: map[string]any{"": "v"}}},
		{"negative time to live", plain, queue.Message{TTL: -time.Second}},
	}
	for _, c := range cases {
		wantErr(t, c.name, q.Send(ctx, c.queue, c.msg), queue.ErrInvalidMessage)
	}
	expectEmpty(t, ctx, f, q, plain)
	if s, err := q.AcceptNextSession(ctx, sess, f.Timing().Empty); err == nil {
		s.Close(ctx)
		t.Fatalf("AcceptNextSession found session %q after only invalid sends", s.ID())
	} else {
		wantErr(t, "AcceptNextSession", err, queue.ErrNoSession)
	}
	_, err := q.Receive(ctx, plain, 0, time.Second)
	wantErr(t, "Receive of 0 messages", err, queue.ErrInvalidArgument)
	_, err = q.Receive(ctx, plain, 1, -time.Second)
	wantErr(t, "Receive with a negative wait", err, queue.ErrInvalidArgument)
	_, err = q.AcceptSession(ctx, sess, "")
	wantErr(t, "AcceptSession of an empty id", err, queue.ErrInvalidArgument)
}

func testUnknownQueue(t *testing.T, f Factory) {
	qn := name("known")
	q := f.Open(t, QueueSpec{Name: qn})
	ctx := ctxFor(t)
	missing := name("missing")
	wantErr(t, "Send to an unknown queue", q.Send(ctx, missing, queue.Message{ID: "x"}), queue.ErrUnknownQueue)
	_, err := q.Receive(ctx, missing, 1, 0)
	wantErr(t, "Receive from an unknown queue", err, queue.ErrUnknownQueue)
	_, err = q.AcceptSession(ctx, missing, "s")
	wantErr(t, "AcceptSession on an unknown queue", err, queue.ErrUnknownQueue)
}

func testCompetingReceivers(t *testing.T, f Factory) {
	qn := name("compete")
	q := f.Open(t, QueueSpec{Name: qn})
	ctx := ctxFor(t)
	const n = 20
	var msgs []queue.Message
	for i := 0; i < n; i++ {
		msgs = append(msgs, queue.Message{ID: fmt.Sprintf("m-%02d", i)})
	}
	send(t, ctx, q, qn, msgs...)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	deadline := time.Now().Add(f.Timing().Wait)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				mu.Lock()
				done := len(seen) == n
				mu.Unlock()
				if done {
					return
				}
				ds, err := q.Receive(ctx, qn, 3, f.Timing().Empty)
				if err != nil {
					errs <- err
					return
				}
				for _, d := range ds {
					if err := d.Complete(ctx); err != nil {
						errs <- err
						return
					}
					mu.Lock()
					seen[d.Message().ID]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("receiver: %v", err)
	}
	if len(seen) != n {
		t.Fatalf("received %d distinct messages, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("%s completed %d times", id, c)
		}
	}
}
