package govsql

import (
	"fmt"
	"strings"
)

// nameMode says what a governed name becomes.
type nameMode int

const (
	// namesUser: the person's own statement. A name becomes the public
	// temporary view and needs SELECT.
	namesUser nameMode = iota
	// namesHidden: a row filter or mask. A name becomes the reader's
	// filtered view of that table, without a SELECT check (filters run with
	// their definer's rights).
	namesHidden
	// namesDefiner: a view definition. Tables are read unfiltered (the
	// view's owner's rights); the view's own filter and masks apply on top.
	namesDefiner
)

func nextSig(toks []token, i int) int {
	for j := i + 1; j < len(toks); j++ {
		if toks[j].significant() {
			return j
		}
	}
	return len(toks)
}

func prevSig(toks []token, i int) int {
	for j := i - 1; j >= 0; j-- {
		if toks[j].significant() {
			return j
		}
	}
	return -1
}

// matchParen returns the index of the ")" closing the "(" at i.
func matchParen(toks []token, i int) int {
	depth := 0
	for j := i; j < len(toks); j++ {
		switch {
		case toks[j].isPunct("("):
			depth++
		case toks[j].isPunct(")"):
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// nameAt reads a dotted name starting at toks[i]: its parts and the index
// of its last token.
func nameAt(toks []token, i int) ([]string, int) {
	parts := []string{toks[i].val}
	end := i
	for {
		d := nextSig(toks, end)
		if d >= len(toks) || !toks[d].isPunct(".") {
			break
		}
		m := nextSig(toks, d)
		if m >= len(toks) || !toks[m].isName() {
			break
		}
		parts = append(parts, toks[m].val)
		end = m
	}
	return parts, end
}

// rewrite turns Databricks SQL tokens into SQLite tokens for this session.
func (s *session) rewrite(toks []token, mode nameMode) ([]token, error) {
	var out []token
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch t.kind {
		case tkComment:
			// Comments never reach SQLite: a trailing "--" in a fragment the
			// engine embeds (a DML WHERE) would comment out what follows it.
			out = append(out, spaceTok())
			continue
		case tkDQuoted:
			// Databricks reads "text" as a string literal, SQLite as a name.
			out = append(out, stringTok(t.val))
			continue
		case tkParam:
			if t.val == "" || t.text[0] == '?' {
				return nil, &Error{Class: "UNBOUND_SQL_PARAMETER", SQLState: "42P02", Message: "Positional parameters (?) are not supported; use named parameter markers (:name)."}
			}
			s.usedParams[strings.ToLower(t.val)] = true
			out = append(out, t)
			continue
		case tkPunct:
			if t.text == "<=>" {
				out = append(out, rawTok(" IS "))
				continue
			}
			out = append(out, t)
			continue
		case tkIdent, tkQuoted:
		default:
			out = append(out, t)
			continue
		}
		if p := prevSig(toks, i); p >= 0 && toks[p].isPunct(".") {
			out = append(out, t)
			continue
		}
		if t.kind == tkIdent {
			repl, next, err := s.function(toks, i, mode)
			if err != nil {
				return nil, err
			}
			if repl != nil {
				out = append(out, repl...)
				i = next
				continue
			}
		}
		parts, end := nameAt(toks, i)
		if len(parts) < 2 {
			out = append(out, t)
			continue
		}
		repl, err := s.governedName(toks, i, end, parts, mode)
		if err != nil {
			return nil, err
		}
		if repl == nil {
			// Not a governed name (alias.column and the like): keep the first
			// part and let the loop handle the rest.
			out = append(out, t)
			continue
		}
		out = append(out, repl...)
		i = end
	}
	return out, nil
}

// governedName resolves a dotted name; nil means "not a governed name".
func (s *session) governedName(toks []token, start, end int, parts []string, mode nameMode) ([]token, error) {
	low := make([]string, len(parts))
	for i, p := range parts {
		low[i] = strings.ToLower(p)
	}
	var tbl *Table
	used := 0
	switch {
	case len(low) >= 3 && s.snap.catalogs[low[0]] != nil:
		tbl = s.snap.tables[low[0]+"."+low[1]+"."+low[2]]
		if tbl == nil {
			if s.snap.schemas[low[0]+"."+low[1]] == nil && mode == namesUser {
				if err := s.snap.canUse(s.p, low[0], ""); err != nil {
					return nil, err
				}
				return nil, errNoSuchSchema(low[0], low[1])
			}
			return nil, errTableNotFound(low[0], low[1], low[2])
		}
		used = 3
	case len(low) >= 2 && s.snap.schemas[s.cat+"."+low[0]] != nil && s.snap.tables[s.cat+"."+low[0]+"."+low[1]] != nil:
		tbl = s.snap.tables[s.cat+"."+low[0]+"."+low[1]]
		used = 2
	default:
		return nil, nil
	}
	if nx := nextSig(toks, end); nx < len(toks) && toks[nx].isPunct("(") && used == len(low) {
		return nil, errUnsupported("calling functions by qualified name")
	}
	if used < len(low) {
		// catalog.schema.table.column: qualify the column by the table's
		// implicit alias.
		repl := []token{identTok(tbl.Name)}
		for _, p := range parts[used:] {
			repl = append(repl, rawTok("."), identTok(p))
		}
		return repl, nil
	}
	var name []token
	switch mode {
	case namesUser:
		if err := s.snap.check(s.p, tbl, Select); err != nil {
			return nil, err
		}
		s.refs[tbl.FullName()] = tbl
		name = []token{identTok(tbl.FullName())}
	case namesHidden:
		name = []token{identTok(s.hidden[tbl.FullName()])}
	case namesDefiner:
		if tbl.IsView() {
			name = []token{identTok(s.hidden[tbl.FullName()])}
		} else {
			name = []token{rawTok("main."), identTok(tbl.raw)}
		}
	}
	if s.needsAlias(toks, start, end) {
		name = append(name, rawTok(" AS "), identTok(tbl.Name))
	}
	return name, nil
}

// needsAlias reports whether a table name in a FROM list lacks an alias; a
// rewritten name gets the table's own name as alias so that deals.amount
// still resolves after FROM main.sales.deals.
func (s *session) needsAlias(toks []token, start, end int) bool {
	p := prevSig(toks, start)
	if p < 0 {
		return false
	}
	prev := toks[p]
	if !(prev.is("FROM") || prev.is("JOIN") || prev.isPunct(",") || prev.is("UPDATE") || prev.is("INTO") || prev.is("USING")) {
		return false
	}
	n := nextSig(toks, end)
	if n >= len(toks) {
		return true
	}
	next := toks[n]
	switch {
	case next.is("AS"), next.kind == tkQuoted, next.kind == tkDQuoted:
		return false
	case next.kind == tkIdent && !s.e.isKeyword(next):
		return false
	}
	return true
}

// function replaces the Databricks functions whose value depends on who
// runs the statement, or on the emulator's clock, by literals; and rewrites
// CAST to SQLite types. It returns nil when toks[i] is none of those.
func (s *session) function(toks []token, i int, mode nameMode) ([]token, int, error) {
	name := strings.ToLower(toks[i].text)
	open := nextSig(toks, i)
	hasParen := open < len(toks) && toks[open].isPunct("(")
	emptyCall := -1
	if hasParen {
		if c := nextSig(toks, open); c < len(toks) && toks[c].isPunct(")") {
			emptyCall = c
		}
	}
	followedByDot := open < len(toks) && toks[open].isPunct(".")
	literal := func(tok token, bareOK bool) ([]token, int, error) {
		if emptyCall >= 0 {
			return []token{tok}, emptyCall, nil
		}
		if bareOK && !hasParen && !followedByDot {
			return []token{tok}, i, nil
		}
		return nil, i, nil
	}
	switch name {
	case "current_user", "session_user":
		return literal(stringTok(s.p.Name), true)
	case "user":
		return literal(stringTok(s.p.Name), false)
	case "current_catalog":
		return literal(stringTok(s.cat), false)
	case "current_schema", "current_database":
		return literal(stringTok(s.sch), false)
	case "current_date", "curdate":
		return literal(stringTok(s.now.Format(dateLayout)), name == "current_date")
	case "current_timestamp", "now", "localtimestamp":
		return literal(stringTok(s.now.Format(tsLayout)), name != "now")
	case "current_time":
		return literal(stringTok(s.now.Format("15:04:05")), true)
	case "is_member", "is_account_group_member":
		if !hasParen {
			return nil, i, nil
		}
		arg := nextSig(toks, open)
		closing := nextSig(toks, arg)
		if arg >= len(toks) || (toks[arg].kind != tkString && toks[arg].kind != tkDQuoted) || closing >= len(toks) || !toks[closing].isPunct(")") {
			return nil, 0, &Error{Class: "INVALID_PARAMETER_VALUE", SQLState: "22023", Message: name + "() takes one string literal (a group name)."}
		}
		v := "0"
		if s.p.Admin || s.p.IsMember(toks[arg].val) {
			v = "1"
		}
		return []token{rawTok(v)}, closing, nil
	case "cast", "try_cast":
		if !hasParen {
			return nil, i, nil
		}
		return s.cast(toks, open, mode)
	}
	return nil, i, nil
}

// cast rewrites CAST(expr AS type): SQLite's affinity rules would turn
// CAST(x AS STRING) into a number and CAST(d AS DATE) into a year.
func (s *session) cast(toks []token, open int, mode nameMode) ([]token, int, error) {
	closing := matchParen(toks, open)
	if closing < 0 {
		return nil, 0, errSyntax("unbalanced parentheses in CAST")
	}
	as := -1
	depth := 0
	for j := open + 1; j < closing; j++ {
		switch {
		case toks[j].isPunct("("):
			depth++
		case toks[j].isPunct(")"):
			depth--
		case depth == 0 && toks[j].is("AS"):
			as = j
		}
	}
	if as < 0 {
		return nil, 0, errSyntax("CAST needs AS type")
	}
	expr, err := s.rewrite(toks[open+1:as], mode)
	if err != nil {
		return nil, 0, err
	}
	var tb strings.Builder
	for _, t := range toks[as+1 : closing] {
		if t.significant() {
			tb.WriteString(strings.ToUpper(t.text))
		}
	}
	typ := tb.String()
	wrap := func(prefix, suffix string) []token {
		out := []token{rawTok(prefix)}
		out = append(out, expr...)
		return append(out, rawTok(suffix))
	}
	var out []token
	switch {
	case typ == "STRING" || strings.HasPrefix(typ, "VARCHAR") || strings.HasPrefix(typ, "CHAR"):
		out = wrap("CAST(", " AS TEXT)")
	case typ == "DATE":
		out = wrap("to_date(", ")")
	case strings.HasPrefix(typ, "TIMESTAMP"):
		out = wrap("to_timestamp(", ")")
	case typ == "INT" || typ == "INTEGER" || typ == "BIGINT" || typ == "LONG" || typ == "SMALLINT" || typ == "TINYINT" || typ == "SHORT" || typ == "BYTE" || typ == "BOOLEAN":
		out = wrap("CAST(", " AS INTEGER)")
	case typ == "DOUBLE" || typ == "FLOAT" || typ == "REAL":
		out = wrap("CAST(", " AS REAL)")
	case reDecimal.MatchString(typ):
		m := reDecimal.FindStringSubmatch(typ)
		scale := m[2]
		if scale == "" {
			scale = "0"
		}
		out = wrap("ROUND(CAST(", fmt.Sprintf(" AS REAL), %s)", scale))
	default:
		return nil, 0, errUnsupported("CAST to " + typ)
	}
	return out, closing, nil
}
