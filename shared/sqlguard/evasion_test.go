package sqlguard

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// evasionCase is one attempt to get a statement past the classifier, or a
// harmless statement that must still get through. Fields other than ro and
// class are checked only when set: risk and policy by name, tables when
// not nil (an empty slice asserts that no table is reported).
type evasionCase struct {
	sql    string
	ro     bool
	class  Class
	risk   string
	policy string
	tables []string
	err    error // sentinel the error must wrap; nil: no error
}

// evasionCases gathers every table of cases, in a stable order, for the
// table test and as seeds for the fuzz targets.
func evasionCases() []evasionCase {
	var all []evasionCase
	for _, group := range [][]evasionCase{
		lexCases, unicodeCases, statementCountCases, queryShapeCases,
		effectCases, writeCases, ddlCases, dclSessionCases, boundaryCases,
	} {
		all = append(all, group...)
	}
	return all
}

func TestEvasion(t *testing.T) {
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	cases := evasionCases()
	if len(cases) < 200 {
		t.Fatalf("only %d evasion cases; the issue asks for at least 200", len(cases))
	}
	seen := map[string]bool{}
	for i, tc := range cases {
		if seen[tc.sql] {
			t.Errorf("case %d repeats %q", i, tc.sql)
		}
		seen[tc.sql] = true
		t.Run(fmt.Sprintf("%03d", i), func(t *testing.T) {
			res, err := c.Classify(tc.sql)
			checkInvariants(t, tc.sql, res, err)
			fail := func(format string, args ...any) {
				t.Helper()
				t.Errorf("%q: "+format+"\n  got %+v err=%v", append([]any{tc.sql}, append(args, res, err)...)...)
			}
			switch {
			case tc.err == nil && err != nil:
				fail("unexpected error")
			case tc.err != nil && !errors.Is(err, tc.err):
				fail("error should wrap %v", tc.err)
			}
			if res.ReadOnly != tc.ro {
				fail("read_only = %v, want %v", res.ReadOnly, tc.ro)
			}
			if res.Class != tc.class {
				fail("class = %s, want %s", res.Class, tc.class)
			}
			if tc.risk != "" && res.Risk.String() != tc.risk {
				fail("risk = %s, want %s", res.Risk, tc.risk)
			}
			if tc.policy != "" && res.Policy.String() != tc.policy {
				fail("policy = %s, want %s", res.Policy, tc.policy)
			}
			if tc.tables != nil && !slices.Equal(res.Tables, tc.tables) {
				fail("tables = %q, want %q", res.Tables, tc.tables)
			}
		})
	}
}

// checkInvariants holds for every Result, whatever the input: read-only
// means class read, low risk, policy none, one statement and no error; an
// error or any other class means a real approval policy.
func checkInvariants(t testing.TB, sql string, res Result, err error) {
	t.Helper()
	if res.Tables == nil {
		t.Errorf("%q: Tables is nil (must encode as [])", sql)
	}
	if res.ReadOnly {
		if err != nil || res.Class != ClassRead || res.Policy != PolicyNone || res.Risk != RiskLow || res.Statements != 1 {
			t.Errorf("%q: inconsistent read-only result %+v err=%v", sql, res, err)
		}
		return
	}
	if res.Policy != PolicySelf && res.Policy != PolicyFourEyes {
		t.Errorf("%q: not read-only but policy %s", sql, res.Policy)
	}
	if res.Class == ClassRead {
		t.Errorf("%q: class read but not read-only: %+v err=%v", sql, res, err)
	}
	if int(res.Class) >= len(classNames) || int(res.Risk) >= len(riskNames) {
		t.Errorf("%q: invalid enum in %+v", sql, res)
	}
	if err != nil && len(res.Reasons) == 0 {
		t.Errorf("%q: error without a reason in the result", sql)
	}
}

// Comment and string tricks: every place where two readers could disagree
// on where a comment, string or identifier ends.
var lexCases = []evasionCase{
	// Nested comments: Spark nests them, older readers do not; the stricter
	// reading wins.
	{"/* /* */ DROP TABLE t */ SELECT 1", false, ClassDDL, "high", "four-eyes", []string{"t"}, nil},
	{"SELECT 1 /* /* */ ; DROP TABLE t; /* */ */", false, ClassUnknown, "high", "four-eyes", nil, nil},
	{"/*/**/*/ SELECT 1", false, ClassUnknown, "high", "", nil, nil},
	{"/* /*+ */ DROP TABLE t */ SELECT 1", false, ClassDDL, "high", "", nil, nil},
	{"SELECT /* /*+ */ 1", true, ClassRead, "low", "none", []string{}, nil},
	{"/* unterminated SELECT 1", false, ClassUnknown, "high", "four-eyes", nil, ErrSyntax},
	{"SELECT 1 /* /* */", false, ClassUnknown, "high", "", nil, ErrSyntax},
	{"/* a */ /* b */ SELECT 1 /* c */", true, ClassRead, "low", "none", nil, nil},
	{"/**/SELECT/**/1", true, ClassRead, "low", "none", nil, nil},
	{"SELECT 1 /* ; DROP TABLE t */", true, ClassRead, "low", "none", []string{}, nil},
	{"SELECT 1 -- ; DROP TABLE t", true, ClassRead, "low", "none", []string{}, nil},
	{"DE/**/LETE FROM t", false, ClassUnknown, "high", "", nil, nil},
	{"SEL/**/ECT 1", false, ClassUnknown, "high", "", nil, nil},
	// -- comments continue over a backslash-newline in Spark only.
	{"SELECT 1 -- \\\nDROP TABLE t", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT 1 -- \\\n; DROP TABLE t", false, ClassUnknown, "high", "", nil, nil},
	{"DROP TABLE t -- \\\n SELECT 1", false, ClassDDL, "high", "four-eyes", nil, nil},
	{"SELECT 1 -- \\\r\nDROP TABLE t", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT 1 --\rDROP TABLE t", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT 1 -- \u2028DROP TABLE t", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT 1 -- x\u0085DROP TABLE t", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT 1 -- x\fDROP TABLE t", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT 1 -- plain comment\n", true, ClassRead, "low", "none", nil, nil},
	// Hints are tokens to Spark: their content is checked.
	{"SELECT /*+ BROADCAST(t) */ * FROM t", true, ClassRead, "low", "none", []string{"t"}, nil},
	{"SELECT /*+ REPARTITION(3) */ a FROM t", true, ClassRead, "low", "none", []string{"t"}, nil},
	{"SELECT /*+ COALESCE(reflect('a', 'b')) */ 1", false, ClassUnknown, "critical", "four-eyes", nil, nil},
	{"SELECT /*+ 1 */ 1 FROM t; DROP TABLE t", false, ClassUnknown, "high", "", nil, ErrMultipleStatements},
	{"/*+ */ DELETE FROM t", false, ClassUnknown, "high", "four-eyes", nil, nil},
	{"SELECT /*+ -- */ 1", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT 1 */", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT 1 /*+ hint", false, ClassUnknown, "high", "", nil, nil},
	// Strings: backslash escapes, doubled quotes, raw strings.
	{`SELECT 'a\'; DROP TABLE t; --'`, true, ClassRead, "low", "none", []string{}, nil},
	{`SELECT 'a\\'; DROP TABLE t; --'`, false, ClassUnknown, "high", "", nil, ErrMultipleStatements},
	{`SELECT "a\"; DROP TABLE t; --"`, true, ClassRead, "low", "none", []string{}, nil},
	{`SELECT "a\\"; DROP TABLE t; --"`, false, ClassUnknown, "high", "", nil, ErrMultipleStatements},
	{"SELECT 'it''s'", true, ClassRead, "low", "none", nil, nil},
	{"SELECT 'a'';DROP TABLE t;--'", true, ClassRead, "low", "none", []string{}, nil},
	{"SELECT ''''; DROP TABLE t; --'", false, ClassUnknown, "high", "", nil, ErrMultipleStatements},
	{`SELECT r'\'; DROP TABLE t; --'`, false, ClassUnknown, "high", "", nil, ErrMultipleStatements},
	{`SELECT r'\'' , 1`, false, ClassUnknown, "high", "", nil, ErrSyntax},
	{`SELECT r'C:\path'`, true, ClassRead, "low", "none", nil, nil},
	{`SELECT R"raw \ text"`, true, ClassRead, "low", "none", nil, nil},
	{"SELECT 'unterminated", false, ClassUnknown, "high", "", nil, ErrSyntax},
	{`SELECT "unterminated`, false, ClassUnknown, "high", "", nil, ErrSyntax},
	{`SELECT 'ends in a backslash\`, false, ClassUnknown, "high", "", nil, ErrSyntax},
	{"SELECT X'0A'", true, ClassRead, "low", "none", nil, nil},
	// Backtick identifiers hide nothing.
	{"SELECT `;DROP TABLE t;`", true, ClassRead, "low", "none", []string{}, nil},
	{"SELECT 1 AS `a``; DROP TABLE t; --`", true, ClassRead, "low", "none", nil, nil},
	{"SELECT `delete` FROM t", true, ClassRead, "low", "none", []string{"t"}, nil},
	{"SELECT 1 AS `drop table t`", true, ClassRead, "low", "none", nil, nil},
	{"SELECT * FROM `t;DROP`", true, ClassRead, "low", "none", []string{"t;drop"}, nil},
	{"DROP TABLE `select`", false, ClassDDL, "high", "four-eyes", []string{"select"}, nil},
	{"SELECT `unterminated", false, ClassUnknown, "high", "", nil, ErrSyntax},
	// Dollar quoting (Databricks function bodies) has no place in a read.
	{"SELECT $$x$$", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT $tag$ ; DROP TABLE t; $tag$", false, ClassUnknown, "high", "", nil, nil},
	{"SHOW TABLES LIKE $x$ ; DROP TABLE t; $x$", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT $x", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT $$unterminated", false, ClassUnknown, "high", "", nil, ErrSyntax},
	// Double-quoted identifiers (spark.sql.ansi.doubleQuotedIdentifiers).
	{`SELECT "reflect"('java.lang.Runtime', 'getRuntime')`, false, ClassUnknown, "critical", "four-eyes", nil, nil},
	{`SELECT * FROM json."file:///etc/passwd"`, false, ClassUnknown, "high", "", nil, nil},
	// ${...} is substituted by Spark before parsing, even in strings and comments.
	{"SELECT ${x}", false, ClassUnknown, "high", "four-eyes", nil, nil},
	{"SELECT '${env:SECRET}'", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT 1 -- ${x}", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT * FROM ${hiveconf:table}", false, ClassUnknown, "high", "", nil, nil},
	{"DELETE FROM t WHERE a = '${x}'", false, ClassWrite, "high", "four-eyes", nil, nil},
	{"SELECT '$' || 'x{1}'", true, ClassRead, "low", "none", nil, nil},
}

// Unicode: invisible, look-alike and direction-changing characters.
var unicodeCases = []evasionCase{
	{"\uFEFFSELECT 1", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT\u200B1", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT 1\u200B", false, ClassUnknown, "high", "", nil, nil},
	{"DR\u200BOP TABLE t", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT 1\u00AD", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT 1\u2029", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT e\u0301 FROM t", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT 'a\u200Bb'", true, ClassRead, "low", "none", nil, nil},
	{"SELECT `a\u200Bb` FROM t", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT `a\uFE0Fb` FROM t", false, ClassUnknown, "high", "", nil, nil},
	// Spark's whitespace beyond ASCII.
	{"SELECT\u00A01", true, ClassRead, "low", "none", nil, nil},
	{"SELECT\u30001\u2003FROM\u202Ft", true, ClassRead, "low", "none", []string{"t"}, nil},
	{"DELETE\u00A0FROM t", false, ClassWrite, "high", "four-eyes", []string{"t"}, nil},
	// Look-alikes.
	{"ＳＥＬＥＣＴ 1", false, ClassUnknown, "high", "", nil, nil},
	{"ＤＲＯＰ TABLE t", false, ClassUnknown, "high", "", nil, nil},
	{"\u0405ELECT 1", false, ClassUnknown, "high", "", nil, nil},
	{"s\u0435lect 1", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT refl\u0435ct('a', 'b')", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT * FROM csv.`\uFF48ttp://evil.example/x`", false, ClassUnknown, "high", "", nil, nil},
	// Spark upper-cases ı to I and ſ to S, so these are keywords to it.
	{"\u0131nsert INTO t VALUES (1)", false, ClassWrite, "high", "four-eyes", nil, nil},
	{"\u017Felect 1", false, ClassUnknown, "high", "", nil, nil},
	{"DELETE FROM t WHERE \u0130D = 1", false, ClassWrite, "high", "four-eyes", nil, nil},
	// Direction overrides (Trojan Source) anywhere.
	{"SELECT 1 /* \u202E */", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT '\u202Eabc'", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT `\u202Eabc`", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT 1 -- \u2066", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT 1\u202E", false, ClassUnknown, "high", "", nil, nil},
	// Non-ASCII that is fine: inside strings and backticks.
	{"SELECT 'café', `naïve` FROM t", true, ClassRead, "low", "none", []string{"t"}, nil},
	{"SELECT '\U0001F600' AS smile", true, ClassRead, "low", "none", nil, nil},
	{"SELECT 1 AS \u4E2D\u6587", false, ClassUnknown, "high", "", nil, nil},
	// Case mixing.
	{"sElEcT 1", true, ClassRead, "low", "none", nil, nil},
	{"dElEtE fRoM t", false, ClassWrite, "high", "four-eyes", []string{"t"}, nil},
	{"DeLeTe FrOm t WhErE a = 1", false, ClassWrite, "medium", "self", []string{"t"}, nil},
	{"select * from T", true, ClassRead, "low", "none", []string{"t"}, nil},
	{"Insert Into t Values (1)", false, ClassWrite, "medium", "self", []string{"t"}, nil},
	{"eXpLaIn sElEcT 1", true, ClassRead, "low", "none", nil, nil},
	{"SELECT\tdelete FROM t", false, ClassUnknown, "high", "", nil, nil},
}

// Exactly one statement per request; a trailing ';' alone is fine.
var statementCountCases = []evasionCase{
	{"SELECT 1;", true, ClassRead, "low", "none", nil, nil},
	{"SELECT 1;;;", true, ClassRead, "low", "none", nil, nil},
	{";SELECT 1", true, ClassRead, "low", "none", nil, nil},
	{"SELECT 1; -- trailing comment", true, ClassRead, "low", "none", nil, nil},
	{"SELECT 1 /* */ ; /* */ ; ", true, ClassRead, "low", "none", nil, nil},
	{"SELECT 1; SELECT 2", false, ClassUnknown, "high", "four-eyes", []string{}, ErrMultipleStatements},
	{"SELECT 1; DROP TABLE t", false, ClassUnknown, "high", "", nil, ErrMultipleStatements},
	{"SELECT 1;DROP TABLE t;", false, ClassUnknown, "high", "", nil, ErrMultipleStatements},
	{"SHOW TABLES; DROP TABLE t", false, ClassUnknown, "high", "", nil, ErrMultipleStatements},
	{"SELECT 1 -- ;\n; SELECT 2", false, ClassUnknown, "high", "", nil, ErrMultipleStatements},
	{"SET a = 1; DROP TABLE t", false, ClassUnknown, "high", "", nil, ErrMultipleStatements},
	// SQL scripting blocks are one statement; what follows END is another.
	{"BEGIN SELECT 1; END; DROP TABLE t", false, ClassUnknown, "high", "", nil, ErrMultipleStatements},
	{"BEGIN SELECT 1; DROP TABLE t; END", false, ClassUnknown, "high", "four-eyes", nil, nil},
	{"BEGIN CASE x WHEN 1 THEN SELECT 1; END CASE; END; DROP TABLE t", false, ClassUnknown, "high", "", nil, ErrMultipleStatements},
	{"BEGIN CASE x WHEN 1 THEN SELECT 1; END CASE; END", false, ClassUnknown, "high", "", nil, nil},
	{"lbl: BEGIN SELECT 1; END lbl; DROP TABLE t", false, ClassUnknown, "high", "", nil, ErrMultipleStatements},
	{"BEGIN IF 1 = 1 THEN DROP TABLE t; END IF; END", false, ClassUnknown, "high", "", nil, nil},
	{"BEGIN WHILE true DO DELETE FROM t; END WHILE; END", false, ClassUnknown, "high", "", nil, nil},
	{"BEGIN SELECT CASE WHEN 1 THEN 2 END; END", false, ClassUnknown, "high", "", nil, nil},
	{"BEGIN SELECT 1; END; SELECT 2", false, ClassUnknown, "high", "", nil, ErrMultipleStatements},
	// Nothing at all is an error, never read-only.
	{"", false, ClassUnknown, "high", "four-eyes", []string{}, ErrEmpty},
	{"   ", false, ClassUnknown, "high", "", nil, ErrEmpty},
	{"\n\t\r\n", false, ClassUnknown, "high", "", nil, ErrEmpty},
	{";", false, ClassUnknown, "high", "", nil, ErrEmpty},
	{" ; ; ", false, ClassUnknown, "high", "", nil, ErrEmpty},
	{"-- only a comment", false, ClassUnknown, "high", "", nil, ErrEmpty},
	{"/* only a comment */", false, ClassUnknown, "high", "", nil, ErrEmpty},
	{"\u00A0\u3000", false, ClassUnknown, "high", "", nil, ErrEmpty},
}

// Read shapes, and the shapes that look like reads but are not.
var queryShapeCases = []evasionCase{
	{"SELECT * FROM t WHERE a = :p", true, ClassRead, "low", "none", []string{"t"}, nil},
	{"SELECT * FROM t WHERE a = ?", true, ClassRead, "low", "none", []string{"t"}, nil},
	{"VALUES (1), (2)", true, ClassRead, "low", "none", []string{}, nil},
	{"TABLE t", true, ClassRead, "low", "none", []string{"t"}, nil},
	{"(SELECT 1)", true, ClassRead, "low", "none", nil, nil},
	{"(SELECT * FROM a) UNION (SELECT * FROM b)", true, ClassRead, "low", "none", []string{"a", "b"}, nil},
	{"SELECT * FROM t JOIN u ON t.id = u.id", true, ClassRead, "low", "none", []string{"t", "u"}, nil},
	{"SELECT * FROM t WHERE a IN (SELECT b FROM u)", true, ClassRead, "low", "none", []string{"t", "u"}, nil},
	{"SELECT * FROM t TIMESTAMP AS OF '2024-01-01'", true, ClassRead, "low", "none", []string{"t"}, nil},
	{"SELECT * FROM t VERSION AS OF 3", true, ClassRead, "low", "none", []string{"t"}, nil},
	{"SELECT * FROM t TABLESAMPLE (10 PERCENT)", true, ClassRead, "low", "none", []string{"t"}, nil},
	{"SELECT * FROM IDENTIFIER('c.s.t')", true, ClassRead, "low", "none", []string{"c.s.t"}, nil},
	{"SELECT * FROM IDENTIFIER(:tbl)", true, ClassRead, "low", "none", nil, nil},
	{"FROM t |> WHERE a > 1 |> SELECT a", true, ClassRead, "low", "none", []string{"t"}, nil},
	{"FROM t |> DROP a", true, ClassRead, "low", "none", nil, nil},
	{"FROM t |> SET a = 1", true, ClassRead, "low", "none", nil, nil},
	{"SELECT * FROM t FOR UPDATE", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT (1", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT 1)", false, ClassUnknown, "high", "", nil, nil},
	// CTEs in front of DML are writes.
	{"WITH x AS (SELECT 1) DELETE FROM t", false, ClassWrite, "high", "four-eyes", []string{"t"}, nil},
	{"WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", false, ClassWrite, "medium", "self", []string{"t"}, nil},
	{"WITH x AS (SELECT 1) MERGE INTO t USING x ON t.a = x.a WHEN MATCHED THEN DELETE", false, ClassWrite, "medium", "self", []string{"t"}, nil},
	{"WITH x AS (SELECT 1) UPDATE t SET a = 1", false, ClassWrite, "high", "four-eyes", []string{"t"}, nil},
	{"WITH x AS (SELECT 1) INSERT OVERWRITE t SELECT * FROM x", false, ClassWrite, "high", "four-eyes", nil, nil},
	{"WITH x AS (SELECT 1) DROP TABLE t", false, ClassDDL, "high", "four-eyes", nil, nil},
	{"WITH x AS (DELETE FROM t) SELECT 1", false, ClassUnknown, "high", "", nil, nil},
	{"WITH x AS (SELECT 1) SHOW TABLES", false, ClassUnknown, "high", "", nil, nil},
	{"WITH x AS (SELECT 1) SET a", false, ClassUnknown, "high", "", nil, nil},
	{"WITH x AS SELECT 1 DELETE", false, ClassUnknown, "high", "", nil, nil},
	{"WITH x AS (SELECT 1), y AS (SELECT 2) SELECT * FROM x, y", true, ClassRead, "low", "none", []string{}, nil},
	{"WITH RECURSIVE r AS (SELECT 1) SELECT * FROM r", true, ClassRead, "low", "none", []string{}, nil},
	{"WITH x AS (SELECT 1) (SELECT * FROM x)", true, ClassRead, "low", "none", nil, nil},
	// FROM ... INSERT (Hive multi-insert).
	{"FROM t INSERT INTO u SELECT a", false, ClassWrite, "medium", "self", []string{"u", "t"}, nil},
	{"FROM t INSERT OVERWRITE TABLE u SELECT a", false, ClassWrite, "high", "four-eyes", []string{"u", "t"}, nil},
	{"FROM t INSERT INTO u SELECT a INSERT INTO v SELECT b", false, ClassWrite, "medium", "", []string{"u", "v", "t"}, nil},
	{"FROM (SELECT * FROM s) x INSERT INTO u SELECT *", false, ClassWrite, "medium", "", nil, nil},
	{"FROM t INSERT OVERWRITE DIRECTORY 's3://b/x' SELECT *", false, ClassWrite, "high", "four-eyes", nil, nil},
	{"FROM t SELECT a", true, ClassRead, "low", "none", []string{"t"}, nil},
	// SELECT ... INTO is not Spark; never read-only.
	{"SELECT a INTO t FROM s", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT * INTO new_t FROM t", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT 1 AS into_x", true, ClassRead, "low", "none", nil, nil},
	// EXPLAIN and DESCRIBE QUERY are as safe as what they wrap.
	{"EXPLAIN SELECT 1", true, ClassRead, "low", "none", nil, nil},
	{"EXPLAIN EXTENDED SELECT * FROM t", true, ClassRead, "low", "none", []string{"t"}, nil},
	{"EXPLAIN FORMATTED SELECT * FROM t", true, ClassRead, "low", "none", nil, nil},
	{"EXPLAIN CODEGEN SELECT 1", true, ClassRead, "low", "none", nil, nil},
	{"EXPLAIN COST SELECT 1", true, ClassRead, "low", "none", nil, nil},
	{"EXPLAIN EXPLAIN SELECT 1", true, ClassRead, "low", "none", nil, nil},
	{"EXPLAIN ANALYZE SELECT 1", false, ClassUnknown, "high", "four-eyes", nil, nil},
	{"EXPLAIN ANALYZE DELETE FROM t", false, ClassUnknown, "high", "", nil, nil},
	{"EXPLAIN DELETE FROM t", false, ClassWrite, "high", "four-eyes", []string{"t"}, nil},
	{"EXPLAIN INSERT INTO t VALUES (1)", false, ClassWrite, "medium", "self", nil, nil},
	{"EXPLAIN DROP TABLE t", false, ClassDDL, "high", "four-eyes", nil, nil},
	{"EXPLAIN EXECUTE IMMEDIATE 'DROP TABLE t'", false, ClassDDL, "high", "four-eyes", nil, nil},
	{"EXPLAIN COST ANALYZE TABLE t COMPUTE STATISTICS", false, ClassDDL, "low", "self", nil, nil},
	{"EXPLAIN SELECT reflect('a', 'b')", false, ClassUnknown, "critical", "four-eyes", nil, nil},
	{"EXPLAIN", false, ClassUnknown, "high", "", nil, nil},
	{strings.Repeat("EXPLAIN ", 20) + "SELECT 1", false, ClassUnknown, "high", "", nil, nil},
	{"DESCRIBE QUERY SELECT * FROM t", true, ClassRead, "low", "none", []string{"t"}, nil},
	{"DESCRIBE QUERY INSERT INTO t VALUES (1)", false, ClassUnknown, "high", "", nil, nil},
	{"DESCRIBE QUERY SELECT reflect('a', 'b')", false, ClassUnknown, "critical", "", nil, nil},
	// Metadata.
	{"SHOW TABLES", true, ClassRead, "low", "none", []string{}, nil},
	{"SHOW TABLES IN s LIKE 'x*'", true, ClassRead, "low", "none", nil, nil},
	{"SHOW CREATE TABLE t", true, ClassRead, "low", "none", []string{"t"}, nil},
	{"SHOW GRANTS ON TABLE t", true, ClassRead, "low", "none", nil, nil},
	{"SHOW TBLPROPERTIES t", true, ClassRead, "low", "none", []string{"t"}, nil},
	{"SHOW COLUMNS IN t", true, ClassRead, "low", "none", []string{"t"}, nil},
	{"SHOW TABLES IN s INSERT", false, ClassUnknown, "high", "", nil, nil},
	{"DESCRIBE TABLE EXTENDED t", true, ClassRead, "low", "none", []string{"t"}, nil},
	{"DESC HISTORY t", true, ClassRead, "low", "none", []string{"t"}, nil},
	{"DESCRIBE DETAIL c.s.t", true, ClassRead, "low", "none", []string{"c.s.t"}, nil},
	{"DESCRIBE FUNCTION reflect", true, ClassRead, "low", "none", []string{}, nil},
	{"DESCRIBE CATALOG main", true, ClassRead, "low", "none", []string{}, nil},
	{"LIST JAR", true, ClassRead, "low", "none", nil, nil},
	{"LIST FILE", true, ClassRead, "low", "none", nil, nil},
	{"LIST 's3://b/x'", true, ClassRead, "low", "none", []string{"s3://b/x"}, nil},
	{"LIST 'file:///etc'", false, ClassUnknown, "high", "", nil, nil},
	{"LIST 'http://x/y'", false, ClassUnknown, "high", "", nil, nil},
	{"LIST `s3://b/x`", false, ClassUnknown, "high", "", nil, nil},
	// Paths: cloud storage is governed; other schemes reach outside.
	{"SELECT * FROM parquet.`s3://bucket/x`", true, ClassRead, "low", "none", []string{"parquet.s3://bucket/x"}, nil},
	{"SELECT * FROM delta.`abfss://c@a.dfs.core.windows.net/p`", true, ClassRead, "low", "none", nil, nil},
	{"SELECT * FROM json.`file:///etc/passwd`", false, ClassUnknown, "high", "four-eyes", nil, nil},
	{"SELECT * FROM text.`https://evil.example/x`", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT * FROM text.https://evil.example/x", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT * FROM IDENTIFIER('json.`file:///etc/passwd`')", false, ClassUnknown, "high", "", nil, nil},
	{"SELECT * FROM IDENTIFIER('http://evil.example/x')", false, ClassUnknown, "high", "", nil, nil},
	// Statements that are nothing known.
	{"FROBNICATE t", false, ClassUnknown, "high", "four-eyes", nil, nil},
	{"SELEC 1", false, ClassUnknown, "high", "", nil, nil},
	{"123", false, ClassUnknown, "high", "", nil, nil},
	{"'SELECT 1'", false, ClassUnknown, "high", "", nil, nil},
	{"PROFILE SELECT 1", false, ClassUnknown, "high", "", nil, nil},
}
