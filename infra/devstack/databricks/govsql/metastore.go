package govsql

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Column is a column of a governed table or view.
type Column struct {
	Name string
	// Type is the Databricks type text: STRING, INT, BIGINT, DOUBLE,
	// DECIMAL(12,2), BOOLEAN, DATE, TIMESTAMP.
	Type    string
	NotNull bool
}

// TableSpec describes a table to create through the Go API.
type TableSpec struct {
	Name    string // catalog.schema.table
	Columns []Column
	Owner   string // user name or group; owners hold every privilege
}

// Table is a governed table or view. Tables are replaced, never mutated,
// once published, so a session can keep using the one it looked up.
type Table struct {
	Catalog, Schema, Name string
	Columns               []Column
	Owner                 string
	// ViewSQL is set for views: a query over other governed objects, run
	// with the owner's rights (definer's rights), then filtered and masked
	// for the reader like a table.
	ViewSQL string
	// RowFilter is a boolean SQL expression over the columns; rows where it
	// is false or NULL are invisible. It may call current_user(),
	// is_member('group') and is_account_group_member('group'), and name
	// other governed tables (evaluated with the reader's filters).
	RowFilter string
	// Masks maps a lower-case column name to an expression replacing its
	// value (same functions as RowFilter; the column itself is in scope).
	Masks map[string]string

	raw string // physical SQLite table name (managed tables only)
}

// FullName is catalog.schema.table in lower case.
func (t *Table) FullName() string { return t.Catalog + "." + t.Schema + "." + t.Name }

// IsView reports whether t is a view.
func (t *Table) IsView() bool { return t.ViewSQL != "" }

func (t *Table) column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if strings.EqualFold(c.Name, name) {
			return c, true
		}
	}
	return Column{}, false
}

func (t *Table) clone() *Table {
	c := *t
	c.Columns = slices.Clone(t.Columns)
	c.Masks = map[string]string{}
	for k, v := range t.Masks {
		c.Masks[k] = v
	}
	return &c
}

type schemaInfo struct {
	catalog, name, owner string
}

type catalogInfo struct {
	name, owner string
}

// splitName lower-cases and splits a dotted name, accepting backticks.
func splitName(name string) []string {
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = strings.ToLower(strings.Trim(strings.TrimSpace(p), "`"))
	}
	return parts
}

// CreateCatalog registers a catalog.
func (e *Engine) CreateCatalog(name, owner string) error {
	name = strings.ToLower(name)
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.catalogs[name]; ok {
		return fmt.Errorf("govsql: catalog %s already exists", name)
	}
	e.catalogs[name] = &catalogInfo{name: name, owner: owner}
	return nil
}

// CreateSchema registers catalog.schema.
func (e *Engine) CreateSchema(name, owner string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err := e.createSchemaLocked(name, owner, false)
	return err
}

func (e *Engine) createSchemaLocked(name, owner string, ifNotExists bool) (bool, error) {
	p := splitName(name)
	if len(p) != 2 {
		return false, fmt.Errorf("govsql: schema name %q must be catalog.schema", name)
	}
	if _, ok := e.catalogs[p[0]]; !ok {
		return false, errNoSuchCatalog(p[0])
	}
	key := p[0] + "." + p[1]
	if _, ok := e.schemas[key]; ok {
		if ifNotExists {
			return false, nil
		}
		return false, &Error{Class: "SCHEMA_ALREADY_EXISTS", SQLState: "42P06", Message: fmt.Sprintf("Cannot create schema `%s`.`%s` because it already exists.", p[0], p[1])}
	}
	e.schemas[key] = &schemaInfo{catalog: p[0], name: p[1], owner: owner}
	return true, nil
}

// CreateTable creates a managed table and its physical SQLite table.
func (e *Engine) CreateTable(ctx context.Context, spec TableSpec) error {
	_, err := e.createTable(ctx, spec, false)
	return err
}

func (e *Engine) createTable(ctx context.Context, spec TableSpec, ifNotExists bool) (bool, error) {
	p := splitName(spec.Name)
	if len(p) != 3 {
		return false, fmt.Errorf("govsql: table name %q must be catalog.schema.table", spec.Name)
	}
	if len(spec.Columns) == 0 {
		return false, fmt.Errorf("govsql: table %s needs columns", spec.Name)
	}
	cols := make([]Column, len(spec.Columns))
	seen := map[string]bool{}
	for i, c := range spec.Columns {
		typ, err := normalizeType(c.Type)
		if err != nil {
			return false, err
		}
		if seen[strings.ToLower(c.Name)] {
			return false, &Error{Class: "COLUMN_ALREADY_EXISTS", SQLState: "42711", Message: fmt.Sprintf("The column `%s` already exists.", c.Name)}
		}
		seen[strings.ToLower(c.Name)] = true
		cols[i] = Column{Name: strings.ToLower(c.Name), Type: typ, NotNull: c.NotNull}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.schemas[p[0]+"."+p[1]]; !ok {
		return false, errNoSuchSchema(p[0], p[1])
	}
	full := strings.Join(p, ".")
	if _, ok := e.tables[full]; ok {
		if ifNotExists {
			return false, nil
		}
		return false, &Error{Class: "TABLE_OR_VIEW_ALREADY_EXISTS", SQLState: "42P07", Message: fmt.Sprintf("Cannot create table or view `%s`.`%s`.`%s` because it already exists.", p[0], p[1], p[2])}
	}
	e.nextID++
	t := &Table{Catalog: p[0], Schema: p[1], Name: p[2], Columns: cols, Owner: spec.Owner, Masks: map[string]string{},
		raw: fmt.Sprintf("t_%s_%d_%s", e.marker, e.nextID, sanitize(full))}
	var defs []string
	for _, c := range cols {
		d := quoteIdent(c.Name) + " " + sqliteDeclType(c.Type)
		if c.NotNull {
			d += " NOT NULL"
		}
		defs = append(defs, d)
	}
	ddl := fmt.Sprintf("CREATE TABLE main.%s (%s)", quoteIdent(t.raw), strings.Join(defs, ", "))
	if err := e.adminExec(ctx, ddl); err != nil {
		return false, fmt.Errorf("govsql: create %s: %w", full, err)
	}
	e.tables[full] = t
	return true, nil
}

// CreateView creates a view defined by a query over governed objects. The
// query runs with the owner's rights; readers need SELECT on the view only.
func (e *Engine) CreateView(ctx context.Context, name, query, owner string) error {
	p := splitName(name)
	if len(p) != 3 {
		return fmt.Errorf("govsql: view name %q must be catalog.schema.view", name)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.schemas[p[0]+"."+p[1]]; !ok {
		return errNoSuchSchema(p[0], p[1])
	}
	full := strings.Join(p, ".")
	if _, ok := e.tables[full]; ok {
		return fmt.Errorf("govsql: %s already exists", full)
	}
	v := &Table{Catalog: p[0], Schema: p[1], Name: p[2], Owner: owner, ViewSQL: query, Masks: map[string]string{}}
	cols, err := e.describeViewLocked(ctx, v)
	if err != nil {
		return fmt.Errorf("govsql: view %s: %w", full, err)
	}
	v.Columns = cols
	e.tables[full] = v
	return nil
}

// SetRowFilter attaches (or with "" removes) a row filter.
func (e *Engine) SetRowFilter(table, expr string) error {
	return e.updateTable(table, func(t *Table) error {
		t.RowFilter = expr
		return nil
	})
}

// SetColumnMask attaches (or with "" removes) a column mask.
func (e *Engine) SetColumnMask(table, column, expr string) error {
	return e.updateTable(table, func(t *Table) error {
		if _, ok := t.column(column); !ok {
			return fmt.Errorf("govsql: %s has no column %s", t.FullName(), column)
		}
		if expr == "" {
			delete(t.Masks, strings.ToLower(column))
		} else {
			t.Masks[strings.ToLower(column)] = expr
		}
		return nil
	})
}

func (e *Engine) updateTable(name string, fn func(*Table) error) error {
	full := strings.Join(splitName(name), ".")
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.tables[full]
	if !ok {
		return fmt.Errorf("govsql: no table %s", name)
	}
	c := t.clone()
	if err := fn(c); err != nil {
		return err
	}
	e.tables[full] = c
	return nil
}

// Tables lists governed tables and views (full names, sorted).
func (e *Engine) Tables() []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var out []string
	for k := range e.tables {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Table returns a copy of a governed table's definition.
func (e *Engine) Table(name string) (Table, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	t, ok := e.tables[strings.Join(splitName(name), ".")]
	if !ok {
		return Table{}, false
	}
	return *t.clone(), true
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}
