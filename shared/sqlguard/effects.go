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
// are matched on the last part of a (possibly qualified or backticked) name,
// so system.builtin.reflect and `reflect` are caught too. Functions whose
// name starts with ai_ call model serving endpoints and are handled apart.
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
		case t.up == "USING" && !execute && k+1 < len(a.t) && (a.t[k+1].kind == tkString || a.t[k+1].kind == tkDollar):
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
	default:
		return
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
	if f, ok := unsafeFunctions[name]; ok {
		a.unsafe(f.risk, "calls %s(), which %s", name, f.why)
		return
	}
	if strings.HasPrefix(name, "ai_") {
		a.unsafe(RiskHigh, "calls %s(), which sends data to a model serving endpoint (possibly an external provider)", name)
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
	if a.op(k-1, ".") || a.op(k+1, ".") {
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
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '.' || c == '-') {
			return
		}
	}
	if !cloudSchemes[scheme] {
		a.unsafe(RiskHigh, "reads from a %s: path, which reaches outside cloud storage", scheme)
	}
}
