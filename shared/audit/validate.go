package audit

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// ErrInvalidEvent marks an event that Validate refused; the *FieldError
// it wraps names the field and the rule, never the offending value.
var ErrInvalidEvent = errors.New("audit: invalid event")

// FieldError is one refused field.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("audit: invalid event: %s: %s", e.Field, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalidEvent) true.
func (e *FieldError) Unwrap() error { return ErrInvalidEvent }

// Bounds on event fields. Events are small: a batch of them must fit one
// queue message.
const (
	MaxTextLen      = 256
	MaxStatementLen = 16 << 10
	MaxTables       = 64
	maxLatency      = 24 * time.Hour
)

var (
	reRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)
	reName      = regexp.MustCompile(`^[a-z][a-z0-9-]{0,63}$`)
	reAction    = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)
	reWord      = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)
	reCode      = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,63}$`)
	reSHA256    = regexp.MustCompile(`^[0-9a-f]{64}$`)
	// Times outside this window are a bug, not an event.
	minTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Normalize puts ev in the one form that is hashed: UTC time, the schema
// version set, credential-shaped text in the statement redacted. It does
// not validate; call Validate after it.
func Normalize(ev Event) Event {
	if ev.V == 0 {
		ev.V = SchemaVersion
	}
	ev.Time = ev.Time.UTC()
	if ev.Statement != "" {
		ev.Statement = RedactSecrets(ev.Statement)
	}
	if len(ev.Target.Tables) == 0 {
		ev.Target.Tables = nil
	}
	return ev
}

// Validate checks every field against its rule. An event that passes can
// be encoded, hashed and stored; one that fails must not be.
func Validate(ev Event) error {
	if ev.V != SchemaVersion {
		return &FieldError{"v", fmt.Sprintf("must be %d", SchemaVersion)}
	}
	u, err := uuid.Parse(ev.ID)
	if err != nil || u.String() != ev.ID {
		return &FieldError{"id", "must be a lower-case UUID"}
	}
	if ev.Time.Before(minTime) || !ev.Time.Before(maxTime) {
		return &FieldError{"time", "must be between 2000 and 2200"}
	}
	if ev.Time.Location() != time.UTC {
		return &FieldError{"time", "must be UTC (call Normalize)"}
	}
	checks := []struct {
		field, value string
		re           *regexp.Regexp
		required     bool
	}{
		{"request_id", ev.RequestID, reRequestID, false},
		{"function", ev.Function, reName, true},
		{"action", ev.Action, reAction, true},
		{"class", ev.Class, reWord, false},
		{"risk", ev.Risk, reWord, false},
		{"policy", ev.Policy, reWord, false},
		{"error_code", ev.ErrorCode, reCode, false},
		{"statement_sha256", ev.StatementSHA256, reSHA256, false},
	}
	for _, c := range checks {
		if c.value == "" {
			if c.required {
				return &FieldError{c.field, "is required"}
			}
			continue
		}
		if !c.re.MatchString(c.value) {
			return &FieldError{c.field, "must match " + c.re.String()}
		}
	}
	if !ev.Status.Valid() {
		return &FieldError{"status", "must be one of the documented statuses"}
	}
	if !ev.OnBehalfOf.Valid() {
		return &FieldError{"on_behalf_of", "must be entra-obo, federation, forwarded or m2m"}
	}
	texts := []struct{ field, value string }{
		{"actor.oid", ev.Actor.OID}, {"actor.upn", ev.Actor.UPN}, {"actor.tid", ev.Actor.TenantID},
		{"actor.issuer", ev.Actor.Issuer}, {"actor.client_app_id", ev.Actor.ClientAppID}, {"actor.role", ev.Actor.Role},
		{"target.space_id", ev.Target.SpaceID}, {"target.conversation_id", ev.Target.ConversationID},
		{"target.message_id", ev.Target.MessageID}, {"target.warehouse_id", ev.Target.WarehouseID},
		{"target.statement_id", ev.Target.StatementID}, {"target.catalog", ev.Target.Catalog},
		{"target.schema", ev.Target.Schema}, {"target.op_id", ev.Target.OpID}, {"target.event_id", ev.Target.EventID},
	}
	for _, t := range texts {
		if err := checkText(t.field, t.value, MaxTextLen); err != nil {
			return err
		}
	}
	if len(ev.Target.Tables) > MaxTables {
		return &FieldError{"target.tables", fmt.Sprintf("at most %d tables", MaxTables)}
	}
	for i, tb := range ev.Target.Tables {
		if tb == "" {
			return &FieldError{fmt.Sprintf("target.tables[%d]", i), "is empty"}
		}
		if err := checkText(fmt.Sprintf("target.tables[%d]", i), tb, MaxTextLen); err != nil {
			return err
		}
	}
	if len(ev.Statement) > MaxStatementLen {
		return &FieldError{"statement", fmt.Sprintf("longer than %d bytes", MaxStatementLen)}
	}
	if !utf8.ValidString(ev.Statement) {
		return &FieldError{"statement", "is not valid UTF-8"}
	}
	if ContainsSecret(ev.Statement) {
		return &FieldError{"statement", "holds credential-shaped text (call Normalize)"}
	}
	if ev.Statement != "" && ev.StatementSHA256 == "" {
		return &FieldError{"statement_sha256", "is required with statement"}
	}
	if ev.Rows != nil && *ev.Rows < 0 {
		return &FieldError{"rows", "must not be negative"}
	}
	if ev.LatencyMS < 0 || ev.LatencyMS > maxLatency.Milliseconds() {
		return &FieldError{"latency_ms", "must be between 0 and 24 hours"}
	}
	if ev.ClientAddress != "" {
		if a, err := netip.ParseAddr(ev.ClientAddress); err != nil || a.String() != ev.ClientAddress {
			return &FieldError{"client_address", "must be an IP address in canonical form"}
		}
	}
	return nil
}

// checkText bounds a free-text identifier: valid UTF-8, no control
// characters, no credential shape.
func checkText(field, s string, max int) error {
	if s == "" {
		return nil
	}
	if len(s) > max {
		return &FieldError{field, fmt.Sprintf("longer than %d bytes", max)}
	}
	if !utf8.ValidString(s) {
		return &FieldError{field, "is not valid UTF-8"}
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return &FieldError{field, "holds control characters"}
	}
	if ContainsSecret(s) {
		return &FieldError{field, "holds credential-shaped text"}
	}
	return nil
}

// ClientAddress returns the canonical IP of a host:port or bare address
// (as found in http.Request.RemoteAddr), or "" when there is none.
func ClientAddress(remote string) string {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap().String()
	}
	if a, err := netip.ParseAddr(strings.Trim(remote, "[]")); err == nil {
		return a.Unmap().String()
	}
	return ""
}
