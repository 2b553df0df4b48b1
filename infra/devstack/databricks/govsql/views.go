package govsql

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"
)

// session is one statement run by one principal on one connection.
type session struct {
	e          *Engine
	p          Principal
	snap       *snapshot
	cat, sch   string
	now        time.Time
	conn       *sql.Conn
	pol        *policy
	hidden     map[string]string // table full name → filtered view name
	refs       map[string]*Table // tables the statement names
	usedParams map[string]bool
}

func (e *Engine) newSession(p Principal, snap *snapshot, cat, sch string, conn *sql.Conn, pol *policy) *session {
	s := &session{e: e, p: p, snap: snap, cat: cat, sch: sch, now: e.cfg.Now().UTC(), conn: conn, pol: pol,
		hidden: map[string]string{}, refs: map[string]*Table{}, usedParams: map[string]bool{}}
	names := make([]string, 0, len(snap.tables))
	for k := range snap.tables {
		names = append(names, k)
	}
	sort.Strings(names)
	for i, full := range names {
		s.hidden[full] = fmt.Sprintf("v_%s_%d", e.marker, i)
	}
	return s
}

// buildViews creates this principal's temporary views: for every table a
// hidden view applying its row filter and masks (what filters, views and
// DML read), and for every table the principal may SELECT the public names
// statements use: catalog.schema.table, schema.table in the current
// catalog and table in the current schema.
func (s *session) buildViews(ctx context.Context) error {
	names := make([]string, 0, len(s.snap.tables))
	for k := range s.snap.tables {
		names = append(names, k)
	}
	sort.Strings(names)
	var ddl []string
	for _, full := range names {
		t := s.snap.tables[full]
		body, err := s.hiddenViewSQL(t)
		if err != nil {
			return fmt.Errorf("govsql: governance definition of %s: %w", full, err)
		}
		h := s.hidden[full]
		ddl = append(ddl, fmt.Sprintf("CREATE TEMP VIEW %s AS %s", quoteIdent(h), body))
		s.pol.views[h] = true
		if t.raw != "" {
			s.pol.raws[strings.ToLower(t.raw)] = true
		}
		if s.snap.check(s.p, t, Select) != nil {
			continue
		}
		cols := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			cols[i] = quoteIdent(c.Name)
		}
		for _, alias := range s.publicNames(t) {
			ddl = append(ddl, fmt.Sprintf("CREATE TEMP VIEW %s AS SELECT %s FROM %s", quoteIdent(alias), strings.Join(cols, ", "), quoteIdent(h)))
			s.pol.views[alias] = true
		}
	}
	for _, q := range ddl {
		if _, err := s.conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("govsql: build views: %w", err)
		}
	}
	return nil
}

func (s *session) publicNames(t *Table) []string {
	out := []string{t.FullName()}
	if t.Catalog == s.cat {
		out = append(out, t.Schema+"."+t.Name)
		if t.Schema == s.sch {
			out = append(out, t.Name)
		}
	}
	return out
}

func (s *session) hiddenViewSQL(t *Table) (string, error) {
	cols := make([]string, 0, len(t.Columns)+1)
	if !t.IsView() {
		cols = append(cols, `rowid AS "__rid"`)
	}
	for _, c := range t.Columns {
		mask := t.Masks[c.Name]
		if mask == "" || s.p.Admin {
			cols = append(cols, quoteIdent(c.Name))
			continue
		}
		m, err := s.rewriteText(mask, namesHidden)
		if err != nil {
			return "", err
		}
		cols = append(cols, fmt.Sprintf("(%s) AS %s", m, quoteIdent(c.Name)))
	}
	var from string
	if t.IsView() {
		def, err := s.rewriteText(t.ViewSQL, namesDefiner)
		if err != nil {
			return "", err
		}
		from = fmt.Sprintf("(%s) AS %s", def, quoteIdent(t.Name))
	} else {
		from = "main." + quoteIdent(t.raw)
	}
	q := fmt.Sprintf("SELECT %s FROM %s", strings.Join(cols, ", "), from)
	if t.RowFilter != "" && !s.p.Admin {
		f, err := s.rewriteText(t.RowFilter, namesHidden)
		if err != nil {
			return "", err
		}
		q += " WHERE (" + f + ")"
	}
	return q, nil
}

func (s *session) rewriteText(text string, mode nameMode) (string, error) {
	toks, err := lex(text)
	if err != nil {
		return "", errSyntax(err.Error())
	}
	out, err := s.rewrite(toks, mode)
	if err != nil {
		return "", err
	}
	return render(out), nil
}

// lookupMissing explains a bare name SQLite could not find: a table in the
// current schema the principal may not read is a permission error.
func (s *session) lookupMissing(name string) error {
	p := splitName(name)
	var full string
	switch len(p) {
	case 1:
		full = s.cat + "." + s.sch + "." + p[0]
	case 2:
		full = s.cat + "." + p[0] + "." + p[1]
	case 3:
		full = strings.Join(p, ".")
	default:
		return nil
	}
	t := s.snap.tables[full]
	if t == nil {
		return errTableNotFound(strings.Split(full, ".")...)
	}
	return s.snap.check(s.p, t, Select)
}

func (s *session) mapErr(ctx context.Context, err error) error {
	return mapSQLiteError(ctx, err, s.pol.denied, s.lookupMissing)
}

// describeViewLocked compiles a view definition as an admin to learn its
// columns. e.mu is held.
func (e *Engine) describeViewLocked(ctx context.Context, v *Table) ([]Column, error) {
	snap := e.snapshotLocked()
	snap.tables[v.FullName()] = v
	var cols []Column
	err := e.withConn(ctx, func(c *sql.Conn, pol *policy) error {
		s := e.newSession(Principal{Name: v.Owner, Admin: true}, snap, v.Catalog, v.Schema, c, pol)
		def, err := s.rewriteText(v.ViewSQL, namesDefiner)
		if err != nil {
			return err
		}
		if err := s.buildViewsExcept(ctx, v.FullName()); err != nil {
			return err
		}
		rows, err := c.QueryContext(ctx, "SELECT * FROM ("+def+") LIMIT 0")
		if err != nil {
			return s.mapErr(ctx, err)
		}
		defer rows.Close()
		cts, err := rows.ColumnTypes()
		if err != nil {
			return err
		}
		for _, ct := range cts {
			ti, ok := typeFromDecl(ct.DatabaseTypeName())
			if !ok {
				ti = typeInfo{text: "STRING"}
			}
			cols = append(cols, Column{Name: strings.ToLower(ct.Name()), Type: ti.text})
		}
		return rows.Err()
	})
	return cols, err
}

// buildViewsExcept builds views for every table but one (a view being
// defined has no columns yet).
func (s *session) buildViewsExcept(ctx context.Context, skip string) error {
	saved := s.snap.tables[skip]
	delete(s.snap.tables, skip)
	defer func() { s.snap.tables[skip] = saved }()
	return s.buildViews(ctx)
}
