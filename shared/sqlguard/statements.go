package sqlguard

import "strings"

// Statements that are not reads: their class, risk and targets.

// findTop returns the first index >= from of word at parenthesis depth 0,
// or -1.
func (a *analyzer) findTop(from int, word string) int {
	for k := from; k < len(a.t); k++ {
		if a.op(k, "(") {
			k = a.after(k) - 1
			continue
		}
		if a.kw(k) == word {
			return k
		}
	}
	return -1
}

func (a *analyzer) has(from int, word string) bool { return a.findTop(from, word) >= 0 }

func (a *analyzer) write(i int) {
	a.v.class = ClassWrite
	switch a.kw(i) {
	case "INSERT":
		over := a.kw(i+1) == "OVERWRITE"
		j := a.skip(i+1, "INTO", "OVERWRITE", "TABLE", "LOCAL")
		switch {
		case a.kw(j) == "DIRECTORY":
			a.addTarget(j + 1)
			a.set(ClassWrite, RiskHigh, "INSERT OVERWRITE DIRECTORY writes files")
		case over:
			a.addTarget(j)
			a.set(ClassWrite, RiskHigh, "INSERT OVERWRITE replaces the table's data")
		case a.has(j, "REPLACE"):
			a.addTarget(j)
			a.set(ClassWrite, RiskHigh, "INSERT ... REPLACE replaces the rows it matches")
		default:
			a.addTarget(j)
			a.set(ClassWrite, RiskMedium, "INSERT adds rows")
		}
	case "UPDATE":
		a.addTarget(i + 1)
		a.whereRisk(i, "UPDATE", "changes")
	case "DELETE":
		a.addTarget(a.skip(i+1, "FROM"))
		a.whereRisk(i, "DELETE", "deletes")
	case "MERGE":
		if k := a.findTop(i, "INTO"); k >= 0 {
			a.addTarget(k + 1)
		}
		if k := a.findTop(i, "USING"); k >= 0 {
			a.addSource(k + 1)
		}
		if s := a.findTop(i, "SOURCE"); s > 0 && a.kw(s-1) == "BY" && a.has(s, "DELETE") {
			a.set(ClassWrite, RiskHigh, "MERGE ... WHEN NOT MATCHED BY SOURCE THEN DELETE deletes every target row missing from the source")
		} else {
			a.set(ClassWrite, RiskMedium, "MERGE changes the rows it matches")
		}
	case "COPY":
		if a.kw(i+1) != "INTO" {
			a.set(ClassUnknown, RiskHigh, "unrecognised COPY statement")
			break
		}
		a.addTarget(i + 2)
		a.set(ClassWrite, RiskMedium, "COPY INTO loads files into a table")
	case "LOAD":
		if k := a.findTop(i, "INTO"); k >= 0 {
			a.addTarget(a.skip(k+1, "TABLE"))
		}
		if a.has(i, "OVERWRITE") {
			a.set(ClassWrite, RiskHigh, "LOAD DATA ... OVERWRITE replaces the table's data")
		} else {
			a.set(ClassWrite, RiskMedium, "LOAD DATA loads files into a table")
		}
	case "PUT":
		if k := a.findTop(i, "INTO"); k >= 0 {
			a.addTarget(k + 1)
		}
		if a.has(i, "OVERWRITE") {
			a.set(ClassWrite, RiskHigh, "PUT ... OVERWRITE replaces a file")
		} else {
			a.set(ClassWrite, RiskMedium, "PUT uploads a file")
		}
	case "REMOVE":
		a.addTarget(i + 1)
		a.set(ClassWrite, RiskHigh, "REMOVE deletes a file")
	case "REPLACE":
		a.addTarget(a.skip(i+1, "INTO", "TABLE"))
		a.set(ClassWrite, RiskHigh, "REPLACE INTO replaces rows")
	}
	a.sources(i, len(a.t))
}

func (a *analyzer) ddl(i int) {
	a.v.class = ClassDDL
	switch k := a.kw(i); k {
	case "CREATE":
		a.create(i)
	case "REPLACE":
		a.addTarget(a.skip(i+1, "TABLE"))
		a.set(ClassDDL, RiskHigh, "REPLACE TABLE replaces the table and its data")
	case "ALTER":
		a.alter(i)
	case "DROP":
		a.drop(i)
	case "TRUNCATE":
		a.addTarget(a.skip(i+1, "TABLE"))
		a.set(ClassDDL, RiskHigh, "TRUNCATE deletes every row")
	case "ANALYZE":
		a.addTarget(a.skip(i+1, "TABLE"))
		a.set(ClassDDL, RiskLow, "ANALYZE computes statistics")
	case "REFRESH":
		j := a.skip(i+1, "TABLE", "FUNCTION", "FOREIGN", "CATALOG", "SCHEMA", "MATERIALIZED", "VIEW", "STREAMING")
		a.addTarget(j)
		if a.has(i, "MATERIALIZED") || a.has(i, "STREAMING") {
			a.set(ClassDDL, RiskMedium, "REFRESH of a materialized view or streaming table runs its pipeline")
		} else {
			a.set(ClassDDL, RiskLow, "REFRESH reloads cached metadata")
		}
	case "CACHE":
		a.addTarget(a.skip(i+1, "LAZY", "TABLE"))
		a.set(ClassDDL, RiskLow, "CACHE TABLE caches a table (and with AS creates a temporary view)")
	case "UNCACHE":
		a.addTarget(a.skip(i+1, "TABLE", "IF", "EXISTS"))
		a.set(ClassDDL, RiskLow, "UNCACHE TABLE drops a table from the cache")
	case "CLEAR":
		a.set(ClassDDL, RiskLow, "CLEAR CACHE empties the cache")
	case "MSCK", "REPAIR", "FSCK", "GENERATE", "SYNC", "REORG":
		if t := a.findTop(i, "TABLE"); t >= 0 {
			a.addTarget(t + 1)
		}
		switch {
		case k == "GENERATE":
			a.set(ClassDDL, RiskLow, "GENERATE writes a manifest for the table")
		case k == "FSCK" && !a.has(i, "DRY"):
			a.set(ClassDDL, RiskHigh, "FSCK REPAIR TABLE removes missing files from the table's log")
		default:
			a.set(ClassDDL, RiskMedium, "%s changes table metadata or files", k)
		}
	case "OPTIMIZE":
		a.addTarget(i + 1)
		a.set(ClassDDL, RiskMedium, "OPTIMIZE rewrites the table's files (same data)")
	case "VACUUM":
		a.addTarget(i + 1)
		if a.has(i, "DRY") {
			a.set(ClassDDL, RiskLow, "VACUUM ... DRY RUN lists the files it would delete")
		} else {
			a.set(ClassDDL, RiskHigh, "VACUUM deletes old data files; earlier versions can no longer be restored")
		}
	case "RESTORE":
		a.addTarget(a.skip(i+1, "TABLE"))
		a.set(ClassDDL, RiskHigh, "RESTORE rewinds the table to an earlier version")
	case "CONVERT":
		a.addTarget(a.skip(i+1, "TO", "DELTA"))
		a.set(ClassDDL, RiskMedium, "CONVERT TO DELTA converts a table in place")
	case "COMMENT":
		a.addTarget(a.skip(i+1, objectWords...))
		a.set(ClassDDL, RiskLow, "COMMENT ON changes a description")
	case "UNDROP":
		a.addTarget(a.skip(i+1, objectWords...))
		a.set(ClassDDL, RiskMedium, "UNDROP restores a dropped object")
	}
	a.sources(i, len(a.t))
}

// objectWords are the object types that follow CREATE/ALTER/DROP/ON.
var objectWords = []string{"ON", "TABLE", "VIEW", "SCHEMA", "DATABASE", "NAMESPACE", "CATALOG", "FUNCTION",
	"VOLUME", "MATERIALIZED", "STREAMING", "EXTERNAL", "LOCATION", "STORAGE", "CREDENTIAL",
	"CONNECTION", "SHARE", "RECIPIENT", "PROVIDER", "COLUMN", "METASTORE", "PROCEDURE", "MODEL",
	"SERVICE", "CLEAN", "ROOM", "TEMPORARY", "TEMP", "GLOBAL", "LIVE", "IF", "NOT", "EXISTS"}

func (a *analyzer) create(i int) {
	j := i + 1
	replace := a.kw(j) == "OR" && a.kw(j+1) == "REPLACE"
	if a.kw(j) == "OR" {
		j += 2
	}
	temp := false
	for ; ; j++ {
		w := a.kw(j)
		if w == "TEMPORARY" || w == "TEMP" {
			temp = true
			continue
		}
		if w != "GLOBAL" && w != "EXTERNAL" && w != "MATERIALIZED" && w != "STREAMING" && w != "LIVE" && w != "PRIVATE" {
			break
		}
	}
	obj := a.kw(j)
	if obj == "STORAGE" {
		j++
	}
	j = a.skip(j+1, "IF", "NOT", "EXISTS")
	a.addTarget(j)
	if k := a.findTop(j, "CLONE"); k >= 0 {
		a.addSource(k + 1) // CREATE TABLE c [SHALLOW|DEEP] CLONE source
	}
	switch {
	case obj == "FUNCTION" && a.usingCode(i):
		a.set(ClassDDL, RiskCritical, "CREATE FUNCTION ... USING JAR/FILE/ARCHIVE loads external code")
	case obj == "FUNCTION" && a.classBinding(i) && !a.has(i, "LANGUAGE"):
		// CREATE [TEMPORARY] FUNCTION f AS 'org.apache...GenericUDFReflect'
		// binds any JVM class on the classpath, reflect() included.
		a.set(ClassDDL, RiskCritical, "CREATE FUNCTION ... AS 'class' binds a Java class, which can run arbitrary code")
	case obj == "FUNCTION" && a.has(i, "LANGUAGE") && !a.has(i, "SQL"):
		a.set(ClassDDL, RiskHigh, "CREATE FUNCTION defines code in another language")
	case obj == "CONNECTION" || obj == "CREDENTIAL" || obj == "LOCATION" || obj == "STORAGE":
		a.set(ClassDDL, RiskHigh, "CREATE %s gives access to an external system", obj)
	case replace && obj == "TABLE":
		a.set(ClassDDL, RiskHigh, "CREATE OR REPLACE TABLE replaces an existing table and its data")
	case obj == "POLICY" || a.governance(j):
		a.set(ClassDDL, RiskHigh, "CREATE with a row filter, column mask or policy changes what people can see")
	case temp:
		a.set(ClassDDL, RiskLow, "CREATE TEMPORARY %s lasts for the session", obj)
	default:
		a.set(ClassDDL, RiskMedium, "CREATE %s", obj)
	}
}

// classBinding reports a top-level AS followed by a string: the class name
// of a Hive/Java function.
func (a *analyzer) classBinding(i int) bool {
	k := a.findTop(i, "AS")
	return k >= 0 && k+1 < len(a.t) && a.t[k+1].kind == tkString
}

// governance reports clauses that change who sees what: row filters,
// column masks and ABAC policies.
func (a *analyzer) governance(from int) bool {
	for k := from; k+1 < len(a.t); k++ {
		switch {
		case a.kw(k) == "ROW" && a.kw(k+1) == "FILTER",
			(a.kw(k) == "MASK" || a.kw(k) == "POLICY") && !a.op(k+1, "(") && !a.op(k-1, "."):
			// (mask(...) the function is not a column mask)
			return true
		}
	}
	return false
}

// usingCode reports USING JAR|FILE|ARCHIVE (external code for a function).
func (a *analyzer) usingCode(i int) bool {
	for k := i; k+1 < len(a.t); k++ {
		if a.kw(k) == "USING" {
			switch a.kw(k + 1) {
			case "JAR", "FILE", "ARCHIVE":
				return true
			}
		}
	}
	return false
}

func (a *analyzer) alter(i int) {
	j := a.skip(i+1, objectWords...)
	a.addTarget(j)
	switch {
	case a.has(j, "DROP"):
		a.set(ClassDDL, RiskHigh, "ALTER ... DROP removes columns, partitions or constraints")
	case a.has(j, "REPLACE") && a.has(j, "COLUMNS"):
		a.set(ClassDDL, RiskHigh, "ALTER ... REPLACE COLUMNS removes columns")
	case a.has(j, "OWNER"):
		a.set(ClassDDL, RiskHigh, "ALTER ... OWNER changes who controls the object")
	case a.governance(i):
		a.set(ClassDDL, RiskHigh, "ALTER ... ROW FILTER / MASK / POLICY changes what people can see")
	default:
		a.set(ClassDDL, RiskMedium, "ALTER changes an object's definition")
	}
}

func (a *analyzer) drop(i int) {
	j := i + 1
	temp := a.kw(j) == "TEMPORARY" || a.kw(j) == "TEMP"
	j = a.skip(j, "TEMPORARY", "TEMP", "GLOBAL", "EXTERNAL", "MATERIALIZED", "STREAMING", "STORAGE")
	obj := a.kw(j)
	j = a.skip(j+1, "IF", "EXISTS")
	a.addTarget(j)
	switch {
	case obj == "VARIABLE":
		a.set(ClassSession, RiskLow, "DROP TEMPORARY VARIABLE removes a session variable")
	case temp:
		a.set(ClassDDL, RiskLow, "DROP TEMPORARY %s removes a session object", obj)
	case obj == "CATALOG" || obj == "SCHEMA" || obj == "DATABASE" || obj == "NAMESPACE":
		a.set(ClassDDL, RiskCritical, "DROP %s removes it and everything in it", obj)
	case a.has(j, "CASCADE"):
		a.set(ClassDDL, RiskCritical, "DROP ... CASCADE also removes dependent objects")
	default:
		a.set(ClassDDL, RiskHigh, "DROP %s removes it", obj)
	}
}

func (a *analyzer) dcl(i int) {
	k := a.kw(i)
	if on := a.findTop(i, "ON"); on >= 0 {
		if a.kw(on+1) == "ANY" && a.kw(on+2) == "FILE" {
			a.set(ClassDCL, RiskCritical, "%s ON ANY FILE controls direct file access that bypasses table permissions", k)
			return
		}
		a.addTarget(a.skip(on+1, objectWords...))
	}
	a.set(ClassDCL, RiskHigh, "%s changes privileges", k)
}

func (a *analyzer) session(i int) {
	switch k := a.kw(i); k {
	case "SET":
		if a.displaySet(i) {
			a.v.class = ClassRead
			a.v.because("SET without a value only displays settings")
			return
		}
		if v := a.kw(i + 1); v == "VAR" || v == "VARIABLE" {
			a.set(ClassSession, RiskLow, "SET VARIABLE assigns a session variable")
		} else {
			a.set(ClassSession, RiskLow, "SET changes a session setting")
		}
	case "ADD":
		switch a.kw(i + 1) {
		case "JAR", "JARS":
			a.set(ClassSession, RiskCritical, "ADD JAR loads code into the session")
		case "FILE", "FILES", "ARCHIVE", "ARCHIVES":
			a.set(ClassSession, RiskHigh, "ADD %s copies external files to the compute", a.kw(i+1))
		default:
			a.set(ClassUnknown, RiskHigh, "unrecognised ADD statement")
		}
	case "USE":
		a.set(ClassSession, RiskLow, "USE changes the current catalog or schema")
	default: // RESET, DECLARE, COMMIT, ROLLBACK
		a.set(ClassSession, RiskLow, "%s changes session state", k)
	}
}

// displaySet recognises SET, SET -v and SET key (no value), which only
// display settings.
func (a *analyzer) displaySet(i int) bool {
	n := len(a.t) - i
	switch {
	case n == 1:
		return true
	case n == 3 && a.op(i+1, "-") && a.kw(i+2) == "V":
		return true
	}
	switch a.kw(i + 1) {
	case "", "VAR", "VARIABLE", "CATALOG", "SCHEMA", "DATABASE", "NAMESPACE", "TIME", "ROLE", "RECIPIENT", "TAG", "TAGS", "OWNER":
		return false
	}
	_, next, ok := a.nameAt(i + 1)
	return ok && next == len(a.t)
}

// execute: EXECUTE IMMEDIATE runs dynamic SQL. It is never read-only; a
// literal text is classified so that the approver sees what it does.
func (a *analyzer) execute(i int) {
	if a.kw(i+1) != "IMMEDIATE" {
		a.set(ClassUnknown, RiskHigh, "unrecognised EXECUTE statement")
		return
	}
	j := i + 2
	into := a.has(j, "INTO")
	if into {
		defer a.v.because("EXECUTE IMMEDIATE ... INTO assigns session variables")
	}
	literal := j < len(a.t) && a.t[j].kind == tkString &&
		(j+1 == len(a.t) || a.kw(j+1) == "INTO" || a.kw(j+1) == "USING")
	if !literal {
		a.set(ClassUnknown, RiskHigh, "EXECUTE IMMEDIATE of SQL text that is not a literal")
		return
	}
	text, ok := unescapeString(a.text(j))
	if !ok || a.nesting >= maxNesting {
		a.set(ClassUnknown, RiskHigh, "EXECUTE IMMEDIATE of SQL text that cannot be decoded")
		return
	}
	inner, _, err := a.c.judge(text, a.nesting+1)
	if err != nil {
		a.set(ClassUnknown, RiskHigh, "EXECUTE IMMEDIATE of SQL text that cannot be classified: %v", err)
		return
	}
	if lit := a.text(j); lit[0] != 'r' && lit[0] != 'R' && strings.IndexByte(lit, '\\') >= 0 {
		// With spark.sql.parser.escapedStringLiterals, Spark runs the
		// text as written, backslashes and all; that reading must be no
		// worse. (If it does not parse, Spark would not run it either.)
		if alt, _, altErr := a.c.judge(lit[1:len(lit)-1], a.nesting+1); altErr == nil &&
			(alt.risk > inner.risk || (inner.class == ClassRead && alt.class != ClassRead)) {
			inner = alt
		}
	}
	a.v.targets = append(a.v.targets, inner.targets...)
	a.v.sources = append(a.v.sources, inner.sources...)
	if inner.class == ClassRead {
		a.set(ClassSession, RiskLow, "EXECUTE IMMEDIATE runs dynamic SQL: the text is a read, but dynamic SQL is not let through without a confirmation")
		return
	}
	a.set(inner.class, inner.risk, "EXECUTE IMMEDIATE of a %s statement", inner.class)
	for _, r := range inner.reasons {
		a.v.because("%s", r)
	}
}
