package audit

import (
	"context"
	"errors"
	"fmt"
)

// ErrBrokenChain marks a chain that failed verification; the
// *BrokenLinkError it wraps names the first broken link.
var ErrBrokenChain = errors.New("audit: the hash chain is broken")

// Tamper kinds a broken link is classified as.
const (
	// BrokenHash: the record's bytes no longer hash to its stored hash
	// (the record was altered).
	BrokenHash = "altered"
	// BrokenGap: a sequence number is missing (a record was removed).
	BrokenGap = "missing"
	// BrokenOrder: sequence numbers go backwards or repeat (records were
	// reordered or one was inserted with a used number).
	BrokenOrder = "out of order"
	// BrokenPrev: the record does not point at the record before it (one
	// was inserted, removed and re-linked, or reordered).
	BrokenPrev = "not linked to the previous record"
	// BrokenDuplicate: an event id appears twice.
	BrokenDuplicate = "duplicate event"
	// BrokenHead: the chain does not end where its anchor (a manifest or
	// an expected head) says.
	BrokenHead = "head mismatch"
)

// BrokenLinkError is the first broken link of a chain.
type BrokenLinkError struct {
	// Seq is the sequence number of the offending record as stored (or
	// the expected one for a missing record).
	Seq int64
	// EventID is the offending record's event id, when known.
	EventID string
	// Kind is one of the Broken* constants.
	Kind string
	// Detail says what was expected.
	Detail string
	// Where locates it outside a store, e.g. "audit-20250301T000000Z.jsonl line 17".
	Where string
}

func (e *BrokenLinkError) Error() string {
	s := fmt.Sprintf("audit: broken chain at seq %d", e.Seq)
	if e.EventID != "" {
		s += " (event " + e.EventID + ")"
	}
	if e.Where != "" {
		s += " in " + e.Where
	}
	return s + ": " + e.Kind + ": " + e.Detail
}

// Unwrap makes errors.Is(err, ErrBrokenChain) true.
func (e *BrokenLinkError) Unwrap() error { return ErrBrokenChain }

// Verifier checks records one at a time, in the order they are stored,
// starting after a known head.
type Verifier struct {
	head Head
	seen map[string]int64
	n    int64
}

// NewVerifier starts after start (EmptyHead() for a whole chain). It
// remembers event ids to catch duplicates; a chain of millions of records
// needs tens of megabytes for that.
func NewVerifier(start Head) *Verifier {
	return &Verifier{head: start, seen: map[string]int64{}}
}

// Add checks the next record. The first broken link is returned as a
// *BrokenLinkError; later calls keep checking against the record as stored.
func (v *Verifier) Add(r Record) error {
	defer func() {
		v.head = Head{Seq: r.Seq, Hash: r.Hash}
		v.n++
	}()
	want := v.head.Seq + 1
	if got := ChainHash(r.Seq, r.PrevHash, r.EventJSON); got != r.Hash {
		return &BrokenLinkError{Seq: r.Seq, EventID: r.Event.ID, Kind: BrokenHash,
			Detail: "its content or position does not match its hash (the record was changed, or moved from another position)"}
	}
	switch {
	case r.Seq < want:
		return &BrokenLinkError{Seq: r.Seq, EventID: r.Event.ID, Kind: BrokenOrder, Detail: fmt.Sprintf("seq %d follows seq %d", r.Seq, v.head.Seq)}
	case r.Seq > want:
		missing := fmt.Sprintf("seq %d is", want)
		if r.Seq-1 > want {
			missing = fmt.Sprintf("seq %d to %d are", want, r.Seq-1)
		}
		return &BrokenLinkError{Seq: want, EventID: r.Event.ID, Kind: BrokenGap,
			Detail: fmt.Sprintf("%s missing before seq %d (records were removed or reordered)", missing, r.Seq)}
	}
	if r.PrevHash != v.head.Hash {
		return &BrokenLinkError{Seq: r.Seq, EventID: r.Event.ID, Kind: BrokenPrev,
			Detail: fmt.Sprintf("prev_hash is not the hash of seq %d", v.head.Seq)}
	}
	if prev, dup := v.seen[r.Event.ID]; dup {
		return &BrokenLinkError{Seq: r.Seq, EventID: r.Event.ID, Kind: BrokenDuplicate, Detail: fmt.Sprintf("the same event is also seq %d", prev)}
	}
	v.seen[r.Event.ID] = r.Seq
	return nil
}

// Head is the head after the records added so far.
func (v *Verifier) Head() Head { return v.head }

// Count is the number of records added.
func (v *Verifier) Count() int64 { return v.n }

// Summary is a verified chain.
type Summary struct {
	Records int64
	Head    Head
}

// VerifyStore reads a whole store in sequence order and verifies it. It
// returns the first broken link, or the verified head.
func VerifyStore(ctx context.Context, s Reader) (Summary, error) {
	v := NewVerifier(EmptyHead())
	err := ReadEach(ctx, s, 1, func(r Record) error { return v.Add(r) })
	var bad *StoredRecordError
	if errors.As(err, &bad) {
		err = &BrokenLinkError{Seq: bad.Seq, Kind: BrokenHash, Detail: "its event is no longer a valid event: " + bad.Err.Error()}
	}
	if err != nil {
		return Summary{Records: v.Count(), Head: v.Head()}, err
	}
	head, err := s.Head(ctx)
	if err != nil {
		return Summary{}, err
	}
	// A record removed from the end leaves no gap; the store's own head
	// (its highest sequence) must still agree with the last record read.
	if head != v.Head() {
		return Summary{Records: v.Count(), Head: v.Head()}, &BrokenLinkError{Seq: head.Seq, Kind: BrokenHead,
			Detail: fmt.Sprintf("the store's head is seq %d but the chain read ends at seq %d", head.Seq, v.Head().Seq)}
	}
	return Summary{Records: v.Count(), Head: v.Head()}, nil
}
