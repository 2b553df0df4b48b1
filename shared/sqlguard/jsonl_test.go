package sqlguard

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestClassifyJSONLinesGolden pins the exact output of the JSON Lines
// protocol (behalf sql classify) for a set of representative inputs. Run
// with -update after a deliberate change and review the diff.
func TestClassifyJSONLinesGolden(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "classify.input.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := New(Config{})
	var out bytes.Buffer
	if err := ClassifyJSONLines(context.Background(), c, bytes.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "classify.golden.jsonl")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run Golden -update to create it)", err)
	}
	gotLines := strings.Split(out.String(), "\n")
	wantLines := strings.Split(string(want), "\n")
	if len(gotLines) != len(wantLines) {
		t.Fatalf("%d output lines, golden has %d:\n%s", len(gotLines), len(wantLines), out.String())
	}
	for i := range wantLines {
		if gotLines[i] != wantLines[i] {
			t.Errorf("line %d:\n got  %s\n want %s", i+1, gotLines[i], wantLines[i])
		}
	}
	if n := bytes.Count(in, []byte("\n")); len(gotLines)-1 != n {
		t.Errorf("%d answers for %d input lines", len(gotLines)-1, n)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestClassifyJSONLinesIOErrors(t *testing.T) {
	c, _ := New(Config{})
	in := strings.NewReader(`{"sql":"SELECT 1"}` + "\n")
	if err := ClassifyJSONLines(context.Background(), c, in, failingWriter{}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("write failure: %v", err)
	}
	if err := ClassifyJSONLines(context.Background(), c, failingReader{}, io.Discard); err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Errorf("read failure: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	if err := ClassifyJSONLines(ctx, c, strings.NewReader(`{"sql":"SELECT 1"}`), &out); !errors.Is(err, context.Canceled) || out.Len() != 0 {
		t.Errorf("cancelled: %v, output %q", err, out.String())
	}
	if err := ClassifyJSONLines(context.Background(), nil, strings.NewReader(""), &out); err == nil {
		t.Error("nil classifier accepted")
	}
}
