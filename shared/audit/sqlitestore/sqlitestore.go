// Package sqlitestore is the embedded audit store: the hash chain in one
// SQLite file (modernc.org/sqlite, pure Go). It is the default for the dev
// stack and the standalone server.
//
// Several processes may write the same file: every append runs in a
// BEGIN IMMEDIATE transaction, which takes SQLite's write lock before the
// chain head is read, so two writers can never link to the same head. The
// file is in WAL mode with synchronous=FULL: a committed append survives a
// crash. Triggers refuse UPDATE and DELETE of records, so that only
// someone bypassing SQLite's own rules can alter history — and the hash
// chain shows it when they do.
package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/behalf-dev/behalf/shared/audit"
)

// Config configures a Store.
type Config struct {
	// Path is the database file, created (with its folder) if missing
	// unless ReadOnly.
	Path string
	// ReadOnly opens an existing file for reading and verification only:
	// nothing is created, migrated or written.
	ReadOnly bool
	// BusyTimeout is how long a writer waits for another one (default 10 s).
	BusyTimeout time.Duration
}

// Store is the SQLite audit store.
type Store struct {
	db       *sql.DB
	readOnly bool
}

var _ audit.Store = (*Store)(nil)

const schemaVersion = "1"

var schema = []string{
	`CREATE TABLE IF NOT EXISTS audit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT`,
	`CREATE TABLE IF NOT EXISTS audit_records (
		seq INTEGER PRIMARY KEY,
		id TEXT NOT NULL UNIQUE,
		event_time_ns INTEGER NOT NULL,
		actor_oid TEXT,
		actor_upn TEXT COLLATE NOCASE,
		status TEXT NOT NULL,
		event TEXT NOT NULL,
		prev_hash TEXT NOT NULL,
		hash TEXT NOT NULL
	) STRICT`,
	`CREATE INDEX IF NOT EXISTS audit_records_time ON audit_records (event_time_ns)`,
	`CREATE INDEX IF NOT EXISTS audit_records_oid ON audit_records (actor_oid)`,
	`CREATE INDEX IF NOT EXISTS audit_records_upn ON audit_records (actor_upn)`,
	`CREATE INDEX IF NOT EXISTS audit_records_status ON audit_records (status)`,
	`CREATE TRIGGER IF NOT EXISTS audit_records_no_update BEFORE UPDATE ON audit_records
		BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END`,
	`CREATE TRIGGER IF NOT EXISTS audit_records_no_delete BEFORE DELETE ON audit_records
		BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END`,
	`INSERT INTO audit_meta (key, value) VALUES ('schema_version', '` + schemaVersion + `') ON CONFLICT (key) DO NOTHING`,
}

// Open opens (and, unless ReadOnly, creates and migrates) the store.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Path == "" {
		return nil, errors.New("sqlitestore: Config.Path is required")
	}
	if cfg.BusyTimeout <= 0 {
		cfg.BusyTimeout = 10 * time.Second
	}
	if cfg.ReadOnly {
		if _, err := os.Stat(cfg.Path); err != nil {
			return nil, fmt.Errorf("sqlitestore: %w", err)
		}
	} else if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", cfg.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	if cfg.ReadOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(FULL)")
		// BEGIN IMMEDIATE: the write lock is taken before the head is read.
		q.Set("_txlock", "immediate")
	}
	db, err := sql.Open("sqlite", "file:"+cfg.Path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", cfg.Path, err)
	}
	s := &Store{db: db, readOnly: cfg.ReadOnly}
	if cfg.ReadOnly {
		var v string
		if err := db.QueryRowContext(ctx, `SELECT value FROM audit_meta WHERE key = 'schema_version'`).Scan(&v); err != nil {
			db.Close()
			return nil, fmt.Errorf("sqlitestore: %s is not an audit store: %w", cfg.Path, err)
		}
		return s, nil
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	for _, stmt := range schema {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("sqlitestore: migrate: %w", err)
		}
	}
	var v string
	if err := tx.QueryRowContext(ctx, `SELECT value FROM audit_meta WHERE key = 'schema_version'`).Scan(&v); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	if v != schemaVersion {
		return fmt.Errorf("sqlitestore: the file has schema version %s; this build knows %s", v, schemaVersion)
	}
	return tx.Commit()
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Append appends the new events of a batch in one transaction.
func (s *Store) Append(ctx context.Context, events []audit.Event) (audit.AppendResult, error) {
	if s.readOnly {
		return audit.AppendResult{}, errors.New("sqlitestore: the store is open read-only")
	}
	if err := audit.CheckBatch(events); err != nil {
		return audit.AppendResult{}, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return audit.AppendResult{}, fmt.Errorf("%w: %w", audit.ErrStoreUnavailable, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	head, err := headOf(ctx, tx)
	if err != nil {
		return audit.AppendResult{}, err
	}
	var res audit.AppendResult
	seen := map[string]bool{}
	for _, ev := range events {
		ev = audit.Normalize(ev)
		if seen[ev.ID] {
			res.Duplicates++
			continue
		}
		seen[ev.ID] = true
		var one int
		switch err := tx.QueryRowContext(ctx, `SELECT 1 FROM audit_records WHERE id = ?`, ev.ID).Scan(&one); {
		case err == nil:
			res.Duplicates++
			continue
		case !errors.Is(err, sql.ErrNoRows):
			return audit.AppendResult{}, fmt.Errorf("%w: %w", audit.ErrStoreUnavailable, err)
		}
		rec, err := audit.Link(head, ev)
		if err != nil {
			return audit.AppendResult{}, err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO audit_records (seq, id, event_time_ns, actor_oid, actor_upn, status, event, prev_hash, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			rec.Seq, ev.ID, ev.Time.UnixNano(), nullable(ev.Actor.OID), nullable(ev.Actor.UPN), string(ev.Status), string(rec.EventJSON), rec.PrevHash, rec.Hash)
		if err != nil {
			return audit.AppendResult{}, fmt.Errorf("%w: insert seq %d: %w", audit.ErrStoreUnavailable, rec.Seq, err)
		}
		head = audit.Head{Seq: rec.Seq, Hash: rec.Hash}
		res.Appended++
	}
	if err := tx.Commit(); err != nil {
		return audit.AppendResult{}, fmt.Errorf("%w: commit: %w", audit.ErrStoreUnavailable, err)
	}
	res.Head = head
	return res, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func headOf(ctx context.Context, q queryer) (audit.Head, error) {
	var h audit.Head
	err := q.QueryRowContext(ctx, `SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1`).Scan(&h.Seq, &h.Hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return audit.EmptyHead(), nil
	case err != nil:
		return audit.Head{}, fmt.Errorf("%w: read head: %w", audit.ErrStoreUnavailable, err)
	}
	return h, nil
}

// Head returns the chain head.
func (s *Store) Head(ctx context.Context) (audit.Head, error) { return headOf(ctx, s.db) }

// Range returns records with seq >= from in order.
func (s *Store) Range(ctx context.Context, from int64, limit int) ([]audit.Record, error) {
	from, limit, err := audit.CheckRange(from, limit)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT seq, prev_hash, hash, event FROM audit_records WHERE seq >= ? ORDER BY seq LIMIT ?`, from, limit)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", audit.ErrStoreUnavailable, err)
	}
	return scanRecords(rows)
}

// Query answers the admin query, newest first. The SQL text is fixed:
// unused filters are NULL parameters.
func (s *Store) Query(ctx context.Context, q audit.Query) (*audit.Page, error) {
	r, err := q.Resolve()
	if err != nil {
		return nil, err
	}
	var actor, status, from, to, before any
	if r.Actor != "" {
		actor = r.Actor
	}
	if r.Status != "" {
		status = string(r.Status)
	}
	if !r.From.IsZero() {
		from = r.From.UnixNano()
	}
	if !r.To.IsZero() {
		to = r.To.UnixNano()
	}
	if r.Before > 0 {
		before = r.Before
	}
	rows, err := s.db.QueryContext(ctx, `SELECT seq, prev_hash, hash, event FROM audit_records
		WHERE (?1 IS NULL OR actor_oid = ?1 OR actor_upn = ?1)
		  AND (?2 IS NULL OR status = ?2)
		  AND (?3 IS NULL OR event_time_ns >= ?3)
		  AND (?4 IS NULL OR event_time_ns < ?4)
		  AND (?5 IS NULL OR seq < ?5)
		ORDER BY seq DESC LIMIT ?6`, actor, status, from, to, before, r.Limit+1)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", audit.ErrStoreUnavailable, err)
	}
	recs, err := scanRecords(rows)
	if err != nil {
		return nil, err
	}
	return r.Page(recs), nil
}

func scanRecords(rows *sql.Rows) ([]audit.Record, error) {
	defer rows.Close()
	var out []audit.Record
	for rows.Next() {
		var seq int64
		var prev, hash, ev string
		if err := rows.Scan(&seq, &prev, &hash, &ev); err != nil {
			return nil, fmt.Errorf("%w: %w", audit.ErrStoreUnavailable, err)
		}
		rec, err := audit.RecordFromStored(seq, prev, hash, []byte(ev))
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", audit.ErrStoreUnavailable, err)
	}
	return out, nil
}
