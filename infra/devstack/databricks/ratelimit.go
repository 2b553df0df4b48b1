package databricks

import (
	"sync"
	"time"
)

// rateLimiter is a sliding-window limit of n events per window, for the
// workspace-wide Genie question limit.
type rateLimiter struct {
	mu     sync.Mutex
	n      int
	window time.Duration
	times  []time.Time
}

func (rl *rateLimiter) set(n int, window time.Duration) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if window <= 0 {
		window = time.Minute
	}
	rl.n, rl.window, rl.times = n, window, nil
}

// allow records an event at now if the limit allows it; otherwise it says
// how long until the oldest event leaves the window.
func (rl *rateLimiter) allow(now time.Time) (bool, time.Duration) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.n <= 0 {
		return true, 0
	}
	cut := now.Add(-rl.window)
	kept := rl.times[:0]
	for _, t := range rl.times {
		if t.After(cut) {
			kept = append(kept, t)
		}
	}
	rl.times = kept
	if len(rl.times) >= rl.n {
		return false, rl.times[0].Add(rl.window).Sub(now)
	}
	rl.times = append(rl.times, now)
	return true, 0
}
