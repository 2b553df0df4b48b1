package audit

import (
	"context"
	"errors"
	"fmt"
)

// Store is where audit records live: an append-only hash chain.
// Implementations: sqlitestore (embedded, the default) and dbxstore (a
// Delta table through the Statement Execution API). One contract suite,
// audittest.Run, holds them to the same behaviour.
type Store interface {
	Appender
	Reader
	Querier
	Close() error
}

// Appender appends batches.
type Appender interface {
	// Append validates every event and appends the new ones in one
	// transaction, in order, each linked to the one before. An event whose
	// id is already stored (or repeated in the batch) is skipped, not
	// re-chained. If any event is invalid nothing is appended and the
	// error wraps ErrInvalidEvent.
	Append(ctx context.Context, events []Event) (AppendResult, error)
}

// Reader reads the chain in sequence order.
type Reader interface {
	// Range returns up to limit records with seq >= from, in seq order.
	Range(ctx context.Context, from int64, limit int) ([]Record, error)
	// Head is the last record's seq and hash (EmptyHead when empty).
	Head(ctx context.Context) (Head, error)
}

// Querier answers the admin query.
type Querier interface {
	// Query returns one page of records matching q, newest first.
	Query(ctx context.Context, q Query) (*Page, error)
}

// AppendResult says what an Append did.
type AppendResult struct {
	Appended   int
	Duplicates int
	Head       Head
}

// Limits of reads.
const (
	// MaxRange is the most records one Range call returns.
	MaxRange = 1000
	// MaxBatch is the most events one Append takes.
	MaxBatch = 1000
)

// ErrStoreUnavailable marks a store that could not be reached; callers may
// retry (the audit-writer fails the delivery so the queue redelivers).
var ErrStoreUnavailable = errors.New("audit: the store is unavailable")

// CheckBatch validates a batch the way every store must before it writes.
func CheckBatch(events []Event) error {
	if len(events) > MaxBatch {
		return fmt.Errorf("%w: a batch holds at most %d events, got %d", ErrInvalidEvent, MaxBatch, len(events))
	}
	for i, ev := range events {
		if err := Validate(Normalize(ev)); err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
	}
	return nil
}

// CheckRange bounds Range arguments.
func CheckRange(from int64, limit int) (int64, int, error) {
	if from < 1 {
		from = 1
	}
	if limit <= 0 || limit > MaxRange {
		return 0, 0, fmt.Errorf("audit: range limit must be 1 to %d, got %d", MaxRange, limit)
	}
	return from, limit, nil
}

// ReadEach calls fn for every record with seq >= from, in order, reading
// pages of MaxRange.
func ReadEach(ctx context.Context, s Reader, from int64, fn func(Record) error) error {
	for {
		recs, err := s.Range(ctx, from, MaxRange)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(recs) == 0 {
			return nil
		}
		next := recs[len(recs)-1].Seq + 1
		if next <= from {
			return fmt.Errorf("audit: store returned seq %d for a range from %d", next-1, from)
		}
		from = next
	}
}

// ReadAll returns every record of a store (tests and the end-to-end
// checks; an export streams instead).
func ReadAll(ctx context.Context, s Reader) ([]Record, error) {
	var out []Record
	err := ReadEach(ctx, s, 1, func(r Record) error {
		out = append(out, r)
		return nil
	})
	return out, err
}
