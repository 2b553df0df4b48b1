package govsql

import (
	"fmt"
	"strings"

	"modernc.org/sqlite"
)

type authMode int

const (
	// modeDenyAll is the state of a connection nobody has claimed: fail closed.
	modeDenyAll authMode = iota
	// modeSetup runs SQL the engine wrote itself (views, DDL, seeding).
	modeSetup
	// modeUser runs a person's rewritten statement.
	modeUser
)

// policy is the SQLite authorizer of one connection for one statement. It
// is the last line of defence behind the rewriter: even if a name slipped
// through, SQLite itself refuses to read a physical table except through
// the person's views, to write anything but the rewritten statement's
// target, or to touch pragmas, attachments, the schema or catalog tables.
type policy struct {
	mode authMode
	// views are the temporary views built for this statement (lower case).
	views map[string]bool
	// raws are physical table names (lower case).
	raws map[string]bool
	// writes are physical tables the rewritten DML may change, with the
	// columns that are masked for the person (which it may not read).
	writes map[string]map[string]bool
	// denied records why the authorizer said no, for the error message.
	denied error
	marker string
}

// deniedFunctions are SQLite functions that reach outside the database or
// reveal internals.
var deniedFunctionList = []string{"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer",
	"sqlite_offset", "sqlite_compileoption_get", "sqlite_compileoption_used", "sqlite_source_id", "unlikely_internal"}

func (p *policy) deny(format string, args ...any) sqlite.AuthorizerReturnCode {
	if p.denied == nil {
		p.denied = errForbidden(fmt.Sprintf(format, args...))
	}
	return sqlite.AuthorizerDeny
}

func (p *policy) authorize(action sqlite.AuthorizerActionCode, arg1, arg2, db, via string) sqlite.AuthorizerReturnCode {
	switch p.mode {
	case modeSetup:
		return sqlite.AuthorizerOK
	case modeDenyAll:
		return sqlite.AuthorizerDeny
	}
	table := strings.ToLower(arg1)
	switch action {
	case sqlite.AuthSelect, sqlite.AuthRecursive, sqlite.AuthTransaction, sqlite.AuthSavepoint:
		return sqlite.AuthorizerOK
	case sqlite.AuthFunction:
		for _, f := range deniedFunctionList {
			if strings.EqualFold(arg2, f) {
				return p.deny("function %s is not allowed.", arg2)
			}
		}
		return sqlite.AuthorizerOK
	case sqlite.AuthRead:
		switch {
		case db == "temp" && p.views[table]:
			return sqlite.AuthorizerOK
		case db == "main" && p.raws[table] && p.views[strings.ToLower(via)]:
			return sqlite.AuthorizerOK
		case db == "main" && p.raws[table] && arg2 == "":
			// SQLite's count(*) optimisation on a flattened, unfiltered view
			// reads the table without any column: it only learns a row count
			// the person could compute through the view anyway.
			return sqlite.AuthorizerOK
		case db == "main" && p.writes[table] != nil && via == "":
			if p.writes[table][strings.ToLower(arg2)] {
				return p.deny("column %s is masked for this user and cannot be used in a data change statement.", arg2)
			}
			return sqlite.AuthorizerOK
		}
		return p.deny("direct access to %s is not allowed.", p.display(arg1))
	case sqlite.AuthInsert, sqlite.AuthUpdate, sqlite.AuthDelete:
		if db == "main" && p.writes[table] != nil {
			return sqlite.AuthorizerOK
		}
		return p.deny("changing %s is not allowed.", p.display(arg1))
	case sqlite.AuthPragma:
		return p.deny("PRAGMA is not allowed.")
	case sqlite.AuthAttach, sqlite.AuthDetach:
		return p.deny("ATTACH and DETACH are not allowed.")
	}
	return p.deny("the statement is not allowed (operation %d).", action)
}

// display keeps physical names out of error messages.
func (p *policy) display(name string) string {
	if strings.Contains(strings.ToLower(name), p.marker) {
		return "an internal object"
	}
	return name
}
