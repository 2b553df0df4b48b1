package genie

import (
	"sync"
	"time"
)

// Limiter is a sliding-window limit on questions per workspace: it answers
// at once (with how long to wait) instead of queuing callers.
type Limiter struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu    sync.Mutex
	times []time.Time
}

// NewLimiter allows max events per window.
func NewLimiter(max int, window time.Duration, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{max: max, window: window, now: now}
}

// Allow records an event if the window has room; otherwise it says how
// long until the oldest event leaves the window.
func (l *Limiter) Allow() (bool, time.Duration) {
	if l.max <= 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	cut := 0
	for cut < len(l.times) && now.Sub(l.times[cut]) >= l.window {
		cut++
	}
	l.times = l.times[cut:]
	if len(l.times) >= l.max {
		return false, l.window - now.Sub(l.times[0])
	}
	l.times = append(l.times, now)
	return true, 0
}
