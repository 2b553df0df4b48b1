package sqlguard

// The risk of DELETE and UPDATE depends on their WHERE: without one, or with
// one that does not depend on the row, they change every row.

// whereRisk: UPDATE and DELETE without a WHERE (or with one that is always
// true) change every row.
func (a *analyzer) whereRisk(i int, what, verb string) {
	w := a.findTop(i, "WHERE")
	switch {
	case w < 0:
		a.set(ClassWrite, RiskHigh, "%s without WHERE %s every row", what, verb)
	case a.alwaysTrue(w+1, len(a.t)):
		a.set(ClassWrite, RiskHigh, "%s with an always-true WHERE %s every row", what, verb)
	case a.constantCondition(w+1, len(a.t)):
		a.set(ClassWrite, RiskHigh, "%s with a WHERE that names no column: the condition does not depend on the row, so it can match (and %s) every row", what, verb)
	default:
		a.set(ClassWrite, RiskMedium, "%s with WHERE %s the rows it matches", what, verb)
	}
}

// alwaysTrue recognises the common tautologies (TRUE, NOT FALSE, 1 = 1,
// x = x) as a whole condition or as one side of a top-level OR.
func (a *analyzer) alwaysTrue(from, to int) bool {
	start := from
	for k := from; k <= to; k++ {
		if k < to && a.op(k, "(") {
			k = a.after(k) - 1
			continue
		}
		if k == to || a.kw(k) == "OR" {
			if a.trivial(start, k) {
				return true
			}
			start = k + 1
		}
	}
	return false
}

// Words that can appear in a condition without naming a column. Keywords
// are that everywhere; the others only where their place says so, because
// date, year or string are also common column names.
var (
	constantKeywords = map[string]bool{
		"TRUE": true, "FALSE": true, "NULL": true, "UNKNOWN": true, "NOT": true, "AND": true, "OR": true,
		"IS": true, "IN": true, "BETWEEN": true, "LIKE": true, "ILIKE": true, "RLIKE": true, "REGEXP": true,
		"ESCAPE": true, "CASE": true, "WHEN": true, "THEN": true, "ELSE": true, "END": true, "AS": true,
		"DISTINCT": true, "FROM": true, "TO": true, "CURRENT_DATE": true, "CURRENT_TIMESTAMP": true,
		"CURRENT_USER": true, "SESSION_USER": true,
	}
	// literalPrefixes start a typed literal when a string follows: DATE '...'.
	literalPrefixes = map[string]bool{"DATE": true, "TIMESTAMP": true, "TIMESTAMP_NTZ": true, "TIMESTAMP_LTZ": true, "X": true, "INTERVAL": true}
	// typeNames follow AS in CAST(x AS INT) or :: in x::INT.
	typeNames = map[string]bool{
		"INT": true, "INTEGER": true, "BIGINT": true, "SMALLINT": true, "TINYINT": true, "LONG": true,
		"SHORT": true, "BYTE": true, "STRING": true, "VARCHAR": true, "CHAR": true, "DOUBLE": true,
		"FLOAT": true, "REAL": true, "DECIMAL": true, "DEC": true, "NUMERIC": true, "BOOLEAN": true,
		"BINARY": true, "DATE": true, "TIMESTAMP": true, "TIMESTAMP_NTZ": true, "TIMESTAMP_LTZ": true,
	}
	// intervalUnits follow a number or string in INTERVAL 1 DAY, '1' DAY TO HOUR.
	intervalUnits = map[string]bool{
		"YEAR": true, "YEARS": true, "MONTH": true, "MONTHS": true, "WEEK": true, "WEEKS": true, "DAY": true,
		"DAYS": true, "HOUR": true, "HOURS": true, "MINUTE": true, "MINUTES": true, "SECOND": true,
		"SECONDS": true,
	}
)

// constantWord reports whether the word at k, in a condition starting at
// from, stands for no column.
func (a *analyzer) constantWord(k, from int) bool {
	up := a.t[k].up
	prev := func(i int) tokKind {
		if i < from {
			return 0
		}
		return a.t[i].kind
	}
	switch {
	case constantKeywords[up]:
		return true
	case literalPrefixes[up] && k+1 < len(a.t) && (a.t[k+1].kind == tkString || (up == "INTERVAL" && a.t[k+1].kind == tkNumber)):
		return true
	case typeNames[up] && (a.kw(k-1) == "AS" || a.op(k-1, "::")):
		return true
	case intervalUnits[up] && (prev(k-1) == tkNumber || prev(k-1) == tkString || a.kw(k-1) == "TO"):
		return true
	case a.op(k-1, ":") && (k-2 < from || constantKeywords[a.kw(k-2)] ||
		(a.t[k-2].kind == tkOp && !a.op(k-2, ")") && !a.op(k-2, "]"))):
		// :name is a parameter marker, a value fixed for the statement
		// (unlike col:field, a path into a column)
		return true
	}
	return false
}

// constantCondition reports a condition in [from, to) that names no
// column: made only of literals, parameters, operators and function calls
// on those (1 < 2, current_date() > DATE'2000-01-01', :p = :p). Such a
// condition does not depend on the row, so it is no real bound. Any word
// that might be a column (including inside subqueries) makes the condition
// non-constant: the lower risk is kept whenever a column is plausibly
// involved.
func (a *analyzer) constantCondition(from, to int) bool {
	if from >= to {
		return false
	}
	for k := from; k < to; k++ {
		switch a.t[k].kind {
		case tkQuoted:
			return false
		case tkWord:
			isCall := a.op(k+1, "(") && !a.op(k-1, ".")
			if !isCall && !a.constantWord(k, from) {
				return false
			}
		}
	}
	return true
}

func (a *analyzer) trivial(from, to int) bool {
	for to-from >= 2 && a.op(from, "(") && a.match[from] == to-1 {
		from, to = from+1, to-1
	}
	switch to - from {
	case 1:
		return a.kw(from) == "TRUE"
	case 2:
		return a.kw(from) == "NOT" && a.kw(from+1) == "FALSE"
	case 3:
		eq := a.op(from+1, "=") || a.op(from+1, "==") || a.op(from+1, "<=>")
		l, r := a.t[from], a.t[from+2]
		return eq && l.kind == r.kind && l.kind != tkOp && a.text(from) == a.text(from+2)
	}
	return false
}
