package sqlguard

import (
	"strings"
)

// Table names are best effort: they inform the approver and the audit
// record, and never decide whether a statement is read-only.

// nameAt parses a possibly qualified name at j: parts that are words,
// `backticked` or IDENTIFIER('literal'), joined by dots. It returns the
// lower-cased name without backticks and the index after it.
func (a *analyzer) nameAt(j int) (name string, next int, ok bool) {
	var b strings.Builder
	for j < len(a.t) {
		t := a.t[j]
		var part string
		switch {
		case t.kind == tkWord && t.up == "IDENTIFIER" && a.op(j+1, "("):
			end := a.after(j + 1)
			if end-j != 4 || a.t[j+2].kind != tkString {
				return "", end, false // the name is only known at run time
			}
			part = strings.ReplaceAll(unquote(a.text(j+2)), "`", "")
			j = end
		case t.kind == tkWord:
			part = a.text(j)
			j++
		case t.kind == tkQuoted:
			part = unquoteIdent(a.text(j))
			j++
		default:
			return "", j, false
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(part)
		if a.op(j, ".") && j+1 < len(a.t) && (a.t[j+1].kind == tkWord || a.t[j+1].kind == tkQuoted) {
			j++
			continue
		}
		break
	}
	if b.Len() == 0 {
		return "", j, false
	}
	return strings.ToLower(b.String()), j, true
}

// unquoteIdent strips the backticks of a `quoted` identifier.
func unquoteIdent(s string) string {
	if len(s) >= 2 && s[0] == '`' && s[len(s)-1] == '`' {
		s = s[1 : len(s)-1]
	}
	return strings.ReplaceAll(s, "``", "`")
}

// unquote returns the value of a string literal token, best effort (escapes
// other than the quote and backslash are kept as written).
func unquote(s string) string {
	v, ok := unescapeString(s)
	if !ok {
		return s
	}
	return v
}

// unescapeString returns the value of a string literal token. ok is false
// when the literal uses an escape whose value is not certain (\u, octal),
// so callers that must be exact can give up.
func unescapeString(s string) (string, bool) {
	raw := false
	if len(s) > 0 && (s[0] == 'r' || s[0] == 'R') {
		raw = true
		s = s[1:]
	}
	if len(s) < 2 {
		return "", false
	}
	s = s[1 : len(s)-1]
	if raw || strings.IndexByte(s, '\\') < 0 {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch e := s[i]; e {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'b':
			b.WriteByte('\b')
		case 'Z':
			b.WriteByte(0x1a)
		case '%', '_':
			b.WriteByte('\\')
			b.WriteByte(e)
		case 'u', '0', '1', '2', '3', '4', '5', '6', '7':
			return "", false
		default:
			b.WriteByte(e)
		}
	}
	return b.String(), true
}

func (a *analyzer) addTarget(j int) {
	if j < len(a.t) && a.t[j].kind == tkString {
		a.v.targets = append(a.v.targets, unquote(a.text(j)))
		return
	}
	if name, _, ok := a.nameAt(j); ok {
		a.v.targets = append(a.v.targets, name)
	}
}

func (a *analyzer) addSource(j int) {
	if name, _, ok := a.nameAt(j); ok && !a.ctes[name] {
		a.v.sources = append(a.v.sources, name)
	}
}

// collectCTEs records the names that WITH clauses define anywhere in the
// statement, so that reading a CTE is not reported as reading a table.
func (a *analyzer) collectCTEs() {
	for k, t := range a.t {
		if t.kind == tkWord && t.up == "WITH" {
			_, names, _ := a.parseCTEs(k)
			for _, n := range names {
				if a.ctes == nil {
					a.ctes = map[string]bool{}
				}
				a.ctes[n] = true
			}
		}
	}
}

// parseCTEs parses "WITH [RECURSIVE] name [(cols)] AS (query), ..." at i and
// returns the index of the statement body that follows.
func (a *analyzer) parseCTEs(i int) (body int, names []string, ok bool) {
	j := a.skip(i+1, "RECURSIVE")
	for {
		name, next, ok := a.nameAt(j)
		if !ok {
			return i + 1, names, false
		}
		j = next
		if a.op(j, "(") {
			j = a.after(j)
		}
		j = a.skip(j, "AS", "NOT", "MATERIALIZED")
		if !a.op(j, "(") {
			return i + 1, names, false
		}
		j = a.after(j)
		names = append(names, name)
		if a.op(j, ",") {
			j++
			continue
		}
		return j, names, true
	}
}

// specialFrom are functions whose arguments use FROM without naming a table:
// EXTRACT(YEAR FROM d), TRIM(BOTH 'x' FROM s), SUBSTRING(s FROM 1), ...
var specialFrom = map[string]bool{"EXTRACT": true, "TRIM": true, "SUBSTRING": true, "SUBSTR": true, "POSITION": true, "OVERLAY": true}

// sources records the tables named after FROM and JOIN in [from, to).
func (a *analyzer) sources(from, to int) {
	var special []bool
	for k := from; k < to; k++ {
		t := a.t[k]
		switch {
		case isOp(t, "("):
			special = append(special, specialFrom[a.kw(k-1)])
		case isOp(t, ")"):
			if len(special) > 0 {
				special = special[:len(special)-1]
			}
		case t.kind != tkWord:
		case t.up == "FROM":
			if len(special) == 0 || !special[len(special)-1] {
				a.tableRefs(k+1, to)
			}
		case t.up == "JOIN":
			a.tableRefs(k+1, to)
		}
	}
}

// refStop are the words that end a table reference in a FROM clause.
var refStop = map[string]bool{
	"WHERE": true, "GROUP": true, "HAVING": true, "ORDER": true, "LIMIT": true, "OFFSET": true,
	"JOIN": true, "INNER": true, "LEFT": true, "RIGHT": true, "FULL": true, "CROSS": true,
	"NATURAL": true, "SEMI": true, "ANTI": true, "ON": true, "USING": true, "UNION": true,
	"EXCEPT": true, "INTERSECT": true, "MINUS": true, "WINDOW": true, "LATERAL": true,
	"PIVOT": true, "UNPIVOT": true, "SELECT": true, "INSERT": true, "CLUSTER": true,
	"DISTRIBUTE": true, "SORT": true, "QUALIFY": true, "MAP": true, "REDUCE": true,
	"WHEN": true, "SET": true, "VALUES": true,
}

// tableRefs reads "t [alias], u [alias], ..." starting at j.
func (a *analyzer) tableRefs(j, to int) {
	for j < to {
		if a.op(j, "(") || refStop[a.kw(j)] || a.kw(j) == "STREAM" {
			return
		}
		name, next, ok := a.nameAt(j)
		if !ok {
			return
		}
		if a.op(next, "(") {
			next = a.after(next) // a table-valued function, not a table
		} else if !a.ctes[name] {
			a.v.sources = append(a.v.sources, name)
		}
		j = next
		for {
			// FROM ends the reference too (FROM t FROM u is not Spark, but
			// without this stop every FROM would rescan the rest of the
			// statement, quadratic work for hostile input).
			if j >= to || refStop[a.kw(j)] || a.kw(j) == "FROM" || a.t[j].kind == tkSemi || a.op(j, ")") || a.op(j, "|>") {
				return
			}
			if a.op(j, "(") {
				j = a.after(j)
				continue
			}
			j++
			if a.op(j-1, ",") {
				break
			}
		}
	}
}

// collectAll is the best-effort table scan for statements that are not
// understood: tables after FROM/JOIN are read, after INTO/UPDATE/TABLE are
// written.
func (a *analyzer) collectAll(i int) {
	for k := i; k < len(a.t); k++ {
		switch a.kw(k) {
		case "INTO", "UPDATE":
			a.addTarget(a.skip(k+1, "TABLE"))
		case "TABLE":
			if a.kw(k-1) != "" {
				a.addTarget(a.skip(k+1, "IF", "NOT", "EXISTS"))
			}
		}
	}
	a.sources(i, len(a.t))
}

// multiInsert handles FROM src INSERT INTO t SELECT ... [INSERT ...]: a
// write. It reports false when there is no INSERT at the top level.
func (a *analyzer) multiInsert(from int) bool {
	found, overwrite := false, false
	for k := from; k < len(a.t); k++ {
		if a.op(k, "(") {
			k = a.after(k) - 1
			continue
		}
		if a.kw(k) != "INSERT" {
			continue
		}
		found = true
		if a.kw(k+1) == "OVERWRITE" {
			overwrite = true
		}
		j := a.skip(k+1, "INTO", "OVERWRITE", "TABLE", "LOCAL")
		if a.kw(j) == "DIRECTORY" {
			j++
		}
		a.addTarget(j)
	}
	if !found {
		return false
	}
	a.v.class = ClassWrite
	a.v.because("FROM ... INSERT writes to tables")
	if overwrite {
		a.v.raise(RiskHigh)
		a.v.because("INSERT OVERWRITE replaces existing data")
	} else {
		a.v.raise(RiskMedium)
	}
	a.sources(0, len(a.t))
	return true
}
