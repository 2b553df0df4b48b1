// Package govsql is the governed SQL engine behind the Databricks workspace
// emulator: a small Unity Catalog (catalogs, schemas, tables, views, grants,
// row filters, column masks) in front of a real SQL engine (SQLite through
// modernc.org/sqlite).
//
// A person's statement is never run as written. It is tokenised with a lexer
// that mirrors SQLite's, checked, and rewritten: Databricks spellings
// (backticks, "double-quoted strings", current_user(), is_member(...),
// date_trunc, CAST(x AS STRING)) become SQLite, and every governed name
// (main.sales.deals, `main`.`sales`.`deals`, sales.deals, deals after the
// statement's catalog/schema) is resolved to a per-statement temporary view
// that applies the table's row filter and column masks with current_user()
// and is_member() already evaluated for that person. Tables the person may
// not SELECT get no view, so the statement cannot name them.
//
// Defence in depth: the physical tables and helper views carry a random
// per-engine marker in their names that statements may not contain, each
// statement runs on a fresh connection, and a SQLite authorizer admits only
// reads through the person's views, writes to the one table a rewritten DML
// statement targets, and no PRAGMA, ATTACH, schema change or catalog table.
package govsql
