package sqlguard

import (
	"strings"
	"unicode/utf8"
)

// unsafeFunction says why calling a built-in function is not read-only.
type unsafeFunction struct {
	risk Risk
	why  string
}

const (
	whyReflect  = "can call arbitrary Java methods"
	whyExternal = "reaches outside the workspace"
	whySecret   = "reveals secrets"
	whySource   = "reads files or streams outside the governed tables"
	whyRegistry = "can contact an external schema registry"
)

// unsafeFunctions are built-ins with side effects or external reach. Names
// are matched on the last part of a (possibly qualified, backticked or
// double-quoted) name, so system.builtin.reflect, `reflect` and "reflect"
// are caught too.
var unsafeFunctions = map[string]unsafeFunction{
	"reflect":             {RiskCritical, whyReflect},
	"java_method":         {RiskCritical, whyReflect},
	"try_reflect":         {RiskCritical, whyReflect},
	"call_function":       {RiskCritical, "calls a function chosen by name at run time"},
	"http_request":        {RiskCritical, whyExternal},
	"remote_query":        {RiskCritical, "runs a query on an external database through a connection"},
	"secret":              {RiskCritical, whySecret},
	"try_secret":          {RiskCritical, whySecret},
	"list_secrets":        {RiskHigh, "lists secrets"},
	"read_files":          {RiskHigh, whySource},
	"read_kafka":          {RiskHigh, whySource},
	"read_kinesis":        {RiskHigh, whySource},
	"read_pubsub":         {RiskHigh, whySource},
	"read_pulsar":         {RiskHigh, whySource},
	"read_eventhubs":      {RiskHigh, whySource},
	"read_statestore":     {RiskHigh, whySource},
	"read_state_metadata": {RiskHigh, whySource},
	"cloud_files_state":   {RiskHigh, whySource},
	"stream":              {RiskHigh, "starts a streaming read"},
	"from_avro":           {RiskHigh, whyRegistry},
	"to_avro":             {RiskHigh, whyRegistry},
	"from_protobuf":       {RiskHigh, whyRegistry},
	"to_protobuf":         {RiskHigh, whyRegistry},
	"cloud_files":         {RiskHigh, whySource},
	"vector_search":       {RiskHigh, "queries a vector search index through a model serving endpoint"},
}

// unsafePrefixes catch whole families, including members added to
// Databricks after this list was written: every read_* reader is a
// connector to files or streams, every http_* function makes requests, and
// every ai_* function calls a model serving endpoint.
var unsafePrefixes = []struct {
	prefix string
	unsafeFunction
}{
	{"read_", unsafeFunction{RiskHigh, whySource}},
	{"http_", unsafeFunction{RiskCritical, whyExternal}},
	{"ai_", unsafeFunction{RiskHigh, "sends data to a model serving endpoint (possibly an external provider)"}},
}

// lookupUnsafe finds name (lower case, unqualified) in the lists above. The
// try_ variant of a function (try_reflect, try_secret, ...) has the same
// effects as the function.
func lookupUnsafe(name string) (unsafeFunction, bool) {
	for _, n := range []string{name, strings.TrimPrefix(name, "try_")} {
		if f, ok := unsafeFunctions[n]; ok {
			return f, true
		}
		for _, p := range unsafePrefixes {
			if strings.HasPrefix(n, p.prefix) {
				return p.unsafeFunction, true
			}
		}
	}
	return unsafeFunction{}, false
}

// effects scans the whole statement for calls and constructs with side
// effects. For reads they turn the verdict into unknown; for other
// statements they raise the risk and explain why.
func (a *analyzer) effects() {
	execute := a.kw(0) == "EXECUTE"
	for k, t := range a.t {
		switch {
		case isOp(t, "("):
			a.checkCall(k)
		case t.kind != tkWord:
		case t.up == "USING" && !execute && k+1 < len(a.t) && (a.t[k+1].kind == tkString || a.t[k+1].kind == tkDollar ||
			a.op(k+1, ":") || a.op(k+1, "?")):
			// A string (or a parameter marker standing for one) after USING
			// is the command of a script transformation; no other clause
			// takes a string there.
			a.unsafe(RiskCritical, "script transformation (TRANSFORM/MAP/REDUCE ... USING 'command') runs an external command")
		case t.up == "TRANSFORM" && a.op(k+1, "("):
			switch a.kw(a.after(k + 1)) {
			case "USING", "ROW", "RECORDWRITER":
				a.unsafe(RiskCritical, "script transformation (TRANSFORM ... USING 'command') runs an external command")
			}
		}
	}
}

// unsafe records an effect: a read becomes unknown; the risk is raised.
func (a *analyzer) unsafe(r Risk, format string, args ...any) {
	a.notRead(format, args...)
	a.v.raise(r)
}

// checkCall looks at the name before the '(' at k.
func (a *analyzer) checkCall(k int) {
	p := k - 1
	if p < 0 {
		return
	}
	if isOp(a.t[p], ")") {
		if o := a.opener(p); o > 0 && a.kw(o-1) == "IDENTIFIER" {
			a.unsafe(RiskHigh, "IDENTIFIER(...) used as a function name: the function cannot be checked")
		}
		return
	}
	var name string
	switch a.t[p].kind {
	case tkWord:
		if a.t[p].up == "IDENTIFIER" {
			a.identifierClause(k)
			return
		}
		name = strings.ToLower(a.text(p))
	case tkQuoted:
		name = strings.ToLower(unquoteIdent(a.text(p)))
	case tkString:
		// "reflect"(...) is a call of reflect when the session uses
		// spark.sql.ansi.doubleQuotedIdentifiers; in any other mode a
		// string before '(' does not parse, so checking it costs nothing.
		name = strings.ToLower(unquote(a.text(p)))
	default:
		return
	}
	// `system.builtin.reflect` in one pair of backticks is the same name.
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	a.checkFunctionName(name)
}

func (a *analyzer) checkFunctionName(name string) {
	for i := 0; i < len(name); i++ {
		if name[i] >= utf8.RuneSelf {
			a.unsafe(RiskHigh, "function name %q has non-ASCII characters (look-alike characters)", name)
			return
		}
	}
	if f, ok := lookupUnsafe(name); ok {
		a.unsafe(f.risk, "calls %s(), which %s", name, f.why)
		return
	}
	if a.c.unsafeFuncs[name] {
		a.unsafe(RiskHigh, "calls %s(), which is configured as unsafe", name)
	}
}

// identifierClause checks IDENTIFIER('name') used as a name; the literal is
// what Spark resolves, so it is checked like a function name when it is
// followed by '(' (handled in checkCall) and as a path otherwise.
func (a *analyzer) identifierClause(k int) {
	end := a.after(k)
	if end-k == 3 && a.t[k+1].kind == tkString {
		lit := a.text(k + 1)
		if strings.IndexByte(lit, '\\') >= 0 {
			a.unsafe(RiskHigh, "IDENTIFIER(...) with escapes in its name")
		}
		// IDENTIFIER('json.`file:///etc/x`') names a path just like the
		// unquoted form does.
		for _, part := range nameParts(unquote(lit)) {
			a.checkPath(part)
		}
		return
	}
	// IDENTIFIER(expression) or IDENTIFIER(:param) names a table, column or
	// function only known at run time.
	if end < len(a.t) && a.op(end, "(") {
		a.unsafe(RiskHigh, "IDENTIFIER(...) used as a function name: the function cannot be checked")
	}
}

// opener returns the index of the '(' matching the ')' at c, or -1.
func (a *analyzer) opener(c int) int { return a.open[c] }

// denyWords never appear in a read statement outside of a name; finding one
// means the statement is something else (or something this package does
// not know), so it is not read-only. strong words are never excused.
var denyWords = map[string]bool{
	"INSERT": true, "UPDATE": true, "DELETE": true, "MERGE": true, "UPSERT": true,
	"REPLACE": false, "OVERWRITE": false, "INTO": false, "DROP": false, "CREATE": false,
	"ALTER": false, "TRUNCATE": false, "GRANT": false, "REVOKE": false, "DENY": false,
	"COPY": false, "LOAD": false, "CALL": false, "EXECUTE": false, "IMMEDIATE": false,
	"OPTIMIZE": false, "VACUUM": false, "RESTORE": false, "CACHE": false, "UNCACHE": false,
	"REFRESH": false, "MSCK": false, "ANALYZE": false, "SET": false, "RESET": false,
	"USE": false, "DECLARE": false, "COMMIT": false, "ROLLBACK": false, "UNDROP": false,
	"STREAM": false,
}

// denyScan checks a read statement from i on for anything that does not
// belong in a read.
func (a *analyzer) denyScan(i int) {
	hints := 0
	for k := i; k < len(a.t); k++ {
		t := a.t[k]
		switch t.kind {
		case tkDollar:
			a.notRead("dollar-quoted string outside a function body")
		case tkHintStart:
			hints++
		case tkOp:
			if t.up == "*/" {
				hints--
				if hints < 0 {
					a.notRead("*/ outside a comment or hint")
					hints = 0
				}
			}
		case tkQuoted:
			a.checkPath(unquoteIdent(a.text(k)))
		case tkString:
			// json."file:///x" names a path when double quotes make
			// identifiers (spark.sql.ansi.doubleQuotedIdentifiers).
			if a.op(k-1, ".") {
				a.checkPath(unquote(a.text(k)))
			}
		case tkWord:
			if strings.Contains(a.text(k), "://") {
				a.checkPath(a.text(k))
			}
			strong, ok := denyWords[t.up]
			if ok && (strong || !a.excused(k)) {
				a.notRead("%s is not allowed in a read statement", t.up)
			}
		}
	}
	if hints != 0 {
		a.notRead("unclosed hint /*+")
	}
}

// excused reports whether the (weak) deny word at k is plainly a name or a
// pipe operator: part of a dotted name, REPLACE(...) the string function,
// or |> SET / |> DROP which only change the query's columns.
func (a *analyzer) excused(k int) bool {
	if (a.op(k-1, ".") && a.isNamePart(k-2)) || (a.op(k+1, ".") && a.isNamePart(k+2)) {
		return true
	}
	switch a.t[k].up {
	case "SET", "DROP":
		return a.op(k-1, "|>")
	case "REPLACE":
		return a.op(k+1, "(")
	}
	return false
}

// isNamePart reports a word or `quoted` identifier at i.
func (a *analyzer) isNamePart(i int) bool {
	return i >= 0 && i < len(a.t) && (a.t[i].kind == tkWord || a.t[i].kind == tkQuoted)
}

// nameParts splits a multi-part name as written inside IDENTIFIER('...'):
// parts separated by dots, each possibly in backticks (a doubled backtick
// stands for one).
func nameParts(s string) []string {
	var parts []string
	var b strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '`' && quoted && i+1 < len(s) && s[i+1] == '`':
			b.WriteByte('`')
			i++
		case c == '`':
			quoted = !quoted
		case c == '.' && !quoted:
			parts = append(parts, b.String())
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	return append(parts, b.String())
}

// cloudSchemes are storage schemes governed by Unity Catalog external
// locations. Other schemes (http, https, ftp, file, ...) read from outside
// the workspace or from the compute's own disk.
var cloudSchemes = map[string]bool{
	"s3": true, "s3a": true, "s3n": true, "abfs": true, "abfss": true, "wasb": true,
	"wasbs": true, "adl": true, "gs": true, "dbfs": true, "r2": true,
}

// checkPath flags a path that reaches outside cloud storage.
func (a *analyzer) checkPath(p string) {
	colon := strings.IndexByte(p, ':')
	if colon <= 0 || !strings.ContainsAny(p, "/\\") {
		return
	}
	scheme := strings.ToLower(p[:colon])
	for i := 0; i < len(scheme); i++ {
		c := scheme[i]
		if c >= utf8.RuneSelf {
			// Not a scheme Hadoop accepts, but a look-alike of one
			// ("ｈttp:") is never innocent.
			a.unsafe(RiskHigh, "path %q starts with a scheme written in non-ASCII characters (look-alike characters)", p)
			return
		}
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '.' || c == '-') {
			return
		}
	}
	if !cloudSchemes[scheme] {
		a.unsafe(RiskHigh, "reads from a %s: path, which reaches outside cloud storage", scheme)
	}
}
