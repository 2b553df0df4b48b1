package export

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/behalf-dev/behalf/shared/audit"
	"github.com/behalf-dev/behalf/shared/audit/audittest"
	"github.com/behalf-dev/behalf/shared/audit/sqlitestore"
)

func newStore(t *testing.T) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), sqlitestore.Config{Path: filepath.Join(t.TempDir(), "audit.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func appendN(t *testing.T, s audit.Appender, from, n int) {
	t.Helper()
	if _, err := s.Append(context.Background(), audittest.Events(from, n)); err != nil {
		t.Fatal(err)
	}
}

func newExporter(t *testing.T, s audit.Reader, sink Sink) *Exporter {
	t.Helper()
	x, err := New(Config{Store: s, Sink: sink, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

var (
	day1 = time.Date(2025, 3, 2, 2, 0, 0, 0, time.UTC) // exports 2025-03-01
	day2 = day1.Add(24 * time.Hour)
	day3 = day2.Add(24 * time.Hour)
)

func mustExport(t *testing.T, x *Exporter, at time.Time) *Result {
	t.Helper()
	res, err := x.Export(context.Background(), at)
	if err != nil {
		t.Fatalf("export at %s: %v", at, err)
	}
	return res
}

// snapshot reads every object of a local sink.
func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

func TestExportIsIdempotentAndChained(t *testing.T) {
	s := newStore(t)
	dir := t.TempDir()
	sink, _ := NewLocalSink(dir)
	x := newExporter(t, s, sink)
	appendN(t, s, 0, 10)
	res := mustExport(t, x, day1)
	m := res.Manifest
	if !res.Written || m.Count != 10 || m.FirstSeq != 1 || m.LastSeq != 10 || m.Period.Label != "20250301T000000Z" || m.PrevHash != audit.GenesisHash {
		t.Fatalf("first export %+v", m)
	}
	before := snapshot(t, dir)
	if len(before) != 2 {
		t.Fatalf("objects %v", keys(before))
	}
	// The same period again: nothing written, same bytes.
	appendN(t, s, 10, 3)
	again := mustExport(t, x, day1.Add(5*time.Hour))
	if again.Written || again.Manifest.LastSeq != 10 {
		t.Fatalf("second run %+v", again)
	}
	if after := snapshot(t, dir); !equalMaps(before, after) {
		t.Fatal("a second run for the same period changed the files")
	}
	// Late events: times before day 1, stored after the first export;
	// they land in the next export and are not skipped.
	late := audittest.Events(100, 2)
	for i := range late {
		late[i].Time = audittest.Base.Add(-48 * time.Hour)
	}
	if _, err := s.Append(context.Background(), late); err != nil {
		t.Fatal(err)
	}
	next := mustExport(t, x, day2).Manifest
	if next.FirstSeq != 11 || next.LastSeq != 15 || next.PrevHash != m.HeadHash || next.PreviousManifest != "audit-20250301T000000Z.manifest.json" || next.LastID != late[1].ID {
		t.Fatalf("next export %+v", next)
	}
	// A period with nothing new still gets a manifest that keeps the chain.
	empty := mustExport(t, x, day3).Manifest
	if empty.Count != 0 || empty.FirstSeq != 16 || empty.HeadHash != next.HeadHash {
		t.Fatalf("empty export %+v", empty)
	}
	rep, err := Verify(context.Background(), sink)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Manifests != 3 || rep.Records != 15 || rep.Head.Seq != 15 || len(rep.Notes) != 0 {
		t.Fatalf("verify %+v", rep)
	}
	// An earlier period cannot be added after a later one.
	if _, err := x.Export(context.Background(), day1.Add(-24*time.Hour)); !errors.Is(err, ErrSuperseded) {
		t.Fatalf("earlier period: %v", err)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func equalMaps(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// failingSink fails PutIfAbsent of manifests while failManifests is set,
// after the data file was written: a crash between the two objects.
type failingSink struct {
	Sink
	failManifests atomic.Bool
}

func (f *failingSink) PutIfAbsent(ctx context.Context, name string, data []byte) error {
	if f.failManifests.Load() && IsManifestName(name) {
		return errors.New("sink unavailable")
	}
	return f.Sink.PutIfAbsent(ctx, name, data)
}

func TestExportResumesAfterAPartialFailure(t *testing.T) {
	s := newStore(t)
	dir := t.TempDir()
	local, _ := NewLocalSink(dir)
	sink := &failingSink{Sink: local}
	x := newExporter(t, s, sink)
	appendN(t, s, 0, 8)
	sink.failManifests.Store(true)
	if _, err := x.Export(context.Background(), day1); err == nil {
		t.Fatal("export succeeded with the manifest write failing")
	}
	orphan := snapshot(t, dir)
	if len(orphan) != 1 {
		t.Fatalf("after the failure: %v", keys(orphan))
	}
	rep, err := Verify(context.Background(), local)
	if err == nil {
		t.Fatalf("verify without a manifest: %+v", rep)
	}
	// More events arrive before the retry; the resumed export keeps the
	// data file as written, and the new events wait for the next period.
	appendN(t, s, 8, 4)
	sink.failManifests.Store(false)
	res := mustExport(t, x, day1)
	if !res.Resumed || res.Manifest.Count != 8 {
		t.Fatalf("resumed export %+v", res)
	}
	for name, b := range orphan {
		if got := snapshot(t, dir)[name]; !bytes.Equal(got, b) {
			t.Fatal("the resumed export rewrote the data file")
		}
	}
	if next := mustExport(t, x, day2).Manifest; next.FirstSeq != 9 || next.Count != 4 {
		t.Fatalf("next export %+v", next)
	}
	if rep, err := Verify(context.Background(), local); err != nil || rep.Records != 12 {
		t.Fatalf("verify %+v %v", rep, err)
	}
}

func TestExportRefusesToPaperOverChanges(t *testing.T) {
	s := newStore(t)
	dir := t.TempDir()
	sink, _ := NewLocalSink(dir)
	x := newExporter(t, s, sink)
	appendN(t, s, 0, 5)
	m := mustExport(t, x, day1).Manifest
	// Someone edits the exported file: re-running the period refuses.
	p := filepath.Join(dir, m.DataFile)
	b, _ := os.ReadFile(p)
	_ = os.Chmod(p, 0o600)
	if err := os.WriteFile(p, bytes.Replace(b, []byte(`"latency_ms":1`), []byte(`"latency_ms":9`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := x.Export(context.Background(), day1); !errors.Is(err, ErrConflict) {
		t.Fatalf("re-export over an edited file: %v", err)
	}
	// A data file left by an interrupted run that is not the store's is
	// never adopted.
	other := newStore(t)
	appendN(t, other, 50, 5)
	dir2 := t.TempDir()
	sink2, _ := NewLocalSink(dir2)
	recs, _ := audit.ReadAll(context.Background(), other)
	data, _ := encodeRecords(recs)
	if err := sink2.PutIfAbsent(context.Background(), dataName("20250301T000000Z"), data); err != nil {
		t.Fatal(err)
	}
	if _, err := newExporter(t, s, sink2).Export(context.Background(), day1); !errors.Is(err, ErrConflict) {
		t.Fatalf("foreign data file adopted: %v", err)
	}
	// A store whose chain does not continue the previous export is refused.
	if _, err := newExporter(t, other, sink).Export(context.Background(), day2); !errors.Is(err, ErrConflict) {
		t.Fatalf("export of another chain: %v", err)
	}
}

// TestVerifyExportCatchesTampering shows the four tampering cases of the
// acceptance criteria on an export: each is caught, naming file and line.
func TestVerifyExportCatchesTampering(t *testing.T) {
	cases := map[string]struct {
		edit  func(lines [][]byte) [][]byte
		where string
	}{
		"removed":      {func(l [][]byte) [][]byte { return append(l[:3:3], l[4:]...) }, "line 4"},
		"removed last": {func(l [][]byte) [][]byte { return l[:len(l)-1] }, ".jsonl"},
		"altered": {func(l [][]byte) [][]byte {
			l[2] = bytes.Replace(l[2], []byte(`"latency_ms":`), []byte(`"latency_ms":7`), 1)
			return l
		}, "line 3"},
		"inserted": {func(l [][]byte) [][]byte {
			return append(append(append([][]byte{}, l[:2]...), l[5]), l[2:]...)
		}, "line 3"},
		"reordered": {func(l [][]byte) [][]byte { l[4], l[5] = l[5], l[4]; return l }, "line 5"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s := newStore(t)
			dir := t.TempDir()
			sink, _ := NewLocalSink(dir)
			appendN(t, s, 0, 8)
			m := mustExport(t, newExporter(t, s, sink), day1).Manifest
			if _, err := Verify(context.Background(), sink); err != nil {
				t.Fatalf("clean export: %v", err)
			}
			p := filepath.Join(dir, m.DataFile)
			b, _ := os.ReadFile(p)
			lines := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
			out := append(bytes.Join(c.edit(lines), []byte("\n")), '\n')
			_ = os.Chmod(p, 0o600)
			if err := os.WriteFile(p, out, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Verify(context.Background(), sink)
			var be *audit.BrokenLinkError
			if !errors.As(err, &be) {
				t.Fatalf("tampering not caught: %v", err)
			}
			if !strings.Contains(be.Where, c.where) {
				t.Fatalf("broken link located at %q, want %q: %v", be.Where, c.where, err)
			}
			t.Logf("%s: %v", name, err)
		})
	}
}

func TestLocalSinkNeverOverwrites(t *testing.T) {
	sink, _ := NewLocalSink(t.TempDir())
	ctx := context.Background()
	if err := sink.PutIfAbsent(ctx, "a.json", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := sink.PutIfAbsent(ctx, "a.json", []byte("2")); !errors.Is(err, ErrExists) {
		t.Fatalf("overwrite: %v", err)
	}
	if b, _ := sink.Get(ctx, "a.json"); string(b) != "1" {
		t.Fatalf("content %q", b)
	}
	if _, err := sink.Get(ctx, "missing"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
	for _, bad := range []string{"../x", "a/b", ".hidden", "", "x..y"} {
		if err := sink.PutIfAbsent(ctx, bad, nil); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
	if names, _ := sink.List(ctx); len(names) != 1 {
		t.Fatalf("list %v (temporary files left?)", names)
	}
}
