package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

type classifyLine struct {
	ID         json.RawMessage `json:"id"`
	ReadOnly   *bool           `json:"read_only"`
	Class      string          `json:"class"`
	Statements int             `json:"statements"`
	Tables     []string        `json:"tables"`
	Risk       string          `json:"risk"`
	Policy     string          `json:"policy"`
	Error      string          `json:"error"`
}

// classify runs "behalf sql classify args..." on in and decodes each
// output line.
func classify(t *testing.T, in string, args ...string) []classifyLine {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := cmdSQL(context.Background(), append([]string{"classify"}, args...), strings.NewReader(in), &out, &errOut); err != nil {
		t.Fatalf("cmdSQL: %v (stderr %q)", err, errOut.String())
	}
	var lines []classifyLine
	for _, l := range strings.SplitAfter(out.String(), "\n") {
		if l == "" {
			continue
		}
		if !strings.HasSuffix(l, "\n") {
			t.Fatalf("output does not end with a newline: %q", out.String())
		}
		var cl classifyLine
		if err := json.Unmarshal([]byte(l), &cl); err != nil || cl.ReadOnly == nil || cl.Tables == nil {
			t.Fatalf("malformed output line %q: %v", l, err)
		}
		lines = append(lines, cl)
	}
	return lines
}

// TestSQLClassify: one answer per input line, in order, bad lines
// included, and the processing never stops early.
func TestSQLClassify(t *testing.T) {
	in := strings.Join([]string{
		`{"sql": "SELECT region, sum(amount) FROM sales GROUP BY region", "id": 1}`,
		`{"sql": "DELETE FROM sales"}`,
		`not json at all`,
		`{"statement": "SELECT 1"}`,
		`{"sql": 42}`,
		``,
		`{"sql": "SELECT 1; DROP TABLE sales"}`,
		`{"sql": ""}`,
		`{"sql": "SELECT reflect('java.lang.Runtime', 'getRuntime')"}`,
		`{"sql": "UPDATE sales SET amount = 0 WHERE id = 7", "id": "last"}`,
	}, "\n") + "\r\n"
	type want struct {
		ro         bool
		class      string
		risk       string
		policy     string
		statements int
		tables     []string
		errHas     string
	}
	wants := []want{
		{true, "read", "low", "none", 1, []string{"sales"}, ""},
		{false, "write", "high", "four-eyes", 1, []string{"sales"}, ""},
		{false, "unknown", "high", "four-eyes", 0, []string{}, "line 3: invalid JSON"},
		{false, "unknown", "high", "four-eyes", 0, []string{}, `line 4: missing "sql"`},
		{false, "unknown", "high", "four-eyes", 0, []string{}, "line 5: invalid JSON"},
		{false, "unknown", "high", "four-eyes", 0, []string{}, "line 6: blank line"},
		{false, "unknown", "high", "four-eyes", 2, []string{}, "more than one SQL statement"},
		{false, "unknown", "high", "four-eyes", 0, []string{}, "no SQL statement"},
		{false, "unknown", "critical", "four-eyes", 1, []string{}, ""},
		{false, "write", "medium", "self", 1, []string{"sales"}, ""},
	}
	got := classify(t, in)
	if len(got) != len(wants) {
		t.Fatalf("%d output lines for %d input lines", len(got), len(wants))
	}
	for i, w := range wants {
		g := got[i]
		if *g.ReadOnly != w.ro || g.Class != w.class || g.Risk != w.risk || g.Policy != w.policy ||
			g.Statements != w.statements || strings.Join(g.Tables, ",") != strings.Join(w.tables, ",") {
			t.Errorf("line %d: got %+v (read_only %v), want %+v", i+1, g, *g.ReadOnly, w)
		}
		if (w.errHas == "") != (g.Error == "") || !strings.Contains(g.Error, w.errHas) {
			t.Errorf("line %d: error %q, want one containing %q", i+1, g.Error, w.errHas)
		}
	}
	if string(got[0].ID) != "1" || string(got[9].ID) != `"last"` {
		t.Errorf("ids not echoed: %s, %s", got[0].ID, got[9].ID)
	}
}

func TestSQLClassifyEmptyInput(t *testing.T) {
	for _, in := range []string{"", "\n"} {
		got := classify(t, in)
		want := strings.Count(in, "\n")
		if len(got) != want {
			t.Errorf("input %q: %d output lines, want %d", in, len(got), want)
		}
	}
}

// TestSQLClassifyHugeLines: a statement over the limit and a line far over
// it both get an error line, and the lines after them are still answered.
func TestSQLClassifyHugeLines(t *testing.T) {
	const limit = 1000
	longSQL, _ := json.Marshal(map[string]string{"sql": "SELECT '" + strings.Repeat("x", limit) + "'"})
	// Far beyond what any JSON encoding of a 1000-byte statement needs, so
	// it is dropped unread.
	hugeLine := `{"sql": "SELECT '` + strings.Repeat("y", 64*limit) + `'"}`
	in := string(longSQL) + "\n" + hugeLine + "\n" + `{"sql": "SELECT 1"}` + "\n" + hugeLine
	got := classify(t, in, "-max-bytes", "1000")
	if len(got) != 4 {
		t.Fatalf("%d output lines, want 4", len(got))
	}
	for i, w := range []string{"too long", "line 2: line longer than", "", "line 4: line longer than"} {
		if (w == "") != (got[i].Error == "") || !strings.Contains(got[i].Error, w) || (w != "" && *got[i].ReadOnly) {
			t.Errorf("line %d: %+v, want error containing %q", i+1, got[i], w)
		}
	}
	if !*got[2].ReadOnly {
		t.Errorf("the line after a huge line was not classified: %+v", got[2])
	}
}

func TestSQLClassifyFlags(t *testing.T) {
	in := `{"sql": "CREATE VIEW v AS SELECT 1"}` + "\n" + `{"sql": "SELECT main.tools.notify(a) FROM t"}` + "\n"
	got := classify(t, in)
	if got[0].Policy != "self" || !*got[1].ReadOnly {
		t.Fatalf("defaults: %+v", got)
	}
	got = classify(t, in, "-policies", "ddl=four-eyes, high=four-eyes", "-unsafe-functions", "notify")
	if got[0].Policy != "four-eyes" || *got[1].ReadOnly || got[1].Policy != "four-eyes" {
		t.Fatalf("with flags: %+v", got)
	}
}

func TestSQLUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"run"},
		{"classify", "extra"},
		{"classify", "-max-bytes", "0"},
		{"classify", "-max-bytes", "many"},
		{"classify", "-policies", "ddl"},
		{"classify", "-policies", "ddl=none"},
		{"classify", "-policies", "read=four-eyes"},
		{"classify", "-no-such-flag"},
	} {
		var out, errOut bytes.Buffer
		err := cmdSQL(context.Background(), args, strings.NewReader(`{"sql":"SELECT 1"}`), &out, &errOut)
		if !errors.Is(err, errUsage) || out.Len() != 0 {
			t.Errorf("%q: err=%v, output %q; want a usage error and no output", args, err, out.String())
		}
	}
	// -h prints the help and is not an error.
	var out, errOut bytes.Buffer
	if err := cmdSQL(context.Background(), []string{"classify", "-h"}, strings.NewReader(""), &out, &errOut); err != nil ||
		!strings.Contains(errOut.String(), "-max-bytes") {
		t.Errorf("-h: %v, stderr %q", err, errOut.String())
	}
	// Through run: the subcommand is listed and dispatched.
	errOut.Reset()
	noEnv := func(string) (string, bool) { return "", false }
	if code := run(context.Background(), []string{"sql", "frobnicate"}, io.Discard, &errOut, noEnv); code != 2 ||
		!strings.Contains(errOut.String(), "behalf sql classify") {
		t.Errorf("run sql frobnicate: exit %d, stderr %q", code, errOut.String())
	}
}

// TestSQLClassifyCancel: a cancelled context ends the command even while
// stdin blocks (a terminal or an idle pipe).
func TestSQLClassifyCancel(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- cmdSQL(ctx, []string{"classify"}, r, &out, io.Discard) }()
	if _, err := io.WriteString(w, `{"sql": "SELECT 1"}`+"\n"); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cmdSQL after cancel: %v", err)
	}
}
