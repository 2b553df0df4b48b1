// Package sqlguard decides whether a Databricks (Spark) SQL statement is
// provably read-only, so that behalf can run it at once with the person's own
// token, or whether it must wait for a human approval.
//
// The classifier is built to fail safe. A statement is read-only only when
// every check below positively succeeds; anything the package does not
// recognise, cannot lex, or cannot rule out is "not read-only":
//
//   - A lexer that follows Spark's own lexer (SqlBaseLexer.g4): backslash
//     escapes in '...' and "...", raw strings r'...', backtick identifiers with
//     doubled backticks, -- comments (with Spark's backslash-newline
//     continuation), nested /* */ comments, /*+ */ hints, URI identifiers and
//     Spark's case folding (which maps 'ı' to I and 'ſ' to S). Where Spark
//     versions or other tools could read the text differently (nested
//     comments, comment continuations, raw strings), the statement is lexed a
//     second time the other way and must be read-only both ways. Invalid
//     UTF-8 anywhere is a syntax error.
//   - Exactly one statement per request: a second statement is an error
//     (ErrMultipleStatements), never silently dropped.
//   - An allow-list of read statement shapes (SELECT, WITH ... SELECT, VALUES,
//     TABLE, FROM ... SELECT, parenthesised queries, SHOW, DESCRIBE, EXPLAIN of
//     a read, LIST, and SET without a value), plus a deny-scan of every token
//     for data-changing keywords, functions with side effects or external
//     reach (reflect, java_method, http_*, secret, ai_*, read_*, vector_search,
//     ..., also when backticked, qualified or "double-quoted"), script
//     transforms (TRANSFORM ... USING 'cmd'), paths outside cloud storage,
//     dollar-quoted text, ${...} substitution, control characters, and
//     invisible or look-alike characters outside string literals.
//
// Besides the read-only verdict, Classify reports a statement class, a risk
// level, the approval policy that applies (self or four-eyes, configurable by
// class and risk), the tables involved and human-readable reasons, for the
// approval card. EXPLAIN or DESCRIBE of a statement that is not read-only
// gets that statement's class and risk, so wrapping a DROP in EXPLAIN does
// not lower the approval it needs.
//
// Known limits: user-defined functions and views are trusted to be
// read-only, because creating them already needed a (reviewed) DDL
// statement; Config.UnsafeFunctions lists functions that must not be
// trusted. Risk is a heuristic: DELETE/UPDATE whose WHERE is missing,
// always true (TRUE, 1 = 1, x = x) or names no column are high risk, but a
// condition that is true for every row by its meaning (id >= 0) cannot be
// told apart from a real one. Table extraction is best effort and only
// informs the approver. ClassifyJSONLines is the JSON Lines protocol of
// "behalf sql classify".
package sqlguard
