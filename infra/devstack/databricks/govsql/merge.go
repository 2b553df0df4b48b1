package govsql

import (
	"context"
	"fmt"
	"strings"
)

// mergeClause is one WHEN [NOT] MATCHED clause.
type mergeClause struct {
	matched bool
	cond    []token // AND condition (rewritten), nil if none
	action  string  // UPDATE, DELETE, INSERT
	star    bool    // UPDATE SET * / INSERT *
	assign  []token // UPDATE SET assignments (rewritten)
	cols    []string
	values  []token // INSERT VALUES expressions (rewritten, without parentheses)
}

// merge runs MERGE INTO target USING source ON cond WHEN ... as a
// transaction of SQLite statements over the source as a common table
// expression: matched rows (only those the person can see) are updated or
// deleted first, then unmatched source rows are inserted ("INSERT ... WHERE
// NOT EXISTS", the equivalent of ON CONFLICT DO NOTHING for any ON).
func (s *session) merge(ctx context.Context, toks []token, req Request) (*Result, error) {
	i := nextSig(toks, nextSig(toks, -1))
	if i >= len(toks) || !toks[i].is("INTO") {
		return nil, errSyntax("expected MERGE INTO")
	}
	tg, err := s.parseTarget(toks, nextSig(toks, i), "USING")
	if err != nil {
		return nil, err
	}
	needSelect := false
	if tg.next >= len(toks) || !toks[tg.next].is("USING") {
		return nil, errSyntax("expected USING")
	}
	j := nextSig(toks, tg.next)
	var srcBody []token
	after := 0
	if j < len(toks) && toks[j].isPunct("(") {
		c := matchParen(toks, j)
		if c < 0 {
			return nil, errSyntax("unbalanced parentheses in USING")
		}
		if srcBody, err = s.rewrite(toks[j+1:c], namesUser); err != nil {
			return nil, err
		}
		after = nextSig(toks, c)
	} else if j < len(toks) && toks[j].isName() {
		_, end := nameAt(toks, j)
		name, err := s.rewrite(toks[j:end+1], namesUser)
		if err != nil {
			return nil, err
		}
		srcBody = append([]token{rawTok("SELECT * FROM ")}, name...)
		after = nextSig(toks, end)
	} else {
		return nil, errSyntax("expected a source after USING")
	}
	alias := "source"
	if after < len(toks) && toks[after].is("AS") {
		after = nextSig(toks, after)
	}
	if after < len(toks) && toks[after].isName() && !toks[after].is("ON") {
		alias = toks[after].val
		after = nextSig(toks, after)
	}
	var srcCols []string
	if after < len(toks) && toks[after].isPunct("(") {
		c := matchParen(toks, after)
		if c < 0 {
			return nil, errSyntax("unbalanced parentheses in source columns")
		}
		for _, t := range toks[after+1 : c] {
			if t.isName() {
				srcCols = append(srcCols, t.val)
			}
		}
		after = nextSig(toks, c)
	}
	if strings.EqualFold(alias, tg.alias) {
		return nil, errSyntax("the source and target of MERGE need different aliases")
	}
	if after >= len(toks) || !toks[after].is("ON") {
		return nil, errSyntax("expected ON")
	}
	starts := clauseStarts(toks, after)
	if len(starts) == 0 {
		return nil, errSyntax("MERGE needs at least one WHEN clause")
	}
	on, err := s.rewrite(toks[after+1:starts[0]], namesUser)
	if err != nil {
		return nil, err
	}
	var clauses []mergeClause
	for k, st := range starts {
		end := len(toks)
		if k+1 < len(starts) {
			end = starts[k+1]
		}
		c, err := s.parseClause(toks[st:end])
		if err != nil {
			return nil, err
		}
		if c.matched {
			needSelect = true
		}
		clauses = append(clauses, c)
	}
	if err := s.writable(tg.table, needSelect); err != nil {
		return nil, err
	}
	args, err := s.bindParams(req.Params)
	if err != nil {
		return nil, err
	}
	if err := s.buildViews(ctx); err != nil {
		return nil, err
	}
	cte := "WITH " + quoteIdent(alias)
	if len(srcCols) > 0 {
		q := make([]string, len(srcCols))
		for i, c := range srcCols {
			q[i] = quoteIdent(c)
		}
		cte += "(" + strings.Join(q, ", ") + ")"
	}
	cte += " AS (" + render(srcBody) + ") "
	s.pol.mode = modeUser
	if needsSourceColumns(clauses) {
		if srcCols, err = s.sourceColumns(ctx, cte, alias, args); err != nil {
			return nil, err
		}
	}
	stmts, kinds, err := s.mergeStatements(tg, clauses, cte, alias, render(on), srcCols)
	if err != nil {
		return nil, err
	}
	tx, err := s.conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, s.mapErr(ctx, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	counts := map[string]int64{}
	for k, q := range stmts {
		r, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return nil, s.mapErr(ctx, err)
		}
		n, _ := r.RowsAffected()
		counts[kinds[k]] += n
	}
	if err := tx.Commit(); err != nil {
		return nil, s.mapErr(ctx, err)
	}
	total := counts["UPDATE"] + counts["DELETE"] + counts["INSERT"]
	return countResult([]string{"num_affected_rows", "num_updated_rows", "num_deleted_rows", "num_inserted_rows"},
		total, counts["UPDATE"], counts["DELETE"], counts["INSERT"]), nil
}

// clauseStarts finds each top-level "WHEN [NOT] MATCHED" after i (WHEN inside
// CASE expressions is followed by neither).
func clauseStarts(toks []token, i int) []int {
	var out []int
	depth := 0
	for j := i; j < len(toks); j++ {
		switch {
		case toks[j].isPunct("("):
			depth++
		case toks[j].isPunct(")"):
			depth--
		case depth == 0 && toks[j].is("WHEN"):
			n := nextSig(toks, j)
			if n < len(toks) && (toks[n].is("MATCHED") || toks[n].is("NOT")) {
				out = append(out, j)
			}
		}
	}
	return out
}

func (s *session) parseClause(toks []token) (mergeClause, error) {
	var c mergeClause
	i := nextSig(toks, 0) // after WHEN
	if toks[i].is("NOT") {
		i = nextSig(toks, i)
	} else {
		c.matched = true
	}
	if i >= len(toks) || !toks[i].is("MATCHED") {
		return c, errSyntax("expected MATCHED")
	}
	i = nextSig(toks, i)
	if i < len(toks) && toks[i].is("BY") {
		by := nextSig(toks, i)
		if by < len(toks) && toks[by].is("SOURCE") {
			return c, errUnsupported("WHEN NOT MATCHED BY SOURCE")
		}
		i = nextSig(toks, by)
	}
	then := -1
	depth, cases := 0, 0
	for j := i; j < len(toks); j++ {
		switch {
		case toks[j].isPunct("("):
			depth++
		case toks[j].isPunct(")"):
			depth--
		case toks[j].is("CASE"):
			cases++
		case toks[j].is("END"):
			cases--
		case depth == 0 && cases == 0 && toks[j].is("THEN"):
			then = j
		}
		if then >= 0 {
			break
		}
	}
	if then < 0 {
		return c, errSyntax("expected THEN")
	}
	if i < then && toks[i].is("AND") {
		cond, err := s.rewrite(toks[i+1:then], namesUser)
		if err != nil {
			return c, err
		}
		c.cond = cond
	}
	a := nextSig(toks, then)
	if a >= len(toks) {
		return c, errSyntax("expected an action after THEN")
	}
	c.action = strings.ToUpper(toks[a].text)
	switch {
	case c.matched && c.action == "DELETE":
	case c.matched && c.action == "UPDATE":
		set := nextSig(toks, a)
		if set >= len(toks) || !toks[set].is("SET") {
			return c, errSyntax("expected UPDATE SET")
		}
		if st := nextSig(toks, set); st < len(toks) && toks[st].isPunct("*") {
			c.star = true
			break
		}
		assign, err := s.rewrite(toks[set+1:], namesUser)
		if err != nil {
			return c, err
		}
		c.assign = assign
	case !c.matched && c.action == "INSERT":
		n := nextSig(toks, a)
		if n < len(toks) && toks[n].isPunct("*") {
			c.star = true
			break
		}
		if n >= len(toks) || !toks[n].isPunct("(") {
			return c, errSyntax("expected INSERT (columns) VALUES (...)")
		}
		cl := matchParen(toks, n)
		for _, t := range toks[n+1 : max(cl, n+1)] {
			if t.isName() {
				c.cols = append(c.cols, t.val)
			}
		}
		v := nextSig(toks, cl)
		if v >= len(toks) || !toks[v].is("VALUES") {
			return c, errSyntax("expected VALUES")
		}
		open := nextSig(toks, v)
		closeV := matchParen(toks, open)
		if open >= len(toks) || closeV < 0 {
			return c, errSyntax("expected VALUES (...)")
		}
		vals, err := s.rewrite(toks[open+1:closeV], namesUser)
		if err != nil {
			return c, err
		}
		c.values = vals
	default:
		return c, errUnsupported(fmt.Sprintf("MERGE action %s in this clause", c.action))
	}
	return c, nil
}

func needsSourceColumns(cs []mergeClause) bool {
	for _, c := range cs {
		if c.star {
			return true
		}
	}
	return false
}

func (s *session) sourceColumns(ctx context.Context, cte, alias string, args []any) ([]string, error) {
	rows, err := s.conn.QueryContext(ctx, cte+"SELECT * FROM "+quoteIdent(alias)+" LIMIT 0", args...)
	if err != nil {
		return nil, s.mapErr(ctx, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, s.mapErr(ctx, err)
	}
	return cols, rows.Err()
}

// mergeStatements turns the clauses into SQLite statements. A clause applies
// only to rows no earlier clause of its kind took.
func (s *session) mergeStatements(tg *target, clauses []mergeClause, cte, alias, on string, srcCols []string) ([]string, []string, error) {
	t := tg.table
	ta, sa := quoteIdent(tg.alias), quoteIdent(alias)
	hidden := quoteIdent(s.hidden[t.FullName()])
	var stmts, kinds []string
	for _, matched := range []bool{true, false} {
		var prior []string
		for _, c := range clauses {
			if c.matched != matched {
				continue
			}
			conds := append([]string(nil), prior...)
			if c.cond != nil {
				conds = append(conds, "("+render(c.cond)+")")
			}
			extra := ""
			if len(conds) > 0 {
				extra = " AND " + strings.Join(conds, " AND ")
			}
			switch c.action {
			case "UPDATE":
				assign := render(c.assign)
				if c.star {
					var parts []string
					for _, col := range srcCols {
						if _, ok := t.column(col); ok {
							parts = append(parts, fmt.Sprintf("%s = %s.%s", quoteIdent(strings.ToLower(col)), sa, quoteIdent(col)))
						}
					}
					assign = strings.Join(parts, ", ")
				}
				stmts = append(stmts, fmt.Sprintf(`%sUPDATE %s AS %s SET %s FROM %s WHERE (%s)%s AND %s.rowid IN (SELECT "__rid" FROM %s)`,
					cte, s.rawName(t), ta, assign, sa, on, extra, ta, hidden))
			case "DELETE":
				stmts = append(stmts, fmt.Sprintf(`%sDELETE FROM %s WHERE rowid IN (SELECT %s."__rid" FROM %s AS %s, %s WHERE (%s)%s)`,
					cte, s.rawName(t), ta, hidden, ta, sa, on, extra))
			case "INSERT":
				cols, vals := c.cols, render(c.values)
				if c.star {
					cols = nil
					var vs []string
					for _, col := range srcCols {
						if _, ok := t.column(col); ok {
							cols = append(cols, col)
							vs = append(vs, sa+"."+quoteIdent(col))
						}
					}
					vals = strings.Join(vs, ", ")
				}
				if len(cols) == 0 {
					return nil, nil, errSyntax("INSERT * found no source column matching the target")
				}
				q := make([]string, len(cols))
				for i, col := range cols {
					q[i] = quoteIdent(strings.ToLower(col))
				}
				stmts = append(stmts, fmt.Sprintf(`%sINSERT INTO %s (%s) SELECT %s FROM %s WHERE NOT EXISTS (SELECT 1 FROM %s AS %s WHERE (%s))%s`,
					cte, s.rawName(t), strings.Join(q, ", "), vals, sa, hidden, ta, on, extra))
			}
			kinds = append(kinds, c.action)
			if c.cond == nil {
				break // an unconditional clause takes every remaining row
			}
			prior = append(prior, "NOT ("+render(c.cond)+")")
		}
	}
	return stmts, kinds, nil
}
