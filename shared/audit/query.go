package audit

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrInvalidQuery marks a query the caller got wrong (a 400).
var ErrInvalidQuery = errors.New("audit: invalid query")

// Query limits.
const (
	DefaultQueryLimit = 50
	MaxQueryLimit     = 200
	maxPageToken      = 256
)

// Query is the admin query: every filter is optional and they combine with
// AND. Pages go from newest to oldest (descending seq).
type Query struct {
	// Actor matches the actor's object id exactly or the UPN without
	// regard to case.
	Actor string
	// Status matches exactly.
	Status Status
	// From and To bound the event time: From <= time < To.
	From, To time.Time
	// Limit is the page size (default 50, at most 200).
	Limit int
	// PageToken continues a previous page of the same query.
	PageToken string
}

// Page is one page of answers.
type Page struct {
	Records []Record
	// NextPageToken is empty on the last page.
	NextPageToken string
}

// Resolved is a checked query, ready for a store: Before > 0 means "only
// records with seq < Before" (the page token's cursor).
type Resolved struct {
	Query
	Before int64
}

// Resolve validates q, applies defaults and decodes the page token.
func (q Query) Resolve() (Resolved, error) {
	bad := func(format string, args ...any) (Resolved, error) {
		return Resolved{}, fmt.Errorf("%w: %s", ErrInvalidQuery, fmt.Sprintf(format, args...))
	}
	q.Actor = strings.TrimSpace(q.Actor)
	if len(q.Actor) > MaxTextLen || !utf8.ValidString(q.Actor) {
		return bad("actor must be an object id or UPN of at most %d bytes", MaxTextLen)
	}
	if q.Status != "" && !q.Status.Valid() {
		return bad("status must be one of %v", Statuses())
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return bad("from must be before to")
	}
	q.From, q.To = q.From.UTC(), q.To.UTC()
	switch {
	case q.Limit == 0:
		q.Limit = DefaultQueryLimit
	case q.Limit < 0 || q.Limit > MaxQueryLimit:
		return bad("limit must be 1 to %d", MaxQueryLimit)
	}
	r := Resolved{Query: q}
	if q.PageToken != "" {
		before, err := decodePageToken(q.PageToken, q.filterKey())
		if err != nil {
			return bad("%v", err)
		}
		r.Before = before
	}
	return r, nil
}

// filterKey binds a page token to the filters it was issued for, so a
// token cannot be replayed against a different query.
func (q Query) filterKey() string {
	b, _ := json.Marshal([]string{strings.ToLower(q.Actor), string(q.Status), stamp(q.From), stamp(q.To)})
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:8])
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// Page cuts what a store read (up to Limit+1 records, newest first) into
// one page and the token of the next.
func (r Resolved) Page(recs []Record) *Page {
	page := &Page{Records: recs}
	if len(recs) > r.Limit {
		page.Records = recs[:r.Limit]
		page.NextPageToken = r.NextToken(page.Records[r.Limit-1].Seq)
	}
	return page
}

// NextToken is the token for the page after one ending at record seq.
func (r Resolved) NextToken(lastSeq int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(lastSeq))
	return base64.RawURLEncoding.EncodeToString(append(b[:], []byte(r.filterKey())...))
}

func decodePageToken(tok, key string) (int64, error) {
	if len(tok) > maxPageToken {
		return 0, errors.New("page_token is too long")
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 8+len(key) {
		return 0, errors.New("page_token is malformed")
	}
	if string(b[8:]) != key {
		return 0, errors.New("page_token belongs to a query with other filters")
	}
	seq := int64(binary.BigEndian.Uint64(b[:8]))
	if seq < 1 {
		return 0, errors.New("page_token is malformed")
	}
	return seq, nil
}

// Matches reports whether a record's event satisfies the filters (stores
// filter in SQL; this is the reference they are tested against).
func (r Resolved) Matches(rec Record) bool {
	ev := rec.Event
	if r.Before > 0 && rec.Seq >= r.Before {
		return false
	}
	if r.Actor != "" && ev.Actor.OID != r.Actor && !strings.EqualFold(ev.Actor.UPN, r.Actor) {
		return false
	}
	if r.Status != "" && ev.Status != r.Status {
		return false
	}
	if !r.From.IsZero() && ev.Time.Before(r.From) {
		return false
	}
	if !r.To.IsZero() && !ev.Time.Before(r.To) {
		return false
	}
	return true
}
