package embedded

import (
	"context"
	"sync"
	"time"
)

// Poll backoff for changes made by other processes, which cannot notify.
const (
	pollMin = 5 * time.Millisecond
	pollMax = 200 * time.Millisecond
)

// notifier wakes this process' waiting receivers when something may have
// become available (a send, an abandon, a release).
type notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

func newNotifier() *notifier { return &notifier{ch: make(chan struct{})} }

// changed returns a channel closed at the next broadcast.
func (n *notifier) changed() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ch
}

func (n *notifier) broadcast() {
	n.mu.Lock()
	defer n.mu.Unlock()
	close(n.ch)
	n.ch = make(chan struct{})
}

// poll calls try until it reports done, wait passes, or ctx ends. Between
// tries it sleeps with a doubling backoff, or less when woken.
func (q *Queues) poll(ctx context.Context, wait time.Duration, try func() (done bool, err error)) error {
	deadline := time.Now().Add(wait)
	backoff := pollMin
	for {
		changed := q.notify.changed()
		done, err := try()
		if err != nil || done {
			return err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil
		}
		t := time.NewTimer(min(backoff, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-changed:
			backoff = pollMin
		case <-t.C:
			backoff = min(2*backoff, pollMax)
		}
		t.Stop()
	}
}
