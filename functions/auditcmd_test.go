package main

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/behalf-dev/behalf/shared/audit"
	"github.com/behalf-dev/behalf/shared/audit/audittest"
	"github.com/behalf-dev/behalf/shared/audit/export"
	"github.com/behalf-dev/behalf/shared/audit/sqlitestore"
)

// newAuditStore writes 10 records and returns the file.
func newAuditStore(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.db")
	s, err := sqlitestore.Open(context.Background(), sqlitestore.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Append(context.Background(), audittest.Events(0, 10)); err != nil {
		t.Fatal(err)
	}
	return path
}

// tamperStore edits the file as an attacker with file access would.
func tamperStore(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range append([]string{`DROP TRIGGER audit_records_no_update`, `DROP TRIGGER audit_records_no_delete`}, stmts...) {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestAuditVerifyStore is acceptance point 3 for a store: verify passes
// on a clean store and names the first broken link of each tampering.
func TestAuditVerifyStore(t *testing.T) {
	clean := newAuditStore(t)
	code, out, errOut := runCmd(t, nil, "audit", "verify", "--store", clean)
	if code != 0 || !strings.Contains(out, "ok: ") || !strings.Contains(out, "10 records") {
		t.Fatalf("clean store: exit %d\n%s%s", code, out, errOut)
	}
	// The file is not changed by verifying it.
	if code, _, _ := runCmd(t, map[string]string{"BEHALF_AUDIT_SQLITE_PATH": clean}, "audit", "verify"); code != 0 {
		t.Fatalf("verify from the setting: exit %d", code)
	}
	forged, _ := audit.Link(audit.Head{Seq: 5, Hash: "x"}, audittest.Event(98)) // no quotes in its text
	cases := map[string]struct {
		stmts []string
		seq   string
	}{
		"removed":   {[]string{`DELETE FROM audit_records WHERE seq = 6`}, "seq 6"},
		"altered":   {[]string{`UPDATE audit_records SET event = replace(event, '"latency_ms":1', '"latency_ms":9') WHERE seq = 3`}, "seq 3"},
		"inserted":  {[]string{`UPDATE audit_records SET seq = seq + 100 WHERE seq >= 6`, `UPDATE audit_records SET seq = seq - 99 WHERE seq >= 106`, "INSERT INTO audit_records (seq, id, event_time_ns, status, event, prev_hash, hash) VALUES (6, '" + forged.Event.ID + "', 0, 'success', '" + string(forged.EventJSON) + "', 'x', '" + forged.Hash + "')"}, "seq 6"},
		"reordered": {[]string{`UPDATE audit_records SET seq = -1 WHERE seq = 8`, `UPDATE audit_records SET seq = 8 WHERE seq = 9`, `UPDATE audit_records SET seq = 9 WHERE seq = -1`}, "seq 8"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			path := newAuditStore(t)
			tamperStore(t, path, c.stmts...)
			code, out, errOut := runCmd(t, nil, "audit", "verify", "--store", path)
			if code != 1 || !strings.Contains(errOut, "BROKEN") || !strings.Contains(errOut, "first broken link is at "+c.seq) {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
			}
		})
	}
}

// TestAuditVerifyExport is acceptance point 3 for an export: a folder and
// a single manifest verify, and each tampering is named by file and line.
func TestAuditVerifyExport(t *testing.T) {
	mk := func(t *testing.T) (string, string) {
		t.Helper()
		s, err := sqlitestore.Open(context.Background(), sqlitestore.Config{Path: filepath.Join(t.TempDir(), "a.db")})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.Append(context.Background(), audittest.Events(0, 8)); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		sink, _ := export.NewLocalSink(dir)
		x, _ := export.New(export.Config{Store: s, Sink: sink, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		res, err := x.Export(context.Background(), time.Date(2025, 3, 2, 2, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		return dir, res.Manifest.DataFile
	}
	dir, data := mk(t)
	if code, out, errOut := runCmd(t, nil, "audit", "verify", "--export", dir); code != 0 || !strings.Contains(out, "8 records") {
		t.Fatalf("clean export: %d %s %s", code, out, errOut)
	}
	manifest := filepath.Join(dir, strings.TrimSuffix(data, ".jsonl")+".manifest.json")
	if code, out, errOut := runCmd(t, nil, "audit", "verify", "--export", manifest); code != 0 {
		t.Fatalf("one manifest: %d %s %s", code, out, errOut)
	}
	edits := map[string]struct {
		edit func([]string) []string
		want string
	}{
		"removed": {func(l []string) []string { return append(l[:2:2], l[3:]...) }, "line 3"},
		"altered": {func(l []string) []string {
			l[4] = strings.Replace(l[4], `"latency_ms":1`, `"latency_ms":2`, 1)
			return l
		}, "line 5"},
		"inserted":  {func(l []string) []string { return append(append(append([]string{}, l[:4]...), l[1]), l[4:]...) }, "line 5"},
		"reordered": {func(l []string) []string { l[5], l[6] = l[6], l[5]; return l }, "line 6"},
	}
	for name, c := range edits {
		t.Run(name, func(t *testing.T) {
			dir, data := mk(t)
			p := filepath.Join(dir, data)
			b, _ := os.ReadFile(p)
			lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
			_ = os.Chmod(p, 0o600)
			if err := os.WriteFile(p, []byte(strings.Join(c.edit(lines), "\n")+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runCmd(t, nil, "audit", "verify", "--export", dir)
			if code != 1 || !strings.Contains(errOut, "BROKEN") || !strings.Contains(errOut, data+" "+c.want) {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
			}
		})
	}
}

func TestAuditUsage(t *testing.T) {
	for _, args := range [][]string{{"audit"}, {"audit", "check"}, {"audit", "verify"}, {"audit", "verify", "--store", "a", "--export", "b"}, {"audit", "verify", "--bogus"}} {
		if code, _, errOut := runCmd(t, nil, args...); code != 2 || !strings.Contains(errOut, "Usage") {
			t.Errorf("%v: exit %d %s", args, code, errOut)
		}
	}
	if code, _, _ := runCmd(t, nil, "audit", "verify", "--store", filepath.Join(t.TempDir(), "missing.db")); code != 1 {
		t.Errorf("missing store: exit %d", code)
	}
	missing := filepath.Join(t.TempDir(), "missing.db")
	runCmd(t, nil, "audit", "verify", "--store", missing)
	if _, err := os.Stat(missing); err == nil {
		t.Error("verify created a store")
	}
}
