package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// GenesisHash is the previous hash of the first record of a chain.
var GenesisHash = strings.Repeat("0", 64)

// hashDomain separates audit chain hashes from any other SHA-256 use.
const hashDomain = "behalf-audit-chain/v1"

// Record is a stored event: its place in the chain and the exact bytes
// that were hashed.
type Record struct {
	Seq      int64
	PrevHash string
	Hash     string
	// EventJSON is the canonical encoding of Event, exactly as hashed and
	// stored. Verification hashes these bytes, so records written by an
	// older or newer schema verify unchanged.
	EventJSON json.RawMessage
	Event     Event
}

// Head is the end of a chain: the last record's sequence number and hash
// (0 and GenesisHash for an empty chain).
type Head struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// HeadAfter is the chain head once r is the last record.
func (r Record) HeadAfter() Head { return Head{Seq: r.Seq, Hash: r.Hash} }

// EmptyHead is the head of an empty chain.
func EmptyHead() Head { return Head{Seq: 0, Hash: GenesisHash} }

// Canonical returns the canonical encoding of ev: the normalized event as
// compact JSON, fields in schema order. It fails for events Validate
// refuses.
func Canonical(ev Event) ([]byte, error) {
	ev = Normalize(ev)
	if err := Validate(ev); err != nil {
		return nil, err
	}
	return json.Marshal(ev)
}

// ParseEvent decodes canonical event bytes strictly (no unknown fields
// when the version is ours) and validates the result.
func ParseEvent(b []byte) (Event, error) {
	var ev Event
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrInvalidEvent, describeJSON(err))
	}
	if dec.More() {
		return Event{}, fmt.Errorf("%w: trailing data after the event", ErrInvalidEvent)
	}
	if err := Validate(ev); err != nil {
		return Event{}, err
	}
	return ev, nil
}

// ChainHash is SHA-256 over the domain label, the sequence number, the
// previous hash and the canonical event bytes, separated by NUL bytes
// (none of them can contain one).
func ChainHash(seq int64, prevHash string, eventJSON []byte) string {
	h := sha256.New()
	h.Write([]byte(hashDomain))
	h.Write([]byte{0})
	h.Write([]byte(strconv.FormatInt(seq, 10)))
	h.Write([]byte{0})
	h.Write([]byte(prevHash))
	h.Write([]byte{0})
	h.Write(eventJSON)
	return hex.EncodeToString(h.Sum(nil))
}

// Link makes ev the record after head. Stores call it inside the
// transaction that holds the chain's write lock.
func Link(head Head, ev Event) (Record, error) {
	b, err := Canonical(ev)
	if err != nil {
		return Record{}, err
	}
	ev = Normalize(ev)
	seq := head.Seq + 1
	return Record{Seq: seq, PrevHash: head.Hash, Hash: ChainHash(seq, head.Hash, b), EventJSON: b, Event: ev}, nil
}

// recordWire is a record's JSON form (export lines, API answers).
type recordWire struct {
	Seq      int64           `json:"seq"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
	Event    json.RawMessage `json:"event"`
}

// MarshalJSON writes {"seq","prev_hash","hash","event"} with the stored
// event bytes verbatim, so an exported line re-verifies byte for byte.
func (r Record) MarshalJSON() ([]byte, error) {
	if len(r.EventJSON) == 0 {
		return nil, errors.New("audit: record without event bytes")
	}
	var b bytes.Buffer
	b.WriteString(`{"seq":`)
	b.WriteString(strconv.FormatInt(r.Seq, 10))
	b.WriteString(`,"prev_hash":`)
	writeJSONString(&b, r.PrevHash)
	b.WriteString(`,"hash":`)
	writeJSONString(&b, r.Hash)
	b.WriteString(`,"event":`)
	b.Write(r.EventJSON)
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads a record line, keeping the event bytes as they are.
// It checks only the shape; Verifier checks the chain.
func (r *Record) UnmarshalJSON(b []byte) error {
	var w recordWire
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return fmt.Errorf("audit: record: %v", describeJSON(err))
	}
	if len(w.Event) == 0 {
		return errors.New("audit: record has no event")
	}
	ev, err := ParseEvent(w.Event)
	if err != nil {
		return fmt.Errorf("audit: record seq %d: %w", w.Seq, err)
	}
	*r = Record{Seq: w.Seq, PrevHash: w.PrevHash, Hash: w.Hash, EventJSON: append(json.RawMessage(nil), w.Event...), Event: ev}
	return nil
}

// StoredRecordError is a stored record whose event no longer parses: it
// was altered (or written by a newer schema than this build knows).
type StoredRecordError struct {
	Seq int64
	Err error
}

func (e *StoredRecordError) Error() string {
	return fmt.Sprintf("audit: stored record seq %d: %v", e.Seq, e.Err)
}

func (e *StoredRecordError) Unwrap() error { return e.Err }

// RecordFromStored rebuilds a record from a store's columns.
func RecordFromStored(seq int64, prevHash, hash string, eventJSON []byte) (Record, error) {
	ev, err := ParseEvent(eventJSON)
	if err != nil {
		return Record{}, &StoredRecordError{Seq: seq, Err: err}
	}
	return Record{Seq: seq, PrevHash: prevHash, Hash: hash, EventJSON: append(json.RawMessage(nil), eventJSON...), Event: ev}, nil
}

func writeJSONString(b *bytes.Buffer, s string) {
	q, _ := json.Marshal(s)
	b.Write(q)
}

// describeJSON names a decoding problem without echoing the input.
func describeJSON(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("JSON syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q must be %s", typ.Field, typ.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "malformed JSON"
}
