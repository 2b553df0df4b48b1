package govsql

import (
	"context"
	"fmt"
	"strings"
)

// ddlName reads a dotted name at toks[i] and completes it with the current
// catalog (and schema, for tables).
func ddlName(toks []token, i int, cat, sch string, want int) ([]string, int, error) {
	if i >= len(toks) || !toks[i].isName() {
		return nil, 0, errSyntax("expected a name")
	}
	parts, end := nameAt(toks, i)
	for k := range parts {
		parts[k] = strings.ToLower(parts[k])
	}
	if len(parts) > want {
		return nil, 0, errSyntax("too many name parts")
	}
	prefix := []string{cat, sch}[:want-1]
	parts = append(append([]string{}, prefix[:want-len(parts)]...), parts...)
	return parts, end, nil
}

// ifNotExists consumes IF NOT EXISTS (or IF EXISTS when not is false).
func ifExists(toks []token, i int, not bool) (bool, int) {
	if i < len(toks) && toks[i].is("IF") {
		j := nextSig(toks, i)
		if not {
			if j < len(toks) && toks[j].is("NOT") {
				j = nextSig(toks, j)
			} else {
				return false, i
			}
		}
		if j < len(toks) && toks[j].is("EXISTS") {
			return true, nextSig(toks, j)
		}
	}
	return false, i
}

// createTableSQL handles CREATE TABLE [IF NOT EXISTS] name (columns) [...]:
// it needs USE CATALOG, USE SCHEMA and CREATE TABLE on the schema, and makes
// the creator the owner. Clauses after the column list (USING DELTA,
// COMMENT, TBLPROPERTIES, CLUSTER BY ...) are accepted and ignored.
func (e *Engine) createTableSQL(ctx context.Context, p Principal, snap *snapshot, cat, sch string, toks []token) (*Result, error) {
	i := nextSig(toks, nextSig(toks, -1))
	if toks[i].is("OR") {
		return nil, errUnsupported("CREATE OR REPLACE TABLE")
	}
	ine, i := ifExists(toks, nextSig(toks, i), true)
	parts, end, err := ddlName(toks, i, cat, sch, 3)
	if err != nil {
		return nil, err
	}
	if snap.schemas[parts[0]+"."+parts[1]] == nil {
		if err := snap.canUse(p, parts[0], ""); err != nil {
			return nil, err
		}
		return nil, errNoSuchSchema(parts[0], parts[1])
	}
	if err := snap.canUse(p, parts[0], parts[1]); err != nil {
		return nil, err
	}
	if !snap.has(p, CreateTable, OnSchema(parts[0]+"."+parts[1])) {
		return nil, errPrivilege(CreateTable, KindSchema, parts[0]+"."+parts[1])
	}
	open := nextSig(toks, end)
	if open >= len(toks) || !toks[open].isPunct("(") {
		if open < len(toks) && toks[open].is("AS") {
			return nil, errUnsupported("CREATE TABLE AS SELECT")
		}
		return nil, errSyntax("expected a column list")
	}
	closing := matchParen(toks, open)
	if closing < 0 {
		return nil, errSyntax("unbalanced parentheses in the column list")
	}
	cols, err := parseColumnDefs(toks[open+1 : closing])
	if err != nil {
		return nil, err
	}
	if _, err := e.createTable(ctx, TableSpec{Name: strings.Join(parts, "."), Columns: cols, Owner: p.Name}, ine); err != nil {
		return nil, err
	}
	return &Result{}, nil
}

// parseColumnDefs reads "name TYPE [NOT NULL] [COMMENT '...'] ..." items;
// table constraints are informational in Databricks and are skipped.
func parseColumnDefs(toks []token) ([]Column, error) {
	var cols []Column
	start := 0
	depth := 0
	items := [][]token{}
	for j, t := range toks {
		switch {
		case t.isPunct("(") || t.isPunct("<"):
			depth++
		case t.isPunct(")") || t.isPunct(">"):
			depth--
		case depth == 0 && t.isPunct(","):
			items = append(items, toks[start:j])
			start = j + 1
		}
	}
	items = append(items, toks[start:])
	for _, item := range items {
		var sig []token
		for _, t := range item {
			if t.significant() {
				sig = append(sig, t)
			}
		}
		if len(sig) == 0 {
			return nil, errSyntax("empty column definition")
		}
		if sig[0].is("CONSTRAINT") || sig[0].is("PRIMARY") || sig[0].is("FOREIGN") || sig[0].is("UNIQUE") || sig[0].is("CHECK") {
			continue
		}
		if !sig[0].isName() || len(sig) < 2 {
			return nil, errSyntax("expected column name and type")
		}
		c := Column{Name: sig[0].val}
		var typ strings.Builder
		k := 1
		for ; k < len(sig); k++ {
			t := sig[k]
			if t.is("NOT") || t.is("NULL") || t.is("DEFAULT") || t.is("COMMENT") || t.is("GENERATED") || t.is("PRIMARY") || t.is("CONSTRAINT") || t.is("MASK") || t.is("UNIQUE") {
				break
			}
			typ.WriteString(t.text)
		}
		for ; k < len(sig); k++ {
			if sig[k].is("NOT") && k+1 < len(sig) && sig[k+1].is("NULL") {
				c.NotNull = true
			}
		}
		norm, err := normalizeType(typ.String())
		if err != nil {
			return nil, err
		}
		c.Type = norm
		cols = append(cols, c)
	}
	return cols, nil
}

// createSchemaSQL handles CREATE SCHEMA [IF NOT EXISTS] [catalog.]schema.
func (e *Engine) createSchemaSQL(p Principal, snap *snapshot, cat string, toks []token) (*Result, error) {
	i := nextSig(toks, nextSig(toks, -1))
	ine, i := ifExists(toks, nextSig(toks, i), true)
	parts, _, err := ddlName(toks, i, cat, "", 2)
	if err != nil {
		return nil, err
	}
	if snap.catalogs[parts[0]] == nil {
		return nil, errNoSuchCatalog(parts[0])
	}
	if err := snap.canUse(p, parts[0], ""); err != nil {
		return nil, err
	}
	key := parts[0] + "." + parts[1]
	if snap.schemas[key] != nil && ine {
		return &Result{}, nil
	}
	if !snap.has(p, CreateSchema, OnCatalog(parts[0])) {
		return nil, errPrivilege(CreateSchema, KindCatalog, parts[0])
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.createSchemaLocked(key, p.Name, ine); err != nil {
		return nil, err
	}
	return &Result{}, nil
}

// dropTableSQL handles DROP TABLE [IF EXISTS] name; only the owner (or an
// owner of the schema or catalog) may drop.
func (e *Engine) dropTableSQL(ctx context.Context, p Principal, snap *snapshot, cat, sch string, toks []token) (*Result, error) {
	i := nextSig(toks, nextSig(toks, -1))
	ie, i := ifExists(toks, nextSig(toks, i), false)
	parts, _, err := ddlName(toks, i, cat, sch, 3)
	if err != nil {
		return nil, err
	}
	full := strings.Join(parts, ".")
	t := snap.tables[full]
	if t == nil {
		if ie {
			return &Result{}, nil
		}
		return nil, errTableNotFound(parts...)
	}
	if err := snap.canUse(p, parts[0], parts[1]); err != nil {
		return nil, err
	}
	owner := p.Admin
	for _, l := range lineage(OnTable(full)) {
		if o := snap.owner(l); o != "" && p.matches(o) {
			owner = true
		}
	}
	if !owner {
		return nil, errForbidden(fmt.Sprintf("User is not an owner of Table '%s'.", full))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cur := e.tables[full]
	if cur == nil {
		return &Result{}, nil
	}
	if !cur.IsView() {
		if err := e.adminExec(ctx, "DROP TABLE main."+quoteIdent(cur.raw)); err != nil {
			return nil, fmt.Errorf("govsql: drop %s: %w", full, err)
		}
	}
	delete(e.tables, full)
	for k := range e.grants {
		if k == OnTable(full).key() {
			delete(e.grants, k)
		}
	}
	return &Result{}, nil
}
