package govsql

import (
	"context"
	"fmt"
	"strings"
)

// target is the table a data change statement writes.
type target struct {
	table *Table
	alias string
	next  int // index of the first token after the name and alias
}

// parseTarget reads "name [[AS] alias]" at toks[i] and resolves the name.
func (s *session) parseTarget(toks []token, i int, stop ...string) (*target, error) {
	if i >= len(toks) || !toks[i].isName() {
		return nil, errSyntax("expected a table name")
	}
	parts, end := nameAt(toks, i)
	t, err := s.resolveTable(parts)
	if err != nil {
		return nil, err
	}
	tg := &target{table: t, alias: t.Name, next: nextSig(toks, end)}
	if tg.next < len(toks) {
		n := toks[tg.next]
		isStop := func(tok token) bool {
			for _, w := range stop {
				if tok.is(w) {
					return true
				}
			}
			return false
		}
		switch {
		case n.is("AS"):
			a := nextSig(toks, tg.next)
			if a >= len(toks) || !toks[a].isName() {
				return nil, errSyntax("expected an alias after AS")
			}
			tg.alias, tg.next = toks[a].val, nextSig(toks, a)
		case n.isName() && !isStop(n) && !s.e.isKeyword(n):
			tg.alias, tg.next = n.val, nextSig(toks, tg.next)
		}
	}
	return tg, nil
}

// resolveTable resolves a 1-3 part name against the current catalog/schema.
func (s *session) resolveTable(parts []string) (*Table, error) {
	p := make([]string, len(parts))
	for i, x := range parts {
		p[i] = strings.ToLower(x)
	}
	switch len(p) {
	case 1:
		p = []string{s.cat, s.sch, p[0]}
	case 2:
		p = []string{s.cat, p[0], p[1]}
	case 3:
	default:
		return nil, errSyntax("table names have at most three parts")
	}
	if s.snap.catalogs[p[0]] == nil {
		return nil, errNoSuchCatalog(p[0])
	}
	t := s.snap.tables[strings.Join(p, ".")]
	if t == nil {
		if err := s.snap.canUse(s.p, p[0], ""); err != nil {
			return nil, err
		}
		return nil, errTableNotFound(p...)
	}
	return t, nil
}

// writable checks privileges for a data change and registers the target
// with the authorizer. UPDATE, DELETE and MERGE also read the table, so
// they need SELECT as well as MODIFY.
func (s *session) writable(t *Table, needSelect bool) error {
	if t.IsView() {
		return &Error{Class: "EXPECT_TABLE_NOT_VIEW", SQLState: "42809", Message: fmt.Sprintf("'%s' expects a table but %s is a view.", "data change", t.FullName())}
	}
	privs := []Privilege{Modify}
	if needSelect {
		privs = append(privs, Select)
	}
	if err := s.snap.check(s.p, t, privs...); err != nil {
		return err
	}
	masked := map[string]bool{}
	if !s.p.Admin {
		for c := range t.Masks {
			masked[c] = true
		}
	}
	s.pol.writes[strings.ToLower(t.raw)] = masked
	s.refs[t.FullName()] = t
	return nil
}

func (s *session) rawName(t *Table) string { return "main." + quoteIdent(t.raw) }

// topLevel finds the first depth-0 keyword among words at or after i.
func topLevel(toks []token, i int, words ...string) int {
	depth := 0
	for j := i; j < len(toks); j++ {
		switch {
		case toks[j].isPunct("("):
			depth++
		case toks[j].isPunct(")"):
			depth--
		case depth == 0:
			for _, w := range words {
				if toks[j].is(w) {
					return j
				}
			}
		}
	}
	return -1
}

// updateOrDelete rewrites
//
//	UPDATE t [AS a] SET ... [WHERE cond]   and   DELETE FROM t [AS a] [WHERE cond]
//
// so that only rows the person can see (through the filtered view, with
// masked values) are changed: the WHERE becomes "rowid IN (SELECT rowid of
// the filtered view WHERE cond)".
func (s *session) updateOrDelete(ctx context.Context, toks []token, req Request, kind stmtKind) (*Result, error) {
	i := nextSig(toks, nextSig(toks, -1)) // after UPDATE / DELETE
	if kind == kindDelete {
		if i >= len(toks) || !toks[i].is("FROM") {
			return nil, errSyntax("expected DELETE FROM")
		}
		i = nextSig(toks, i)
	} else if i < len(toks) && toks[i].is("OR") {
		return nil, errUnsupported("UPDATE OR ...")
	}
	tg, err := s.parseTarget(toks, i, "SET", "WHERE")
	if err != nil {
		return nil, err
	}
	if err := s.writable(tg.table, true); err != nil {
		return nil, err
	}
	var set []token
	condStart := -1
	if kind == kindUpdate {
		if tg.next >= len(toks) || !toks[tg.next].is("SET") {
			return nil, errSyntax("expected SET")
		}
		if j := topLevel(toks, tg.next, "FROM", "RETURNING", "ORDER", "LIMIT"); j >= 0 {
			return nil, errUnsupported("UPDATE with " + strings.ToUpper(toks[j].text))
		}
		w := topLevel(toks, tg.next, "WHERE")
		end := len(toks)
		if w >= 0 {
			end, condStart = w, w+1
		}
		if set, err = s.rewrite(toks[tg.next+1:end], namesUser); err != nil {
			return nil, err
		}
	} else if tg.next < len(toks) {
		if !toks[tg.next].is("WHERE") {
			return nil, errUnsupported("DELETE with " + strings.ToUpper(toks[tg.next].text))
		}
		condStart = tg.next + 1
	}
	var cond []token
	if condStart >= 0 {
		if j := topLevel(toks, condStart, "RETURNING", "ORDER", "LIMIT"); j >= 0 {
			return nil, errUnsupported("data change with " + strings.ToUpper(toks[j].text))
		}
		if cond, err = s.rewrite(toks[condStart:], namesUser); err != nil {
			return nil, err
		}
	}
	sel := fmt.Sprintf(`SELECT "__rid" FROM %s AS %s`, quoteIdent(s.hidden[tg.table.FullName()]), quoteIdent(tg.alias))
	if cond != nil {
		sel += " WHERE " + render(cond)
	}
	var q string
	if kind == kindUpdate {
		q = fmt.Sprintf("UPDATE %s AS %s SET %s WHERE rowid IN (%s)", s.rawName(tg.table), quoteIdent(tg.alias), render(set), sel)
	} else {
		q = fmt.Sprintf("DELETE FROM %s WHERE rowid IN (%s)", s.rawName(tg.table), sel)
	}
	n, err := s.execUser(ctx, q, req)
	if err != nil {
		return nil, err
	}
	return countResult([]string{"num_affected_rows"}, n), nil
}

// insert rewrites INSERT INTO t [(cols)] VALUES/SELECT ... to the physical
// table. Row filters do not apply to inserted rows (as in Unity Catalog).
func (s *session) insert(ctx context.Context, toks []token, req Request) (*Result, error) {
	i := nextSig(toks, nextSig(toks, -1))
	if i < len(toks) && (toks[i].is("OR") || toks[i].is("OVERWRITE")) {
		return nil, errUnsupported("INSERT " + strings.ToUpper(toks[i].text))
	}
	if i >= len(toks) || !toks[i].is("INTO") {
		return nil, errSyntax("expected INSERT INTO")
	}
	i = nextSig(toks, i)
	if i < len(toks) && toks[i].is("TABLE") {
		i = nextSig(toks, i)
	}
	if i >= len(toks) || !toks[i].isName() {
		return nil, errSyntax("expected a table name")
	}
	parts, end := nameAt(toks, i)
	t, err := s.resolveTable(parts)
	if err != nil {
		return nil, err
	}
	if err := s.writable(t, false); err != nil {
		return nil, err
	}
	rest := toks[nextSig(toks, end):]
	if j := topLevel(rest, 0, "ON", "RETURNING"); j >= 0 {
		return nil, errUnsupported("INSERT with " + strings.ToUpper(rest[j].text))
	}
	out, err := s.rewrite(rest, namesUser)
	if err != nil {
		return nil, err
	}
	n, err := s.execUser(ctx, "INSERT INTO "+s.rawName(t)+" "+render(out), req)
	if err != nil {
		return nil, err
	}
	return countResult([]string{"num_affected_rows", "num_inserted_rows"}, n, n), nil
}

// execUser builds the views, binds parameters and runs q as the person.
func (s *session) execUser(ctx context.Context, q string, req Request) (int64, error) {
	args, err := s.bindParams(req.Params)
	if err != nil {
		return 0, err
	}
	if err := s.buildViews(ctx); err != nil {
		return 0, err
	}
	s.pol.mode = modeUser
	r, err := s.conn.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, s.mapErr(ctx, err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return 0, s.mapErr(ctx, err)
	}
	return n, nil
}

func countResult(names []string, counts ...int64) *Result {
	res := &Result{}
	row := make([]*string, len(names))
	for i, n := range names {
		res.Columns = append(res.Columns, ResultColumn{Name: n, TypeName: "LONG", TypeText: "BIGINT"})
		v := fmt.Sprint(counts[i])
		row[i] = &v
	}
	res.Rows = [][]*string{row}
	return res
}
