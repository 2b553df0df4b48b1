package sqlguard

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestPolicy maps class and risk to the approval policy, with the default
// configuration and with overrides by class and by risk.
func TestPolicy(t *testing.T) {
	const (
		read       = "SELECT * FROM t"
		session    = "SET a = 1"                 // session, low
		insert     = "INSERT INTO t VALUES (1)"  // write, medium
		deleteAll  = "DELETE FROM t"             // write, high
		createView = "CREATE VIEW v AS SELECT 1" // ddl, medium
		tempView   = "CREATE TEMP VIEW v AS SELECT 1"
		dropTable  = "DROP TABLE t"  // ddl, high
		dropSchema = "DROP SCHEMA s" // ddl, critical
		grant      = "GRANT SELECT ON TABLE t TO `u`"
		unknown    = "CALL p()"
		broken     = "SELECT 1; SELECT 2" // error: unknown, high
	)
	type check struct {
		sql    string
		policy Policy
	}
	tests := []struct {
		name     string
		policies map[string]Policy
		checks   []check
	}{
		{"default: four-eyes for high and critical, self otherwise", nil, []check{
			{read, PolicyNone}, {session, PolicySelf}, {insert, PolicySelf}, {createView, PolicySelf},
			{tempView, PolicySelf}, {deleteAll, PolicyFourEyes}, {dropTable, PolicyFourEyes},
			{dropSchema, PolicyFourEyes}, {grant, PolicyFourEyes}, {unknown, PolicyFourEyes}, {broken, PolicyFourEyes},
		}},
		{"class ddl four-eyes", map[string]Policy{"ddl": PolicyFourEyes}, []check{
			{createView, PolicyFourEyes}, {tempView, PolicyFourEyes}, {insert, PolicySelf}, {read, PolicyNone},
		}},
		{"class write four-eyes", map[string]Policy{"write": PolicyFourEyes}, []check{
			{insert, PolicyFourEyes}, {createView, PolicySelf}, {session, PolicySelf},
		}},
		{"class session four-eyes", map[string]Policy{"session": PolicyFourEyes}, []check{
			{session, PolicyFourEyes}, {insert, PolicySelf},
		}},
		{"risk medium four-eyes", map[string]Policy{"medium": PolicyFourEyes}, []check{
			{insert, PolicyFourEyes}, {createView, PolicyFourEyes}, {session, PolicySelf}, {tempView, PolicySelf},
		}},
		{"risk low four-eyes: everything that is not read-only", map[string]Policy{"low": PolicyFourEyes, "medium": PolicyFourEyes}, []check{
			{session, PolicyFourEyes}, {tempView, PolicyFourEyes}, {insert, PolicyFourEyes}, {read, PolicyNone},
		}},
		{"risk high relaxed to self", map[string]Policy{"high": PolicySelf}, []check{
			{deleteAll, PolicySelf}, {dropTable, PolicySelf}, {dropSchema, PolicyFourEyes}, {broken, PolicySelf},
		}},
		{"a class policy only makes stricter", map[string]Policy{"ddl": PolicySelf}, []check{
			{dropTable, PolicyFourEyes}, {createView, PolicySelf},
		}},
		{"class and risk together", map[string]Policy{"high": PolicySelf, "dcl": PolicyFourEyes}, []check{
			{grant, PolicyFourEyes}, {deleteAll, PolicySelf},
		}},
		{"unknown four-eyes even when high is relaxed", map[string]Policy{"high": PolicySelf, "unknown": PolicyFourEyes}, []check{
			{unknown, PolicyFourEyes}, {broken, PolicyFourEyes}, {dropTable, PolicySelf},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(Config{Policies: tt.policies})
			if err != nil {
				t.Fatal(err)
			}
			for _, ch := range tt.checks {
				res, err := c.Classify(ch.sql)
				checkInvariants(t, ch.sql, res, err)
				if res.Policy != ch.policy {
					t.Errorf("%q: policy %s, want %s (class %s, risk %s)", ch.sql, res.Policy, ch.policy, res.Class, res.Risk)
				}
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"negative length", Config{MaxLength: -1}, "MaxLength"},
		{"policy none", Config{Policies: map[string]Policy{"ddl": PolicyNone}}, `policy for "ddl"`},
		{"policy out of range", Config{Policies: map[string]Policy{"ddl": Policy(9)}}, `policy for "ddl"`},
		{"read cannot need approval", Config{Policies: map[string]Policy{"read": PolicyFourEyes}}, `"read"`},
		{"unknown key", Config{Policies: map[string]Policy{"DDL": PolicyFourEyes}}, `"DDL"`},
		{"empty unsafe function", Config{UnsafeFunctions: []string{"ok", " "}}, "UnsafeFunctions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg)
			if err == nil || c != nil {
				t.Fatalf("New(%+v) = %v, %v; want an error", tt.cfg, c, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestConfigUnsafeFunctionsAndLength(t *testing.T) {
	c, err := New(Config{UnsafeFunctions: []string{"Main.Tools.Exfil", "notify"}, MaxLength: 40})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		sql  string
		ro   bool
		risk Risk
		err  error
	}{
		{"SELECT main.tools.exfil(a) FROM t", false, RiskHigh, nil},
		{"SELECT `EXFIL`(a) FROM t", false, RiskHigh, nil},
		{"SELECT other.schema.notify(1)", false, RiskHigh, nil},
		{"SELECT exfiltrate(a) FROM t", true, RiskLow, nil},
		{"SELECT 1 AS exfil FROM t", true, RiskLow, nil},
		{"SELECT '" + strings.Repeat("x", 30) + "' AS a", false, RiskHigh, ErrTooLong},
	}
	for _, tt := range tests {
		res, err := c.Classify(tt.sql)
		checkInvariants(t, tt.sql, res, err)
		if res.ReadOnly != tt.ro || res.Risk != tt.risk || !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
			t.Errorf("%q: got %+v err=%v; want read_only=%v risk=%s err=%v", tt.sql, res, err, tt.ro, tt.risk, tt.err)
		}
	}
}

func TestErrors(t *testing.T) {
	c, _ := New(Config{})
	_, err := c.Classify("SELECT 1 FROM t WHERE a = 'open")
	var se *SyntaxError
	if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) || se.Offset != 26 || !strings.Contains(se.Msg, "unterminated string") {
		t.Fatalf("unterminated string: %v (%#v)", err, se)
	}
	_, err = c.Classify("SELECT 'ok' \xff")
	if !errors.As(err, &se) || se.Offset != 12 || se.Msg != "invalid UTF-8" {
		t.Fatalf("invalid UTF-8: %v (%#v)", err, se)
	}
	res, err := c.Classify("SELECT 1; SELECT 2; SELECT 3")
	if !errors.Is(err, ErrMultipleStatements) || res.Statements != 3 || !strings.Contains(err.Error(), "3 statements") {
		t.Fatalf("three statements: %+v %v", res, err)
	}
}

// TestResultJSON pins the JSON shape that the CLI and the approval record
// carry: lower-case names, tables always an array.
func TestResultJSON(t *testing.T) {
	c, _ := New(Config{})
	res, _ := c.Classify("DELETE FROM sales WHERE region = 'test'")
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"read_only":false,"class":"write","statements":1,"tables":["sales"],"risk":"medium","policy":"self","reasons":["DELETE with WHERE deletes the rows it matches"]}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil || back.Class != ClassWrite || back.Risk != RiskMedium || back.Policy != PolicySelf {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"class":"weird"}`), &back); err == nil {
		t.Fatal("an unknown class name was accepted")
	}
	if _, err := json.Marshal(Result{Class: Class(42)}); err == nil {
		t.Fatal("an invalid class was encoded")
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		sql  string
		want []string
	}{
		{"", []string{}},
		{" ; -- c\n ; /* d */", []string{}},
		{"SELECT 1", []string{"SELECT 1"}},
		{"SELECT 1; SELECT 2;", []string{"SELECT 1", "SELECT 2"}},
		{"SELECT ';' AS `;`; SELECT 2 -- ;", []string{"SELECT ';' AS `;`", "SELECT 2"}},
		{"SELECT 1 /* a; b */ + 1; DROP TABLE t", []string{"SELECT 1 /* a; b */ + 1", "DROP TABLE t"}},
		{"BEGIN SELECT 1; SELECT 2; END; SELECT 3", []string{"BEGIN SELECT 1; SELECT 2; END", "SELECT 3"}},
		{"BEGIN IF x THEN SELECT 1; END IF; CASE WHEN y THEN SELECT 2; END CASE; END; SELECT 3",
			[]string{"BEGIN IF x THEN SELECT 1; END IF; CASE WHEN y THEN SELECT 2; END CASE; END", "SELECT 3"}},
		{"l: BEGIN SELECT 1; END l; SELECT 2", []string{"l: BEGIN SELECT 1; END l", "SELECT 2"}},
		// Found by FuzzClassify: U+2029 is not a blank to Spark, so it is
		// a statement (of one unrecognised character), never trimmed away.
		{"\u2029", []string{"\u2029"}},
		{" SELECT 1\u00a0;\u3000", []string{"SELECT 1"}},
	}
	for _, tt := range tests {
		got, err := Split(tt.sql)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("Split(%q) = %q, %v; want %q", tt.sql, got, err, tt.want)
		}
	}
	if _, err := Split("SELECT 'open; DROP TABLE t"); !errors.Is(err, ErrSyntax) {
		t.Errorf("Split of an unterminated string: %v", err)
	}
}
