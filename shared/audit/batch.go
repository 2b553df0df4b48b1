package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// Batch wire format: one audit queue message carries
//
//	{"v":1,"events":[<event>, ...]}
//
// with each event in its canonical encoding.
const (
	// BatchContentType is the message content type.
	BatchContentType = "application/vnd.behalf.audit-batch+json"
	// BatchSubject is the message subject.
	BatchSubject = "audit-batch"
	batchVersion = 1
)

// ErrInvalidBatch marks a message body that is not an audit batch at all
// (as opposed to a batch holding some invalid events).
var ErrInvalidBatch = errors.New("audit: invalid batch")

type batchWire struct {
	V      int               `json:"v"`
	Events []json.RawMessage `json:"events"`
}

// EncodeBatch encodes events (already canonical) as one message body.
func EncodeBatch(canonical [][]byte) ([]byte, error) {
	if len(canonical) == 0 || len(canonical) > MaxBatch {
		return nil, fmt.Errorf("%w: a batch holds 1 to %d events", ErrInvalidBatch, MaxBatch)
	}
	w := batchWire{V: batchVersion, Events: make([]json.RawMessage, len(canonical))}
	for i, c := range canonical {
		w.Events[i] = c
	}
	return json.Marshal(w)
}

// BatchMessageID derives the queue message id from the batch's event ids:
// a retried send of the same batch carries the same id, so the queue's
// duplicate detection drops it (and the store's id check would anyway).
func BatchMessageID(ids []string) string {
	h := sha256.New()
	for _, id := range ids {
		h.Write([]byte(id))
		h.Write([]byte{'\n'})
	}
	return "audit-" + hex.EncodeToString(h.Sum(nil))[:40]
}

// DecodedBatch is a message body split into events. Invalid holds the
// events that failed validation, by position, so that the writer can
// record them as rejected instead of blocking the good ones.
type DecodedBatch struct {
	Events  []Event
	Invalid []InvalidEvent
}

// InvalidEvent is an event that could not be accepted.
type InvalidEvent struct {
	Index int
	// ID is the event's id when it could be read and is a valid UUID.
	ID string
	// Reason names the field and rule; never the offending value.
	Reason string
}

// DecodeBatch parses a message body. A body that is not a batch fails
// with ErrInvalidBatch; events inside it are validated one by one.
func DecodeBatch(body []byte) (*DecodedBatch, error) {
	var w batchWire
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalidBatch, describeJSON(err))
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data", ErrInvalidBatch)
	}
	if w.V != batchVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrInvalidBatch, w.V, batchVersion)
	}
	if len(w.Events) == 0 || len(w.Events) > MaxBatch {
		return nil, fmt.Errorf("%w: a batch holds 1 to %d events, got %d", ErrInvalidBatch, MaxBatch, len(w.Events))
	}
	out := &DecodedBatch{}
	for i, raw := range w.Events {
		ev, err := ParseEvent(raw)
		if err != nil {
			out.Invalid = append(out.Invalid, InvalidEvent{Index: i, ID: peekID(raw), Reason: err.Error()})
			continue
		}
		out.Events = append(out.Events, ev)
	}
	return out, nil
}

// peekID reads the id of an event that failed validation, if it is a
// well-formed UUID (anything else is not repeated back).
func peekID(raw []byte) string {
	var p struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return ""
	}
	if u, err := uuid.Parse(p.ID); err != nil || u.String() != p.ID {
		return ""
	}
	return p.ID
}
