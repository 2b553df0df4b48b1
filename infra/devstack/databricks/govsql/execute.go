package govsql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Request is one statement to run.
type Request struct {
	SQL string
	// Catalog and Schema resolve unqualified names (defaults from Config).
	Catalog, Schema string
	Params          []Param
	// RowLimit and ByteLimit cut the result and mark it truncated (0 = none).
	RowLimit, ByteLimit int64
}

// ResultColumn describes a result column as the manifest does.
type ResultColumn struct {
	Name      string
	TypeName  string // STRING, INT, LONG, DOUBLE, DECIMAL, DATE, TIMESTAMP, BOOLEAN...
	TypeText  string // STRING, BIGINT, DECIMAL(12,2)...
	Precision int
	Scale     int
}

// Result is a statement's outcome. Values are JSON_ARRAY strings; nil is NULL.
type Result struct {
	Columns   []ResultColumn
	Rows      [][]*string
	Truncated bool
	// Tables lists the governed tables the statement named explicitly.
	Tables []string
}

type stmtKind int

const (
	kindQuery stmtKind = iota
	kindInsert
	kindUpdate
	kindDelete
	kindMerge
	kindCreateTable
	kindCreateSchema
	kindDropTable
	kindUse
)

// Execute runs one statement as p.
func (e *Engine) Execute(ctx context.Context, p Principal, req Request) (*Result, error) {
	toks, err := lex(req.SQL)
	if err != nil {
		return nil, errSyntax(err.Error())
	}
	toks, err = e.checkTokens(toks)
	if err != nil {
		return nil, err
	}
	kind, err := e.classify(toks)
	if err != nil {
		return nil, err
	}
	cat := strings.ToLower(req.Catalog)
	if cat == "" {
		cat = e.cfg.DefaultCatalog
	}
	sch := strings.ToLower(req.Schema)
	if sch == "" {
		sch = e.cfg.DefaultSchema
	}
	snap := e.snapshot()
	if snap.catalogs[cat] == nil {
		return nil, errNoSuchCatalog(cat)
	}
	switch kind {
	case kindCreateTable:
		return e.createTableSQL(ctx, p, snap, cat, sch, toks)
	case kindCreateSchema:
		return e.createSchemaSQL(p, snap, cat, toks)
	case kindDropTable:
		return e.dropTableSQL(ctx, p, snap, cat, sch, toks)
	case kindUse:
		return &Result{}, nil
	}
	var res *Result
	err = e.withConn(ctx, func(c *sql.Conn, pol *policy) error {
		s := e.newSession(p, snap, cat, sch, c, pol)
		var err error
		switch kind {
		case kindQuery:
			res, err = s.query(ctx, toks, req)
		case kindInsert:
			res, err = s.insert(ctx, toks, req)
		case kindUpdate, kindDelete:
			res, err = s.updateOrDelete(ctx, toks, req, kind)
		case kindMerge:
			res, err = s.merge(ctx, toks, req)
		}
		return err
	})
	return res, err
}

// checkTokens drops a trailing semicolon, refuses several statements and
// refuses any mention of the engine's internal objects.
func (e *Engine) checkTokens(toks []token) ([]token, error) {
	end := len(toks)
	for end > 0 && (!toks[end-1].significant() || toks[end-1].isPunct(";")) {
		end--
	}
	toks = toks[:end]
	depth := 0
	for _, t := range toks {
		switch {
		case t.isPunct("("):
			depth++
		case t.isPunct(")"):
			depth--
		}
		// Unbalanced parentheses could close a subquery the engine wraps
		// around part of the statement.
		if depth < 0 {
			return nil, errSyntax("unbalanced parentheses")
		}
		if t.isPunct(";") {
			return nil, errUnsupported("more than one statement in a request")
		}
		if t.kind != tkSpace && strings.Contains(strings.ToLower(t.text), e.marker) {
			return nil, errForbidden("the statement references an internal object.")
		}
	}
	if depth != 0 {
		return nil, errSyntax("unbalanced parentheses")
	}
	if nextSig(toks, -1) >= len(toks) {
		return nil, errSyntax("empty statement")
	}
	return toks, nil
}

// classify finds what kind of statement toks is; anything the emulator
// does not govern (PRAGMA, ATTACH, VACUUM, ALTER, GRANT, ...) is refused.
func (e *Engine) classify(toks []token) (stmtKind, error) {
	first := toks[nextSig(toks, -1)]
	second := token{}
	if i := nextSig(toks, nextSig(toks, -1)); i < len(toks) {
		second = toks[i]
	}
	switch {
	case first.is("SELECT"), first.is("VALUES"), first.isPunct("("):
		return kindQuery, nil
	case first.is("WITH"):
		// The statement after the common table expressions must be a query.
		depth := 0
		for _, t := range toks {
			switch {
			case t.isPunct("("):
				depth++
			case t.isPunct(")"):
				depth--
			case depth == 0 && (t.is("SELECT") || t.is("VALUES")):
				return kindQuery, nil
			case depth == 0 && (t.is("INSERT") || t.is("UPDATE") || t.is("DELETE") || t.is("REPLACE")):
				return 0, errUnsupported("WITH before a data change statement")
			}
		}
		return 0, errSyntax("WITH without a query")
	case first.is("INSERT"):
		return kindInsert, nil
	case first.is("UPDATE"):
		return kindUpdate, nil
	case first.is("DELETE"):
		return kindDelete, nil
	case first.is("MERGE"):
		return kindMerge, nil
	case first.is("CREATE") && (second.is("TABLE") || second.is("OR")):
		return kindCreateTable, nil
	case first.is("CREATE") && (second.is("SCHEMA") || second.is("DATABASE")):
		return kindCreateSchema, nil
	case first.is("DROP") && second.is("TABLE"):
		return kindDropTable, nil
	case first.is("USE"):
		return kindUse, nil
	case first.is("PRAGMA"), first.is("ATTACH"), first.is("DETACH"), first.is("VACUUM"), first.is("REINDEX"), first.is("ANALYZE"):
		return 0, errForbidden(strings.ToUpper(first.text) + " is not allowed.")
	}
	switch strings.ToUpper(first.text) {
	case "ALTER", "GRANT", "REVOKE", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "TRUNCATE", "OPTIMIZE", "CACHE", "UNCACHE", "REFRESH",
		"SET", "RESET", "COMMENT", "DROP", "CREATE", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "REPLACE", "COPY", "MSCK", "TABLE", "END":
		return 0, errUnsupported("statement " + strings.ToUpper(first.text) + " in the workspace emulator")
	}
	return 0, &Error{Class: "PARSE_SYNTAX_ERROR", SQLState: "42601", Message: fmt.Sprintf("Syntax error at or near '%s'.", first.text)}
}
