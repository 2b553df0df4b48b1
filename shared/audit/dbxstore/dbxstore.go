// Package dbxstore keeps the audit trail in a Delta table through the
// Databricks SQL Statement Execution API, as behalf's own M2M identity
// (shared/workspace ForM2M), never as a person.
//
// Every statement is parameterised; the only text built into SQL is the
// table name, which cannot be a parameter and is therefore checked
// against a strict identifier pattern and quoted. The table is created
// if missing, with delta.appendOnly so that Delta itself refuses UPDATE
// and DELETE.
//
// # Keeping concurrent writers from forking the chain
//
// The Statement Execution API has no multi-statement transactions, so an
// append is one MERGE that is all-or-nothing by construction: its source
// is the batch's records (already linked to the head the writer read),
// filtered by
//
//	WHERE NOT EXISTS (SELECT 1 FROM t WHERE t.seq >= :first_seq OR t.id IN (...batch ids))
//
// If any other writer appended since the head was read, or any of the ids
// is already stored, the source is empty and nothing is inserted. Delta's
// optimistic concurrency makes the check and the insert one atomic step:
// two MERGEs that read the same table version conflict at commit, and the
// loser fails (DELTA_CONCURRENT_APPEND) instead of committing on a stale
// head. Either way the writer sees 0 rows inserted or a conflict, re-reads
// the head and the stored ids, re-links and tries again (bounded). A
// partial insert is impossible; if one were ever reported, Append fails
// closed rather than continue a chain it cannot vouch for.
package dbxstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/databricks/databricks-sdk-go"

	"github.com/behalf-dev/behalf/shared/audit"
	"github.com/behalf-dev/behalf/shared/resultset"
	"github.com/behalf-dev/behalf/shared/sqlexec"
)

// Config configures a Store.
type Config struct {
	// Client is behalf's M2M workspace client (workspace.Factory.ForM2M).
	Client *databricks.WorkspaceClient
	// WarehouseID is the SQL warehouse that runs the statements.
	WarehouseID string
	// Table is catalog.schema.table (default main.behalf.audit_events).
	Table string
	// StatementTimeout bounds one statement (default 60 s).
	StatementTimeout time.Duration
	// ConflictRetries bounds re-linking after a concurrent append
	// (default 8).
	ConflictRetries int
	// ChunkSize is the most events one MERGE inserts (default 50: ten
	// parameters each, well under the API's limits).
	ChunkSize int
	Logger    *slog.Logger
}

// Store is the Delta audit store.
type Store struct {
	cfg   Config
	run   *sqlexec.Runner
	table string // quoted
	log   *slog.Logger
}

var _ audit.Store = (*Store)(nil)

// ErrConflict means concurrent writers kept winning for ConflictRetries
// attempts; the caller should retry later (the writer's redelivery does).
var ErrConflict = errors.New("dbxstore: concurrent appends kept conflicting")

var identPart = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

// QuoteTable checks catalog.schema.table against a strict pattern and
// returns it backtick-quoted.
func QuoteTable(name string) (string, error) {
	parts := strings.Split(name, ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("dbxstore: table %q must be catalog.schema.table", name)
	}
	for i, p := range parts {
		if !identPart.MatchString(p) {
			return "", fmt.Errorf("dbxstore: table %q: part %q must match %s", name, p, identPart)
		}
		parts[i] = "`" + p + "`"
	}
	return strings.Join(parts, "."), nil
}

// Open checks cfg and creates the table if it is missing.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Client == nil || cfg.WarehouseID == "" {
		return nil, errors.New("dbxstore: Config.Client and Config.WarehouseID are required")
	}
	if cfg.Table == "" {
		cfg.Table = "main.behalf.audit_events"
	}
	if cfg.StatementTimeout <= 0 {
		cfg.StatementTimeout = 60 * time.Second
	}
	if cfg.ConflictRetries <= 0 {
		cfg.ConflictRetries = 8
	}
	if cfg.ChunkSize <= 0 || cfg.ChunkSize > 100 {
		cfg.ChunkSize = 50
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	q, err := QuoteTable(cfg.Table)
	if err != nil {
		return nil, err
	}
	run, err := sqlexec.New(cfg.Client)
	if err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg, run: run, table: q, log: cfg.Logger}
	if _, err := s.exec(ctx, `CREATE TABLE IF NOT EXISTS `+q+` (
		seq BIGINT NOT NULL, id STRING NOT NULL, event_time STRING NOT NULL, event_time_ns BIGINT NOT NULL,
		actor_oid STRING, actor_upn STRING, status STRING NOT NULL, event STRING NOT NULL,
		prev_hash STRING NOT NULL, hash STRING NOT NULL)
		USING DELTA
		COMMENT 'behalf audit trail: an append-only hash chain (shared/audit/README.md)'
		TBLPROPERTIES ('delta.appendOnly' = 'true')`, 0); err != nil {
		return nil, fmt.Errorf("dbxstore: create %s: %w", cfg.Table, err)
	}
	return s, nil
}

// Close releases nothing: the client is the caller's.
func (s *Store) Close() error { return nil }

func param(name, typ, value string) sqlexec.Parameter {
	return sqlexec.Parameter{Name: name, Type: typ, Value: &value}
}

func nullable(name, value string) sqlexec.Parameter {
	if value == "" {
		return sqlexec.Parameter{Name: name, Type: "STRING"}
	}
	return param(name, "STRING", value)
}

func (s *Store) exec(ctx context.Context, sql string, maxRows int, params ...sqlexec.Parameter) (*resultset.Table, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.StatementTimeout)
	defer cancel()
	if maxRows <= 0 {
		maxRows = 1
	}
	res, err := s.run.Run(ctx, sqlexec.Statement{SQL: sql, WarehouseID: s.cfg.WarehouseID, Parameters: params, MaxRows: maxRows}, true)
	if err != nil {
		return nil, err
	}
	return res.Table, nil
}

// Head returns the chain head.
func (s *Store) Head(ctx context.Context) (audit.Head, error) {
	t, err := s.exec(ctx, `SELECT seq, hash FROM `+s.table+` ORDER BY seq DESC LIMIT 1`, 1)
	if err != nil {
		return audit.Head{}, unavailable(err)
	}
	if len(t.Rows) == 0 {
		return audit.EmptyHead(), nil
	}
	seq, ok1 := t.Rows[0][0].(int64)
	hash, ok2 := t.Rows[0][1].(string)
	if !ok1 || !ok2 {
		return audit.Head{}, fmt.Errorf("dbxstore: head row has unexpected types %T, %T", t.Rows[0][0], t.Rows[0][1])
	}
	return audit.Head{Seq: seq, Hash: hash}, nil
}

// Append appends the new events of a batch, ChunkSize at a time; each
// chunk is one all-or-nothing MERGE (see the package documentation).
func (s *Store) Append(ctx context.Context, events []audit.Event) (audit.AppendResult, error) {
	if err := audit.CheckBatch(events); err != nil {
		return audit.AppendResult{}, err
	}
	var res audit.AppendResult
	seen := map[string]bool{}
	var batch []audit.Event
	for _, ev := range events {
		ev = audit.Normalize(ev)
		if seen[ev.ID] {
			res.Duplicates++
			continue
		}
		seen[ev.ID] = true
		batch = append(batch, ev)
	}
	for start := 0; start < len(batch); start += s.cfg.ChunkSize {
		chunk := batch[start:min(start+s.cfg.ChunkSize, len(batch))]
		appended, dups, head, err := s.appendChunk(ctx, chunk)
		res.Appended += appended
		res.Duplicates += dups
		if err != nil {
			return res, err
		}
		res.Head = head
	}
	if len(batch) == 0 {
		h, err := s.Head(ctx)
		if err != nil {
			return res, err
		}
		res.Head = h
	}
	return res, nil
}

func (s *Store) appendChunk(ctx context.Context, chunk []audit.Event) (appended, dups int, head audit.Head, err error) {
	for attempt := 1; ; attempt++ {
		stored, err := s.storedIDs(ctx, chunk)
		if err != nil {
			return 0, 0, audit.Head{}, err
		}
		var todo []audit.Event
		for _, ev := range chunk {
			if !stored[ev.ID] {
				todo = append(todo, ev)
			}
		}
		head, err := s.Head(ctx)
		if err != nil {
			return 0, 0, audit.Head{}, err
		}
		if len(todo) == 0 {
			return 0, len(chunk), head, nil
		}
		recs := make([]audit.Record, len(todo))
		h := head
		for i, ev := range todo {
			if recs[i], err = audit.Link(h, ev); err != nil {
				return 0, 0, audit.Head{}, err
			}
			h = recs[i].HeadAfter()
		}
		inserted, err := s.merge(ctx, recs)
		switch {
		case err == nil && inserted == len(recs):
			return len(recs), len(chunk) - len(recs), h, nil
		case err == nil && inserted != 0:
			return 0, 0, audit.Head{}, fmt.Errorf("dbxstore: MERGE inserted %d of %d records; refusing to continue a chain it cannot vouch for", inserted, len(recs))
		case err != nil && !isConflict(err):
			return 0, 0, audit.Head{}, unavailable(err)
		}
		// Another writer appended since the head was read (or stored one
		// of these ids): re-read and re-link.
		if attempt >= s.cfg.ConflictRetries {
			return 0, 0, audit.Head{}, fmt.Errorf("%w: %d attempts", ErrConflict, attempt)
		}
		s.log.DebugContext(ctx, "audit append conflicted with another writer; re-linking", "attempt", attempt, "head", head.Seq)
		wait := time.Duration(rand.Int64N(int64(50*time.Millisecond)*int64(attempt))) + 10*time.Millisecond
		select {
		case <-ctx.Done():
			return 0, 0, audit.Head{}, unavailable(ctx.Err())
		case <-time.After(wait):
		}
	}
}

// storedIDs returns which of the chunk's ids the table already holds.
func (s *Store) storedIDs(ctx context.Context, chunk []audit.Event) (map[string]bool, error) {
	marks := make([]string, len(chunk))
	params := make([]sqlexec.Parameter, len(chunk))
	for i, ev := range chunk {
		name := "id" + strconv.Itoa(i)
		marks[i] = ":" + name
		params[i] = param(name, "STRING", ev.ID)
	}
	t, err := s.exec(ctx, `SELECT id FROM `+s.table+` WHERE id IN (`+strings.Join(marks, ", ")+`)`, len(chunk), params...)
	if err != nil {
		return nil, unavailable(err)
	}
	out := map[string]bool{}
	for _, row := range t.Rows {
		if id, ok := row[0].(string); ok {
			out[id] = true
		}
	}
	return out, nil
}

// merge inserts recs if, and only if, nothing at or after the first seq
// and none of their ids is stored yet. It returns the rows inserted.
func (s *Store) merge(ctx context.Context, recs []audit.Record) (int, error) {
	var rows, ids []string
	params := []sqlexec.Parameter{param("first_seq", "BIGINT", strconv.FormatInt(recs[0].Seq, 10))}
	for i, r := range recs {
		n := strconv.Itoa(i)
		ev := r.Event
		rows = append(rows, fmt.Sprintf(`SELECT CAST(:seq%[1]s AS BIGINT) AS seq, :id%[1]s AS id, :time%[1]s AS event_time,
			CAST(:ns%[1]s AS BIGINT) AS event_time_ns, :oid%[1]s AS actor_oid, :upn%[1]s AS actor_upn, :status%[1]s AS status,
			:event%[1]s AS event, :prev%[1]s AS prev_hash, :hash%[1]s AS hash`, n))
		ids = append(ids, ":id"+n)
		params = append(params,
			param("seq"+n, "BIGINT", strconv.FormatInt(r.Seq, 10)), param("id"+n, "STRING", ev.ID),
			param("time"+n, "STRING", ev.Time.Format(time.RFC3339Nano)), param("ns"+n, "BIGINT", strconv.FormatInt(ev.Time.UnixNano(), 10)),
			nullable("oid"+n, ev.Actor.OID), nullable("upn"+n, ev.Actor.UPN), param("status"+n, "STRING", string(ev.Status)),
			param("event"+n, "STRING", string(r.EventJSON)), param("prev"+n, "STRING", r.PrevHash), param("hash"+n, "STRING", r.Hash))
	}
	sql := `MERGE INTO ` + s.table + ` AS t USING (
		SELECT b.* FROM (` + strings.Join(rows, "\n UNION ALL ") + `) AS b
		WHERE NOT EXISTS (SELECT 1 FROM ` + s.table + ` AS x WHERE x.seq >= :first_seq OR x.id IN (` + strings.Join(ids, ", ") + `))
	) AS s ON t.id = s.id
	WHEN NOT MATCHED THEN INSERT *`
	t, err := s.exec(ctx, sql, 1, params...)
	if err != nil {
		return 0, err
	}
	for i, c := range t.Columns {
		if c.Name == "num_inserted_rows" && len(t.Rows) > 0 {
			if n, ok := t.Rows[0][i].(int64); ok {
				return int(n), nil
			}
		}
	}
	return 0, errors.New("dbxstore: MERGE answered without num_inserted_rows")
}

// isConflict recognises Delta's concurrent-modification failures.
func isConflict(err error) bool {
	var se *sqlexec.Error
	if !errors.As(err, &se) || se.Code != sqlexec.CodeSQLError {
		return false
	}
	m := strings.ToUpper(se.Message)
	return strings.Contains(m, "CONCURRENT") || strings.Contains(m, "DELTA_CONCURRENT")
}

func unavailable(err error) error {
	if errors.Is(err, audit.ErrStoreUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", audit.ErrStoreUnavailable, err)
}

const selectRecord = `SELECT seq, prev_hash, hash, event FROM `

// Range returns records with seq >= from, in order.
func (s *Store) Range(ctx context.Context, from int64, limit int) ([]audit.Record, error) {
	from, limit, err := audit.CheckRange(from, limit)
	if err != nil {
		return nil, err
	}
	t, err := s.exec(ctx, selectRecord+s.table+` WHERE seq >= :from AND seq < :to ORDER BY seq`, limit,
		param("from", "BIGINT", strconv.FormatInt(from, 10)), param("to", "BIGINT", strconv.FormatInt(from+int64(limit), 10)))
	if err != nil {
		return nil, unavailable(err)
	}
	return records(t)
}

// Query answers the admin query, newest first; unused filters are NULL
// parameters, so the SQL text never changes.
func (s *Store) Query(ctx context.Context, q audit.Query) (*audit.Page, error) {
	r, err := q.Resolve()
	if err != nil {
		return nil, err
	}
	opt := func(name, typ string, set bool, v string) sqlexec.Parameter {
		if !set {
			return sqlexec.Parameter{Name: name, Type: typ}
		}
		return param(name, typ, v)
	}
	t, err := s.exec(ctx, selectRecord+s.table+`
		WHERE (:actor IS NULL OR actor_oid = :actor OR lower(actor_upn) = lower(:actor))
		  AND (:status IS NULL OR status = :status)
		  AND (:from_ns IS NULL OR event_time_ns >= :from_ns)
		  AND (:to_ns IS NULL OR event_time_ns < :to_ns)
		  AND (:before IS NULL OR seq < :before)
		ORDER BY seq DESC`, r.Limit+1,
		opt("actor", "STRING", r.Actor != "", r.Actor), opt("status", "STRING", r.Status != "", string(r.Status)),
		opt("from_ns", "BIGINT", !r.From.IsZero(), strconv.FormatInt(r.From.UnixNano(), 10)),
		opt("to_ns", "BIGINT", !r.To.IsZero(), strconv.FormatInt(r.To.UnixNano(), 10)),
		opt("before", "BIGINT", r.Before > 0, strconv.FormatInt(r.Before, 10)))
	if err != nil {
		return nil, unavailable(err)
	}
	recs, err := records(t)
	if err != nil {
		return nil, err
	}
	return r.Page(recs), nil
}

func records(t *resultset.Table) ([]audit.Record, error) {
	out := make([]audit.Record, 0, len(t.Rows))
	for _, row := range t.Rows {
		if len(row) != 4 {
			return nil, fmt.Errorf("dbxstore: record row has %d columns", len(row))
		}
		seq, ok := row[0].(int64)
		prev, ok2 := row[1].(string)
		hash, ok3 := row[2].(string)
		ev, ok4 := row[3].(string)
		if !ok || !ok2 || !ok3 || !ok4 {
			return nil, fmt.Errorf("dbxstore: record row has unexpected types")
		}
		rec, err := audit.RecordFromStored(seq, prev, hash, []byte(ev))
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}
