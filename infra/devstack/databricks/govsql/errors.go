package govsql

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Error is a SQL error in Databricks' shape: an error class, a SQLSTATE and
// a message. Error() renders it the way Databricks does:
// "[CLASS] message SQLSTATE: xxxxx".
type Error struct {
	Class    string
	SQLState string
	Message  string
	cause    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("[%s] %s SQLSTATE: %s", e.Class, e.Message, e.SQLState)
}

func (e *Error) Unwrap() error { return e.cause }

// IsPermission reports whether err is an INSUFFICIENT_PERMISSIONS error.
func IsPermission(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Class == "INSUFFICIENT_PERMISSIONS"
}

func errNoSuchCatalog(c string) *Error {
	return &Error{Class: "NO_SUCH_CATALOG_EXCEPTION", SQLState: "42704", Message: fmt.Sprintf("Catalog '%s' was not found. Please verify the catalog name and then retry the query or command again.", c)}
}

func errNoSuchSchema(c, s string) *Error {
	return &Error{Class: "SCHEMA_NOT_FOUND", SQLState: "42704", Message: fmt.Sprintf("The schema `%s`.`%s` cannot be found. Verify the spelling and correctness of the schema and catalog.", c, s)}
}

func errTableNotFound(parts ...string) *Error {
	q := make([]string, len(parts))
	for i, p := range parts {
		q[i] = "`" + p + "`"
	}
	return &Error{Class: "TABLE_OR_VIEW_NOT_FOUND", SQLState: "42P01", Message: fmt.Sprintf("The table or view %s cannot be found. Verify the spelling and correctness of the schema and catalog.\nIf you did not qualify the name with a schema, verify the current_schema() output, or qualify the name with the correct schema and catalog.", strings.Join(q, "."))}
}

func errSyntax(msg string) *Error {
	return &Error{Class: "PARSE_SYNTAX_ERROR", SQLState: "42601", Message: "Syntax error: " + msg + "."}
}

func errUnsupported(what string) *Error {
	return &Error{Class: "UNSUPPORTED_FEATURE", SQLState: "0A000", Message: "The feature is not supported: " + what + "."}
}

func errForbidden(what string) *Error {
	return &Error{Class: "INSUFFICIENT_PERMISSIONS", SQLState: "42501", Message: "Insufficient privileges:\n" + what}
}

var (
	reNoSuchTable    = regexp.MustCompile(`no such table: (\S+)`)
	reNoSuchColumn   = regexp.MustCompile(`no such column: (\S+)`)
	reNoSuchFunction = regexp.MustCompile(`no such function: (\S+)`)
	reNear           = regexp.MustCompile(`near "([^"]*)": syntax error`)
	reSQLiteCode     = regexp.MustCompile(`^(SQL logic error|constraint failed|[a-z ]+error)?:? ?`)
	reTrailingCode   = regexp.MustCompile(`\s*\(\d+\)$`)
)

// mapSQLiteError turns a SQLite error into a Databricks-shaped one. lookup
// resolves a bare table name SQLite could not find, so that a table the
// person may not read is reported as a permission problem.
func mapSQLiteError(ctx context.Context, err error, denied error, lookup func(string) error) error {
	if err == nil {
		return nil
	}
	var ge *Error
	if errors.As(err, &ge) {
		return err
	}
	if denied != nil {
		return denied
	}
	if ctx.Err() != nil || strings.Contains(err.Error(), "interrupted") {
		return &Error{Class: "OPERATION_CANCELED", SQLState: "HY008", Message: "The statement was canceled.", cause: err}
	}
	msg := reTrailingCode.ReplaceAllString(err.Error(), "")
	switch {
	case reNoSuchTable.MatchString(msg):
		name := strings.Trim(reNoSuchTable.FindStringSubmatch(msg)[1], `"`)
		if lookup != nil {
			if e := lookup(name); e != nil {
				return e
			}
		}
		return errTableNotFound(strings.Split(name, ".")...)
	case reNoSuchColumn.MatchString(msg):
		name := reNoSuchColumn.FindStringSubmatch(msg)[1]
		return &Error{Class: "UNRESOLVED_COLUMN.WITHOUT_SUGGESTION", SQLState: "42703", Message: fmt.Sprintf("A column, variable, or function parameter with name `%s` cannot be resolved.", name), cause: err}
	case reNoSuchFunction.MatchString(msg):
		name := reNoSuchFunction.FindStringSubmatch(msg)[1]
		return &Error{Class: "UNRESOLVED_ROUTINE", SQLState: "42883", Message: fmt.Sprintf("Cannot resolve routine `%s` on search path [`system`.`builtin`, `system`.`session`].", name), cause: err}
	case reNear.MatchString(msg):
		return &Error{Class: "PARSE_SYNTAX_ERROR", SQLState: "42601", Message: fmt.Sprintf("Syntax error at or near '%s'.", reNear.FindStringSubmatch(msg)[1]), cause: err}
	case strings.Contains(msg, "incomplete input"):
		return &Error{Class: "PARSE_SYNTAX_ERROR", SQLState: "42601", Message: "Syntax error at or near end of input.", cause: err}
	case strings.Contains(msg, "not authorized"):
		return errForbidden("the statement touches an object that is not governed by Unity Catalog.")
	case strings.Contains(msg, "NOT NULL constraint failed"):
		return &Error{Class: "DELTA_NOT_NULL_CONSTRAINT_VIOLATED", SQLState: "23502", Message: "NOT NULL constraint violated for column: " + msg[strings.LastIndex(msg, ".")+1:] + ".", cause: err}
	case strings.Contains(msg, "ambiguous column name"):
		return &Error{Class: "AMBIGUOUS_REFERENCE", SQLState: "42704", Message: "Reference is ambiguous: " + msg[strings.Index(msg, "ambiguous column name"):] + ".", cause: err}
	}
	clean := reSQLiteCode.ReplaceAllString(msg, "")
	return &Error{Class: "INVALID_SQL", SQLState: "42000", Message: clean, cause: err}
}
