package sqlguard

import (
	"fmt"
	"slices"
)

// verdict is the analysis of one statement before policies are applied.
type verdict struct {
	class     Class
	risk      Risk
	targets   []string // objects written or changed
	sources   []string // tables read
	reasons   []string
	ambiguous bool // set from the lexer; see Classifier.judge
}

// maxReasons bounds the reasons kept, so that hostile input cannot make the
// result (or the time spent de-duplicating it) grow without bound.
const maxReasons = 16

func (v *verdict) because(format string, args ...any) {
	if len(v.reasons) >= maxReasons {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if !slices.Contains(v.reasons, msg) {
		v.reasons = append(v.reasons, msg)
	}
}

// raise sets the class (unless already decided) and raises the risk.
func (v *verdict) raise(r Risk) { v.risk = max(v.risk, r) }

func (v verdict) tableList() []string {
	out := make([]string, 0, len(v.targets)+len(v.sources))
	seen := make(map[string]bool, cap(out))
	for _, list := range [][]string{v.targets, v.sources} {
		for _, t := range list {
			if t != "" && !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out
}

// analyzer looks at the tokens of one statement.
type analyzer struct {
	c       *Classifier
	src     string
	t       []token
	match   []int // for each '(' the index of its ')', -1 if unmatched
	open    []int // for each ')' the index of its '(', -1 if unmatched
	depth   int   // dispatch recursion (EXPLAIN EXPLAIN ..., WITH ... WITH ...)
	broken  bool  // unbalanced parentheses: Spark cannot parse it
	ctes    map[string]bool
	nesting int
	v       verdict
}

func newAnalyzer(c *Classifier, src string, toks []token, nesting int) *analyzer {
	a := &analyzer{c: c, src: src, t: toks, nesting: nesting}
	a.match = make([]int, len(toks))
	a.open = make([]int, len(toks))
	var stack []int
	for i, t := range toks {
		a.match[i] = -1
		a.open[i] = -1
		if t.kind != tkOp {
			continue
		}
		switch t.up {
		case "(":
			stack = append(stack, i)
		case ")":
			if len(stack) == 0 {
				a.broken = true
				continue
			}
			a.match[stack[len(stack)-1]] = i
			a.open[i] = stack[len(stack)-1]
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 {
		a.broken = true
	}
	return a
}

// kw returns the upper-cased keyword at i, or "" if toks[i] is not a word.
func (a *analyzer) kw(i int) string {
	if i < 0 || i >= len(a.t) || a.t[i].kind != tkWord {
		return ""
	}
	return a.t[i].up
}

func (a *analyzer) op(i int, op string) bool {
	return i >= 0 && i < len(a.t) && isOp(a.t[i], op)
}

// skip returns the first index at or after j that is not one of words.
func (a *analyzer) skip(j int, words ...string) int {
	for j < len(a.t) && a.t[j].kind == tkWord && slices.Contains(words, a.t[j].up) {
		j++
	}
	return j
}

func (a *analyzer) text(i int) string { return a.src[a.t[i].start:a.t[i].end] }

// after returns the index after the group opened at i, or len if unmatched.
func (a *analyzer) after(i int) int {
	if m := a.match[i]; m >= 0 {
		return m + 1
	}
	return len(a.t)
}

// run classifies the statement and applies the effect scan to it.
func (a *analyzer) run() verdict {
	a.collectCTEs()
	a.dispatch(0)
	a.effects()
	if a.broken {
		a.notRead("unbalanced parentheses")
	}
	if a.v.class == ClassRead {
		a.readGuards()
	}
	return a.v
}

// readGuards applies, to every read whatever its shape, the token checks
// that do not depend on knowing the statement: a read path that forgot its
// deny scan still cannot let these through.
func (a *analyzer) readGuards() {
	hints := 0
	for _, t := range a.t {
		switch {
		case t.kind == tkDollar:
			a.notRead("dollar-quoted string outside a function body")
		case t.kind == tkInvalid:
			a.notRead("contains characters that Spark does not recognise")
		case t.kind == tkHintStart:
			hints++
		case isOp(t, "*/"):
			hints--
		}
		if hints < 0 {
			a.notRead("*/ outside a comment or hint")
			hints = 0
		}
	}
	if hints != 0 {
		a.notRead("unclosed hint /*+")
	}
}

// notRead turns a read verdict into unknown (with reasons) and raises risk.
func (a *analyzer) notRead(format string, args ...any) {
	if a.v.class == ClassRead {
		a.v.class = ClassUnknown
		a.v.risk = RiskHigh
		a.v.reasons = nil
	}
	a.v.because(format, args...)
}

func (a *analyzer) set(cl Class, r Risk, format string, args ...any) {
	a.v.class = cl
	a.v.raise(r)
	a.v.because(format, args...)
}

var queryStarts = map[string]bool{"SELECT": true, "VALUES": true, "TABLE": true, "FROM": true, "WITH": true}

// maxDepth bounds statements wrapped in statements (EXPLAIN EXPLAIN ...).
const maxDepth = 8

func (a *analyzer) dispatch(i int) {
	a.depth++
	defer func() { a.depth-- }()
	if a.depth > maxDepth {
		a.set(ClassUnknown, RiskHigh, "statements nested too deeply")
		return
	}
	if a.op(i, "(") {
		a.query(i)
		return
	}
	k := a.kw(i)
	switch k {
	case "":
		a.set(ClassUnknown, RiskHigh, "the statement does not start with a keyword")
	case "SELECT", "VALUES", "TABLE", "FROM", "WITH":
		a.query(i)
	case "MAP", "REDUCE":
		a.set(ClassUnknown, RiskCritical, "%s ... USING is a script transformation that runs an external command", k)
	case "SHOW":
		a.show(i)
	case "DESCRIBE", "DESC":
		a.describe(i)
	case "EXPLAIN":
		a.explain(i)
	case "LIST":
		a.list(i)
	case "INSERT", "UPDATE", "DELETE", "MERGE", "COPY", "LOAD", "PUT", "REMOVE":
		a.write(i)
	case "REPLACE":
		if a.kw(i+1) == "INTO" {
			a.write(i)
		} else {
			a.ddl(i)
		}
	case "CREATE", "ALTER", "DROP", "TRUNCATE", "ANALYZE", "REFRESH", "CACHE", "UNCACHE", "CLEAR",
		"MSCK", "REPAIR", "OPTIMIZE", "VACUUM", "RESTORE", "FSCK", "CONVERT", "COMMENT", "SYNC",
		"UNDROP", "GENERATE", "REORG":
		a.ddl(i)
	case "GRANT", "REVOKE", "DENY":
		a.dcl(i)
	case "SET", "RESET", "USE", "ADD", "DECLARE", "COMMIT", "ROLLBACK":
		a.session(i)
	case "EXECUTE":
		a.execute(i)
	case "CALL":
		a.set(ClassUnknown, RiskHigh, "CALL runs a stored procedure whose effects are unknown")
		a.collectAll(i)
	default:
		if isCompoundStart(a.t[i:]) {
			a.set(ClassUnknown, RiskHigh, "SQL script block (BEGIN ... END): its statements run with effects that are not checked one by one")
			a.collectAll(i)
			return
		}
		a.set(ClassUnknown, RiskHigh, "unrecognised statement starting with %s", k)
		a.collectAll(i)
	}
}

// query handles statements that start like a query: SELECT, VALUES, TABLE,
// FROM, WITH, or "(". Spark also accepts DML behind WITH and FROM
// (WITH x AS (...) INSERT ..., FROM t INSERT INTO ...), which are writes.
func (a *analyzer) query(i int) {
	body := i
	if a.kw(i) == "WITH" {
		b, _, ok := a.parseCTEs(i)
		if !ok || b >= len(a.t) {
			a.set(ClassUnknown, RiskHigh, "WITH clause that cannot be parsed")
			a.collectAll(i)
			return
		}
		body = b
		switch a.kw(body) {
		case "SELECT", "VALUES", "TABLE", "FROM", "MAP", "REDUCE":
		default:
			if !a.op(body, "(") {
				// WITH ... INSERT/UPDATE/DELETE/MERGE, or something unknown.
				a.dispatch(body)
				a.sources(i, body)
				if a.v.class == ClassRead {
					// WITH ... SHOW / DESCRIBE / SET: not a query, so not
					// a shape known to be read-only.
					a.notRead("WITH is followed by %s, not by a query", a.kw(body))
				}
				return
			}
		}
	}
	if a.kw(body) == "FROM" {
		if a.multiInsert(body) {
			return
		}
	}
	a.v.class = ClassRead
	a.v.because("read-only query")
	if a.kw(body) == "TABLE" {
		a.addSource(body + 1)
	}
	a.sources(i, len(a.t))
	a.denyScan(i)
}

// show: SHOW statements only display metadata.
func (a *analyzer) show(i int) {
	a.v.class = ClassRead
	a.v.because("SHOW only displays metadata")
	// The word after SHOW may be CREATE (SHOW CREATE TABLE) or GRANT
	// (SHOW GRANT ON ...); everything else gets the deny scan.
	from := i + 1
	if k := a.kw(i + 1); k == "CREATE" || k == "GRANT" {
		from = i + 2
	}
	a.denyScan(from)
	j := i + 1
	switch {
	case a.kw(j) == "CREATE" && a.kw(j+1) == "TABLE":
		a.addSource(j + 2)
	case a.kw(j) == "TBLPROPERTIES" || a.kw(j) == "PARTITIONS":
		a.addSource(j + 1)
	case a.kw(j) == "COLUMNS" && (a.kw(j+1) == "IN" || a.kw(j+1) == "FROM"):
		a.addSource(j + 2)
	}
}

// describe: DESCRIBE of a table or other object is a read; DESCRIBE [QUERY]
// of a query is as safe as the query.
func (a *analyzer) describe(i int) {
	j := i + 1
	if a.kw(j) == "QUERY" {
		j++
	}
	if a.op(j, "(") || (queryStarts[a.kw(j)] && a.kw(j) != "TABLE") || a.kw(j) == "MAP" || a.kw(j) == "REDUCE" {
		a.wrapped(i, j, "DESCRIBE")
		return
	}
	a.v.class = ClassRead
	a.v.because("DESCRIBE only displays metadata")
	j = a.skip(j, "TABLE", "EXTENDED", "FORMATTED", "HISTORY", "DETAIL")
	switch a.kw(j) {
	case "FUNCTION", "DATABASE", "SCHEMA", "CATALOG", "NAMESPACE", "VOLUME", "CONNECTION",
		"SHARE", "RECIPIENT", "PROVIDER", "CREDENTIAL", "STORAGE", "EXTERNAL", "LOCATION", "PROCEDURE":
		j = len(a.t) // not a table
	}
	if j < len(a.t) {
		a.addSource(j)
	}
	a.denyScan(i)
}

// explain: Spark plans but does not run the explained statement. EXPLAIN of
// a read is a read; EXPLAIN of anything else is treated as that statement,
// with its class and risk, because being wrong about "not run" would be
// costly: EXPLAIN of EXECUTE IMMEDIATE, CALL or a script depends on how
// each Spark version analyses them, and a low risk here would let
// "EXPLAIN <a DROP>" skip the four-eyes policy that the DROP needs.
func (a *analyzer) explain(i int) {
	j := a.skip(i+1, "EXTENDED", "CODEGEN", "COST", "FORMATTED", "LOGICAL")
	if j >= len(a.t) {
		a.set(ClassUnknown, RiskHigh, "EXPLAIN without a statement")
		return
	}
	if a.kw(j) == "ANALYZE" && a.kw(j+1) != "TABLE" && a.kw(j+1) != "TABLES" {
		a.set(ClassUnknown, RiskHigh, "EXPLAIN ANALYZE runs the statement in other engines; not accepted")
		a.collectAll(j)
		return
	}
	a.wrapped(i, j, "EXPLAIN")
}

// wrapped classifies the statement at j that a DESCRIBE or EXPLAIN at i
// wraps.
func (a *analyzer) wrapped(i, j int, what string) {
	outer := a.v
	a.v = verdict{}
	a.dispatch(j)
	inner := a.v
	a.v = outer
	a.v.targets = append(a.v.targets, inner.targets...)
	a.v.sources = append(a.v.sources, inner.sources...)
	if inner.class == ClassRead {
		a.v.class = ClassRead
		a.v.because("%s of a read-only statement", what)
		return
	}
	a.v.class = inner.class
	a.v.raise(inner.risk)
	a.v.because("%s of a %s statement: Spark only plans it, but it gets the same approval as the statement itself", what, inner.class)
	for _, r := range inner.reasons {
		a.v.because("%s", r)
	}
}

// list: LIST JAR|FILE|ARCHIVE shows session resources; LIST 'path' lists
// files in cloud storage (Databricks), a read unless it leaves the cloud.
func (a *analyzer) list(i int) {
	j := i + 1
	switch a.kw(j) {
	case "JAR", "JARS", "FILE", "FILES", "ARCHIVE", "ARCHIVES":
		a.v.class = ClassRead
		a.v.because("LIST only displays session resources")
		a.denyScan(i + 2)
		return
	}
	if j < len(a.t) && a.t[j].kind == tkString {
		a.v.class = ClassRead
		a.v.because("LIST only lists files")
		p := unquote(a.text(j))
		a.v.sources = append(a.v.sources, p)
		a.checkPath(p)
		a.denyScan(i)
		return
	}
	a.set(ClassUnknown, RiskHigh, "unrecognised LIST statement")
}
