package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

var at = time.Date(2025, 3, 1, 10, 20, 30, 123456000, time.UTC)

// examples are the documented event shapes (README.md shows them).
func examples() map[string]Event {
	wendy := Actor{OID: "b0000000-0000-4000-8000-000000000001", UPN: "wendy.west@contoso.example", TenantID: "7d3e2a10-5b1c-4c8e-9f00-0000000d3e10",
		Issuer: "https://login.microsoftonline.com/7d3e2a10-5b1c-4c8e-9f00-0000000d3e10/v2.0", ClientAppID: "e0000000-0000-4000-8000-0000000000a1"}
	april := Actor{OID: "b0000000-0000-4000-8000-000000000007", UPN: "april.approver@contoso.example", TenantID: wendy.TenantID, Issuer: wendy.Issuer}
	stmt := "DELETE FROM main.sales.deals WHERE stage = 'Closed Lost' AND close_date < '2024-01-01'"
	op := Target{WarehouseID: "dev-warehouse", Catalog: "main", Schema: "sales", Tables: []string{"main.sales.deals"}, OpID: "0195a0c4-1d2e-7c3b-9a10-3f4e5d6c7b8a"}
	return map[string]Event{
		"genie_ask": {ID: "0195a0c4-0000-7000-8000-000000000001", Time: at, RequestID: "4bf92f3577b34da6a3ce929d0e0e4736", Function: "genie-query", Action: "genie.ask",
			Actor: wendy, OnBehalfOf: ModeEntraOBO, Target: Target{SpaceID: "01f0aaaa0000000000000000000000aa", ConversationID: "01f0bbbb0000000000000000000000bb", MessageID: "01f0cccc0000000000000000000000cc", WarehouseID: "dev-warehouse"},
			Status: StatusSuccess, Rows: Int64(4), LatencyMS: 2350, ClientAddress: "203.0.113.7"},
		"sql_propose_pending": {ID: "0195a0c4-0000-7000-8000-000000000002", Time: at, RequestID: "req-2", Function: "sql-propose", Action: "sql.propose",
			Actor: wendy, OnBehalfOf: ModeEntraOBO, Target: op, StatementSHA256: StatementSHA256(stmt), Class: "write", Risk: "medium", Policy: "four-eyes",
			Status: StatusPending, LatencyMS: 41, ClientAddress: "203.0.113.7"},
		"sql_approve": {ID: "0195a0c4-0000-7000-8000-000000000003", Time: at, RequestID: "req-3", Function: "sql-approve", Action: "sql.approve",
			Actor: april, Target: op, StatementSHA256: StatementSHA256(stmt), Policy: "four-eyes", Status: StatusApproved, LatencyMS: 12, ClientAddress: "2001:db8::7"},
		"sql_executing_with_text": {ID: "0195a0c4-0000-7000-8000-000000000004", Time: at, RequestID: "req-4", Function: "sql-propose", Action: "sql.execute",
			Actor: wendy, OnBehalfOf: ModeEntraOBO, Target: op, StatementSHA256: StatementSHA256(stmt), Statement: stmt, Class: "write", Risk: "medium",
			Status: StatusExecuting},
		"genie_denied_partner": {ID: "0195a0c4-0000-7000-8000-000000000005", Time: at, RequestID: "req-5", Function: "genie-query", Action: "genie.ask",
			Actor:      Actor{OID: "c0000000-0000-4000-8000-000000000001", UPN: "paula@partner.example", Issuer: "https://127.0.0.1:8443/partner", ClientAppID: "e0000000-0000-4000-8000-0000000000a1", Role: "d0000000-0000-4000-8000-0000000000d1"},
			OnBehalfOf: ModeFederation, Target: Target{SpaceID: "01f0aaaa0000000000000000000000aa"}, Status: StatusAccessDenied, ErrorCode: "SPACE_NOT_ALLOWED", LatencyMS: 3},
		"audit_export_m2m": {ID: "0195a0c4-0000-7000-8000-000000000006", Time: at, Function: "audit-export", Action: "audit.export",
			Actor: Actor{ClientAppID: "d0000000-0000-4000-8000-0000000000d2"}, OnBehalfOf: ModeM2M, Status: StatusSuccess, Rows: Int64(1200), LatencyMS: 900},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	if *update {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Fatalf("%s changed; the canonical encoding is a compatibility promise.\n got %s\nwant %s", name, pretty.Bytes(), want)
	}
}

// TestEventGolden pins the canonical encoding of each documented shape and
// shows that it decodes back to the same event.
func TestEventGolden(t *testing.T) {
	for name, ev := range examples() {
		t.Run(name, func(t *testing.T) {
			b, err := Canonical(ev)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "event_"+name+".golden.json", b)
			back, err := ParseEvent(b)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := Canonical(back)
			if !bytes.Equal(again, b) {
				t.Fatalf("re-encoding differs:\n%s\n%s", b, again)
			}
			if fs, _ := ScanJSON(b); len(fs) != 0 {
				t.Fatalf("findings %v", fs)
			}
		})
	}
}

// TestRecordAndBatchGolden pins the wire forms built on events: an export
// line and an audit queue message.
func TestRecordAndBatchGolden(t *testing.T) {
	ex := examples()
	r1, err := Link(EmptyHead(), ex["sql_propose_pending"])
	if err != nil {
		t.Fatal(err)
	}
	r2, err := Link(r1.HeadAfter(), ex["sql_approve"])
	if err != nil {
		t.Fatal(err)
	}
	line, err := r2.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "record.golden.json", line)
	var back Record
	if err := json.Unmarshal(line, &back); err != nil || back.Hash != r2.Hash || !bytes.Equal(back.EventJSON, r2.EventJSON) {
		t.Fatalf("record round trip: %v", err)
	}
	body, err := EncodeBatch([][]byte{r1.EventJSON, r2.EventJSON})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "batch.golden.json", body)
	id := BatchMessageID([]string{r1.Event.ID, r2.Event.ID})
	if !strings.HasPrefix(id, "audit-") || len(id) != 46 || id != BatchMessageID([]string{r1.Event.ID, r2.Event.ID}) ||
		id == BatchMessageID([]string{r2.Event.ID, r1.Event.ID}) || id == BatchMessageID([]string{r1.Event.ID}) {
		t.Fatalf("message id %q is not derived from the batch's ids", id)
	}
}

func TestValidateRefusesBadFields(t *testing.T) {
	ok := examples()["sql_executing_with_text"]
	if err := Validate(Normalize(ok)); err != nil {
		t.Fatalf("valid event refused: %v", err)
	}
	long := strings.Repeat("x", MaxTextLen+1)
	cases := map[string]struct {
		field string
		mod   func(*Event)
	}{
		"upper-case id":        {"id", func(e *Event) { e.ID = strings.ToUpper(e.ID) }},
		"not a uuid":           {"id", func(e *Event) { e.ID = "42" }},
		"zero time":            {"time", func(e *Event) { e.Time = time.Time{} }},
		"far future":           {"time", func(e *Event) { e.Time = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) }},
		"no function":          {"function", func(e *Event) { e.Function = "" }},
		"function with spaces": {"function", func(e *Event) { e.Function = "sql propose" }},
		"no action":            {"action", func(e *Event) { e.Action = "" }},
		"unknown status":       {"status", func(e *Event) { e.Status = "done" }},
		"unknown mode":         {"on_behalf_of", func(e *Event) { e.OnBehalfOf = "impersonation" }},
		"jwt in upn":           {"actor.upn", func(e *Event) { e.Actor.UPN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl" }},
		"bearer in table":      {"target.tables[0]", func(e *Event) { e.Target.Tables = []string{"Bearer abcdefghijklmnop"} }},
		"dapi token in op":     {"target.op_id", func(e *Event) { e.Target.OpID = "dapi0123456789abcdef0123456789abcdef" }},
		"control characters":   {"actor.upn", func(e *Event) { e.Actor.UPN = "a\nb" }},
		"too long":             {"actor.issuer", func(e *Event) { e.Actor.Issuer = long }},
		"too many tables":      {"target.tables", func(e *Event) { e.Target.Tables = make([]string, MaxTables+1) }},
		"lower-case code":      {"error_code", func(e *Event) { e.ErrorCode = "denied" }},
		"bad sha":              {"statement_sha256", func(e *Event) { e.StatementSHA256 = "abc" }},
		"text without sha":     {"statement_sha256", func(e *Event) { e.StatementSHA256 = "" }},
		"huge statement":       {"statement", func(e *Event) { e.Statement = strings.Repeat("x", MaxStatementLen+1) }},
		"negative rows":        {"rows", func(e *Event) { e.Rows = Int64(-1) }},
		"negative latency":     {"latency_ms", func(e *Event) { e.LatencyMS = -1 }},
		"host:port address":    {"client_address", func(e *Event) { e.ClientAddress = "203.0.113.7:443" }},
		"bad request id":       {"request_id", func(e *Event) { e.RequestID = "a b" }},
		"future version":       {"v", func(e *Event) { e.V = 2 }},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			ev := ok
			c.mod(&ev)
			err := Validate(Normalize(ev))
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalidEvent) || fe.Field != c.field {
				t.Fatalf("want a FieldError on %s, got %v", c.field, err)
			}
			if strings.Contains(err.Error(), "eyJ") || strings.Contains(err.Error(), "dapi0") {
				t.Fatalf("the error echoes the value: %v", err)
			}
		})
	}
}

func TestNormalizeRedactsStatementText(t *testing.T) {
	ev := examples()["sql_executing_with_text"]
	ev.Statement = "UPDATE creds SET v = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl' WHERE k = 'dapi0123456789abcdef0123456789abcdef'"
	ev.StatementSHA256 = StatementSHA256(ev.Statement)
	b, err := Canonical(ev)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "eyJhbGci") || strings.Contains(string(b), "dapi0123") || !strings.Contains(string(b), "[REDACTED") {
		t.Fatalf("statement not redacted: %s", b)
	}
	// The hash is of the original text: it still identifies the statement.
	if !strings.Contains(string(b), ev.StatementSHA256) {
		t.Fatal("statement hash changed")
	}
}

func TestLocalTimesBecomeUTC(t *testing.T) {
	ev := examples()["genie_ask"]
	ev.Time = at.In(time.FixedZone("CET", 3600))
	b, err := Canonical(ev)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Canonical(examples()["genie_ask"])
	if !bytes.Equal(b, want) {
		t.Fatalf("zone leaked into the encoding:\n%s\n%s", b, want)
	}
}

func TestClientAddress(t *testing.T) {
	for in, want := range map[string]string{"203.0.113.7:51234": "203.0.113.7", "[2001:db8::7]:443": "2001:db8::7", "[::ffff:10.0.0.1]:80": "10.0.0.1", "garbage": "", "": ""} {
		if got := ClientAddress(in); got != want {
			t.Errorf("ClientAddress(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParseEvent: whatever bytes arrive, ParseEvent either refuses them or
// returns an event whose canonical form parses back to the same bytes.
func FuzzParseEvent(f *testing.F) {
	for _, ev := range examples() {
		b, _ := Canonical(ev)
		f.Add(b)
	}
	f.Add([]byte(`{"v":1,"id":"0195a0c4-0000-7000-8000-000000000001","time":"2025-03-01T10:20:30Z","function":"a","action":"b","actor":{},"status":"success","latency_ms":0}`))
	f.Add([]byte(`{"v":1,"id":"x"`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := ParseEvent(b)
		if err != nil {
			return
		}
		c1, err := Canonical(ev)
		if err != nil {
			t.Fatalf("a parsed event does not encode: %v", err)
		}
		ev2, err := ParseEvent(c1)
		if err != nil {
			t.Fatalf("canonical bytes do not parse: %v\n%s", err, c1)
		}
		c2, _ := Canonical(ev2)
		if !bytes.Equal(c1, c2) {
			t.Fatalf("canonical form is not stable:\n%s\n%s", c1, c2)
		}
		if fs, _ := ScanJSON(c1); len(fs) != 0 {
			t.Fatalf("a valid event holds credential-shaped text at %v", fs)
		}
	})
}
