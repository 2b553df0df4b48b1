package sqlguard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

// Fuzz targets. `make fuzz` runs each for a short, bounded time; without
// -fuzz, `go test` runs them on their seeds (the evasion cases).

// fuzzSeeds are the evasion cases short enough to mutate quickly.
func fuzzSeeds() []string {
	var out []string
	for _, tc := range evasionCases() {
		if len(tc.sql) <= 2048 {
			out = append(out, tc.sql)
		}
	}
	return out
}

func newFuzzClassifier(t testing.TB) *Classifier {
	c, err := New(Config{MaxLength: 8192})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// FuzzClassify: never panics, the result is self-consistent and
// deterministic, and agrees with Split on the number of statements.
func FuzzClassify(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	c := newFuzzClassifier(f)
	f.Fuzz(func(t *testing.T, sql string) {
		res, err := c.Classify(sql)
		checkInvariants(t, sql, res, err)
		again, err2 := c.Classify(sql)
		if !sameVerdict(res, err, again, err2) || !slices.Equal(res.Reasons, again.Reasons) {
			t.Fatalf("%q: not deterministic: %+v %v / %+v %v", sql, res, err, again, err2)
		}
		if errors.Is(err, ErrTooLong) {
			return
		}
		parts, splitErr := Split(sql)
		switch {
		case splitErr != nil:
			if !errors.Is(splitErr, ErrSyntax) || !errors.Is(err, ErrSyntax) {
				t.Fatalf("%q: Split failed with %v, Classify with %v", sql, splitErr, err)
			}
		case len(parts) == 0 && !errors.Is(err, ErrEmpty),
			len(parts) > 1 && !errors.Is(err, ErrMultipleStatements),
			len(parts) == 1 && err != nil:
			t.Fatalf("%q: Split found %d statements, Classify: %+v %v", sql, len(parts), res, err)
		}
		for _, p := range parts {
			if p == "" || !strings.Contains(sql, p) {
				t.Fatalf("%q: Split returned %q, which is not a part of the input", sql, p)
			}
		}
	})
}

// Padding that Spark skips between two tokens. Each starts and ends with a
// blank so that it never joins the tokens around it into a new one (as
// "*" + "/**/" would make "*/").
var fuzzPads = []string{" ", "\n", "\t", "\r\n", " /* c */ ", " /**/ ", " -- c\n", "\u00a0", "\u3000", " /*\n*/\n"}

// pad inserts padding at token boundaries of sql chosen by seed; ok is
// false when sql cannot be lexed (so has no token boundaries to speak of).
func pad(sql string, seed uint64) (string, bool) {
	lx, err := lex(sql, sparkLex)
	if err != nil {
		return "", false
	}
	cuts := make([]int, 0, len(lx.toks)+1)
	cuts = append(cuts, 0)
	for _, t := range lx.toks {
		cuts = append(cuts, t.end)
	}
	var b strings.Builder
	prev := 0
	for _, cut := range cuts {
		b.WriteString(sql[prev:cut])
		prev = cut
		seed = seed*6364136223846793005 + 1442695040888963407 // LCG step
		if r := seed >> 33; r%3 == 0 {
			b.WriteString(fuzzPads[(r/3)%uint64(len(fuzzPads))])
		}
	}
	b.WriteString(sql[prev:])
	return b.String(), true
}

// FuzzStable: padding the text between tokens with whitespace or comments
// never makes a statement read-only, and leaves the verdict and the
// statement count as they were.
func FuzzStable(f *testing.F) {
	for i, s := range fuzzSeeds() {
		f.Add(s, uint64(i)*0x9E3779B97F4A7C15)
	}
	c := newFuzzClassifier(f)
	f.Fuzz(func(t *testing.T, sql string, seed uint64) {
		padded, ok := pad(sql, seed)
		if !ok || padded == sql {
			return
		}
		orig, origErr := c.Classify(sql)
		got, gotErr := c.Classify(padded)
		checkInvariants(t, padded, got, gotErr)
		if got.ReadOnly && !orig.ReadOnly {
			t.Fatalf("padding made a statement read-only:\n  %q -> %+v %v\n  %q -> %+v", sql, orig, origErr, padded, got)
		}
		if errors.Is(gotErr, ErrTooLong) || errors.Is(origErr, ErrTooLong) {
			return
		}
		if !sameVerdict(orig, origErr, got, gotErr) {
			t.Fatalf("padding changed the verdict:\n  %q -> %+v %v\n  %q -> %+v %v", sql, orig, origErr, padded, got, gotErr)
		}
		a, errA := Split(sql)
		b, errB := Split(padded)
		if len(a) != len(b) || (errA == nil) != (errB == nil) {
			t.Fatalf("padding changed the split: %q -> %d %v, %q -> %d %v", sql, len(a), errA, padded, len(b), errB)
		}
	})
}

// sameVerdict compares everything but the wording of the reasons.
func sameVerdict(a Result, errA error, b Result, errB error) bool {
	sentinel := func(err error) error {
		for _, s := range []error{ErrEmpty, ErrTooLong, ErrMultipleStatements, ErrSyntax} {
			if errors.Is(err, s) {
				return s
			}
		}
		return err
	}
	return a.ReadOnly == b.ReadOnly && a.Class == b.Class && a.Risk == b.Risk && a.Policy == b.Policy &&
		a.Statements == b.Statements && slices.Equal(a.Tables, b.Tables) && sentinel(errA) == sentinel(errB)
}

// FuzzJSONLines: any input gives one well-formed output line per input
// line, and a line is read-only only without an error.
func FuzzJSONLines(f *testing.F) {
	f.Add([]byte(`{"sql":"SELECT 1"}` + "\n" + `{"sql":"DROP TABLE t"}` + "\n"))
	f.Add([]byte("\n\n{\"sql\": 5}\r\n[1]\n{\"id\":7}\n{\"sql\":\"SELECT 1;SELECT 2\"}"))
	for i, s := range fuzzSeeds() {
		if i%8 == 0 {
			line, _ := json.Marshal(map[string]string{"sql": s})
			f.Add(append(line, '\n'))
		}
	}
	c := newFuzzClassifier(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		if err := ClassifyJSONLines(context.Background(), c, bytes.NewReader(in), &out); err != nil {
			t.Fatalf("ClassifyJSONLines: %v", err)
		}
		want := bytes.Count(in, []byte("\n"))
		if len(in) > 0 && in[len(in)-1] != '\n' {
			want++
		}
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if out.Len() == 0 {
			lines = nil
		}
		if len(lines) != want {
			t.Fatalf("%q: %d output lines for %d input lines:\n%s", in, len(lines), want, out.String())
		}
		for _, l := range lines {
			var r struct {
				ReadOnly *bool    `json:"read_only"`
				Class    string   `json:"class"`
				Policy   string   `json:"policy"`
				Tables   []string `json:"tables"`
				Error    string   `json:"error"`
			}
			if err := json.Unmarshal([]byte(l), &r); err != nil || r.ReadOnly == nil || r.Tables == nil || r.Class == "" || r.Policy == "" {
				t.Fatalf("malformed output line %q (%v)", l, err)
			}
			if *r.ReadOnly && (r.Error != "" || r.Class != "read" || r.Policy != "none") {
				t.Fatalf("read-only line with an error or another class: %q", l)
			}
		}
	})
}
