package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/behalf-dev/behalf/shared/audit"
	"github.com/behalf-dev/behalf/shared/audit/audittest"
)

// rawDB opens the file behind the store's back, as an attacker with file
// access would, and drops the append-only triggers.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, q := range []string{`DROP TRIGGER audit_records_no_update`, `DROP TRIGGER audit_records_no_delete`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// TestVerifyCatchesTampering shows the four tampering cases of the
// acceptance criteria on a store: each is caught and the first broken
// link is named.
func TestVerifyCatchesTampering(t *testing.T) {
	cases := []struct {
		name    string
		tamper  func(t *testing.T, db *sql.DB, recs []audit.Record)
		wantSeq int64
	}{
		{"removed", func(t *testing.T, db *sql.DB, _ []audit.Record) {
			mustExec(t, db, `DELETE FROM audit_records WHERE seq = 5`)
		}, 5},
		{"altered", func(t *testing.T, db *sql.DB, recs []audit.Record) {
			ev := strings.Replace(string(recs[3].EventJSON), `"status":"`+string(recs[3].Event.Status)+`"`, `"status":"success"`, 1)
			if ev == string(recs[3].EventJSON) {
				ev = strings.Replace(ev, `"latency_ms":`, `"latency_ms":1`, 1)
			}
			mustExec(t, db, `UPDATE audit_records SET event = ? WHERE seq = 4`, ev)
		}, 4},
		{"inserted", func(t *testing.T, db *sql.DB, recs []audit.Record) {
			// Make room after seq 5 and insert a forged record that links
			// correctly to seq 5: the record after it still breaks.
			for seq := int64(10); seq >= 6; seq-- {
				mustExec(t, db, `UPDATE audit_records SET seq = seq + 1 WHERE seq = ?`, seq)
			}
			forged, err := audit.Link(recs[4].HeadAfter(), audittest.Event(99))
			if err != nil {
				t.Fatal(err)
			}
			mustExec(t, db, `INSERT INTO audit_records (seq, id, event_time_ns, status, event, prev_hash, hash) VALUES (?, ?, 0, 'success', ?, ?, ?)`,
				forged.Seq, forged.Event.ID, string(forged.EventJSON), forged.PrevHash, forged.Hash)
		}, 7},
		{"reordered", func(t *testing.T, db *sql.DB, _ []audit.Record) {
			mustExec(t, db, `UPDATE audit_records SET seq = -1 WHERE seq = 3`)
			mustExec(t, db, `UPDATE audit_records SET seq = 3 WHERE seq = 4`)
			mustExec(t, db, `UPDATE audit_records SET seq = 4 WHERE seq = -1`)
		}, 3},
		{"corrupted", func(t *testing.T, db *sql.DB, _ []audit.Record) {
			mustExec(t, db, `UPDATE audit_records SET event = '{"v":1}' WHERE seq = 8`)
		}, 8},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.db")
			s := openAt(t, path)
			defer s.Close()
			if _, err := s.Append(context.Background(), audittest.Events(0, 10)); err != nil {
				t.Fatal(err)
			}
			recs := audittest.MustVerify(t, s)
			c.tamper(t, rawDB(t, path), recs)
			_, err := audit.VerifyStore(context.Background(), s)
			var be *audit.BrokenLinkError
			if !errors.As(err, &be) || !errors.Is(err, audit.ErrBrokenChain) {
				t.Fatalf("tampering (%s) not caught: %v", c.name, err)
			}
			if be.Seq != c.wantSeq {
				t.Fatalf("first broken link named seq %d, want %d: %v", be.Seq, c.wantSeq, err)
			}
			t.Logf("%s: %v", c.name, err)
		})
	}
}

func TestRecordsAreAppendOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.db")
	s := openAt(t, path)
	defer s.Close()
	if _, err := s.Append(context.Background(), audittest.Events(0, 2)); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE audit_records SET status = 'success'`, `DELETE FROM audit_records`} {
		if _, err := s.db.Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v", q, err)
		}
	}
	audittest.MustVerify(t, s)
}

func TestReadOnlyNeverCreatesOrWrites(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(context.Background(), Config{Path: filepath.Join(dir, "missing.db"), ReadOnly: true}); err == nil {
		t.Fatal("a missing file opened read-only")
	}
	path := filepath.Join(dir, "audit.db")
	w := openAt(t, path)
	if _, err := w.Append(context.Background(), audittest.Events(0, 3)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	r, err := Open(context.Background(), Config{Path: path, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if recs := audittest.MustVerify(t, r); len(recs) != 3 {
		t.Fatalf("%d records", len(recs))
	}
	if _, err := r.Append(context.Background(), audittest.Events(3, 1)); err == nil {
		t.Fatal("append through a read-only store")
	}
}
