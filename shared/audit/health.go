package audit

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/behalf-dev/behalf/shared/health"
	"github.com/behalf-dev/behalf/shared/queue"
)

// WriterStats counts what the audit-writer did; one per process, shared
// by the writer function and the health checks.
type WriterStats struct {
	messages, stored, duplicates, rejected, failed, deadLettered atomic.Int64
}

// WriterSnapshot is a copy of the counters.
type WriterSnapshot struct {
	// Messages were handled; Stored events appended; Duplicates skipped
	// (already stored); Rejected events stored as rejection records.
	Messages, Stored, Duplicates, Rejected int64
	// Failed deliveries were handed back to the queue for redelivery;
	// DeadLettered ones failed on their last allowed delivery, so the
	// queue moved them to its dead-letter queue.
	Failed, DeadLettered int64
}

// Snapshot returns the counters.
func (s *WriterStats) Snapshot() WriterSnapshot {
	return WriterSnapshot{Messages: s.messages.Load(), Stored: s.stored.Load(), Duplicates: s.duplicates.Load(),
		Rejected: s.rejected.Load(), Failed: s.failed.Load(), DeadLettered: s.deadLettered.Load()}
}

// Handled records one message's outcome.
func (s *WriterStats) Handled(stored, duplicates, rejected int) {
	s.messages.Add(1)
	s.stored.Add(int64(stored))
	s.duplicates.Add(int64(duplicates))
	s.rejected.Add(int64(rejected))
}

// Failure records a failed delivery; last is true when it was the
// delivery the queue dead-letters after.
func (s *WriterStats) Failure(last bool) {
	s.failed.Add(1)
	if last {
		s.deadLettered.Add(1)
	}
}

// DeadLetterPeeker reads a queue's dead-letter queue (shared/queue's
// Queues has it).
type DeadLetterPeeker interface {
	ReceiveDeadLetters(ctx context.Context, queue string, max int, wait time.Duration) ([]queue.Delivery, error)
}

// DeadLetterConfig configures DeadLetters.
type DeadLetterConfig struct {
	// Queue is the audit queue (default "audit").
	Queue string
	// Peeker, when set, is used to count the dead-letter queue itself:
	// messages are peek-locked and abandoned at once (never completed).
	Peeker DeadLetterPeeker
	// Writer is this process' writer counters (optional).
	Writer *WriterStats
	// Max bounds how many dead letters one count looks at (default 100).
	Max int
	// Wait bounds the wait for the first dead letter (default 200 ms).
	Wait time.Duration
}

// DeadLetters counts audit messages that reached the dead-letter queue:
// events that were not stored. Every one needs an operator.
type DeadLetters struct {
	cfg DeadLetterConfig
}

// NewDeadLetters checks cfg.
func NewDeadLetters(cfg DeadLetterConfig) (*DeadLetters, error) {
	if cfg.Peeker == nil && cfg.Writer == nil {
		return nil, errors.New("audit: DeadLetterConfig needs a Peeker or Writer stats")
	}
	if cfg.Queue == "" {
		cfg.Queue = "audit"
	}
	if cfg.Max <= 0 {
		cfg.Max = 100
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 200 * time.Millisecond
	}
	return &DeadLetters{cfg: cfg}, nil
}

// Count returns how many dead letters there are: the larger of what the
// dead-letter queue holds (up to Max; atLeast is true when Max was hit)
// and what this writer saw go there.
func (d *DeadLetters) Count(ctx context.Context) (n int64, atLeast bool, err error) {
	if d.cfg.Writer != nil {
		n = d.cfg.Writer.Snapshot().DeadLettered
	}
	if d.cfg.Peeker == nil {
		return n, true, nil
	}
	dels, err := d.cfg.Peeker.ReceiveDeadLetters(ctx, d.cfg.Queue, d.cfg.Max, d.cfg.Wait)
	if err != nil {
		return n, true, fmt.Errorf("audit: count dead letters of %q: %w", d.cfg.Queue, err)
	}
	var errs []error
	for _, del := range dels {
		// Abandon puts it back: counting must never remove evidence.
		errs = append(errs, del.Abandon(context.WithoutCancel(ctx)))
	}
	if int64(len(dels)) > n {
		n = int64(len(dels))
	}
	return n, len(dels) >= d.cfg.Max, errors.Join(errs...)
}

// Check is a health check (register it as non-critical): degraded while
// any audit message is dead-lettered, down when they cannot be counted.
func (d *DeadLetters) Check(ctx context.Context) error {
	n, atLeast, err := d.Count(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		more := ""
		if atLeast {
			more = " or more"
		}
		return fmt.Errorf("%w: %d%s audit messages are dead-lettered on queue %q; their events are not in the store", health.ErrDegraded, n, more, d.cfg.Queue)
	}
	return nil
}

// Check is a health check for the emitter (register it as critical when
// reads fail closed): down while the trail cannot take events, degraded
// once events it had accepted were lost (an operator must look; refused
// events were reported to their callers, who failed closed).
func (e *Emitter) Check(ctx context.Context) error {
	if err := e.Healthy(); err != nil {
		return err
	}
	if s := e.Stats(); s.Lost > 0 {
		return fmt.Errorf("%w: %d audit events lost since start", health.ErrDegraded, s.Lost)
	}
	return nil
}
