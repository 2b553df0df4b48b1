package govsql

import (
	"fmt"
	"strings"
)

// Privilege is a Unity Catalog privilege.
type Privilege string

// Privileges the engine enforces. Grants on a catalog or schema inherit
// down to everything inside it, as in Unity Catalog.
const (
	Select       Privilege = "SELECT"
	Modify       Privilege = "MODIFY"
	UseCatalog   Privilege = "USE CATALOG"
	UseSchema    Privilege = "USE SCHEMA"
	CreateTable  Privilege = "CREATE TABLE"
	CreateSchema Privilege = "CREATE SCHEMA"
	AllPrivs     Privilege = "ALL PRIVILEGES"
)

// SecurableKind is the kind of object a grant is on.
type SecurableKind string

// Securable kinds, spelled as Databricks error messages spell them.
const (
	KindCatalog SecurableKind = "Catalog"
	KindSchema  SecurableKind = "Schema"
	KindTable   SecurableKind = "Table"
)

// Securable names a catalog, schema or table.
type Securable struct {
	Kind SecurableKind
	Name string // main, main.sales, main.sales.deals
}

// OnCatalog, OnSchema and OnTable build securables.
func OnCatalog(name string) Securable { return Securable{KindCatalog, strings.ToLower(name)} }

// OnSchema names catalog.schema.
func OnSchema(name string) Securable {
	return Securable{KindSchema, strings.Join(splitName(name), ".")}
}

// OnTable names catalog.schema.table (tables and views).
func OnTable(name string) Securable { return Securable{KindTable, strings.Join(splitName(name), ".")} }

func (s Securable) key() string { return string(s.Kind) + ":" + s.Name }

// AllUsers is the grantee every principal matches ("account users").
const AllUsers = "account users"

// Principal is who runs a statement.
type Principal struct {
	// Name is what current_user() returns: the e-mail/UPN for people, the
	// application id for service principals.
	Name string
	// Groups are group display names, for is_member() and group grants.
	Groups []string
	// Admin bypasses governance entirely (no grants, filters or masks). It
	// exists for seeding and test assertions, never for a request.
	Admin bool
}

// IsMember reports group membership the way is_member() does.
func (p Principal) IsMember(group string) bool {
	for _, g := range p.Groups {
		if strings.EqualFold(g, group) {
			return true
		}
	}
	return false
}

func (p Principal) matches(grantee string) bool {
	return strings.EqualFold(grantee, p.Name) || strings.EqualFold(grantee, AllUsers) || p.IsMember(grantee)
}

// Grant gives privileges on a securable to a user, group or service
// principal (by application id).
func (e *Engine) Grant(on Securable, grantee string, privs ...Privilege) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.securableExistsLocked(on) {
		return fmt.Errorf("govsql: grant on unknown %s %s", on.Kind, on.Name)
	}
	g := e.grants[on.key()]
	if g == nil {
		g = map[string]map[Privilege]bool{}
		e.grants[on.key()] = g
	}
	who := strings.ToLower(grantee)
	if g[who] == nil {
		g[who] = map[Privilege]bool{}
	}
	for _, p := range privs {
		g[who][p] = true
	}
	return nil
}

// Revoke removes privileges (all of the grantee's on that securable when
// none are listed).
func (e *Engine) Revoke(on Securable, grantee string, privs ...Privilege) {
	e.mu.Lock()
	defer e.mu.Unlock()
	g := e.grants[on.key()][strings.ToLower(grantee)]
	if len(privs) == 0 {
		delete(e.grants[on.key()], strings.ToLower(grantee))
		return
	}
	for _, p := range privs {
		delete(g, p)
	}
}

func (e *Engine) securableExistsLocked(s Securable) bool {
	switch s.Kind {
	case KindCatalog:
		_, ok := e.catalogs[s.Name]
		return ok
	case KindSchema:
		_, ok := e.schemas[s.Name]
		return ok
	case KindTable:
		_, ok := e.tables[s.Name]
		return ok
	}
	return false
}

// lineage lists the securable and its ancestors, innermost first.
func lineage(s Securable) []Securable {
	p := strings.Split(s.Name, ".")
	switch s.Kind {
	case KindTable:
		return []Securable{s, {KindSchema, p[0] + "." + p[1]}, {KindCatalog, p[0]}}
	case KindSchema:
		return []Securable{s, {KindCatalog, p[0]}}
	}
	return []Securable{s}
}

// has reports whether p holds priv on s, through a grant on s or an
// ancestor, ALL PRIVILEGES, or ownership. The snapshot is immutable.
func (v *snapshot) has(p Principal, priv Privilege, s Securable) bool {
	if p.Admin {
		return true
	}
	for _, l := range lineage(s) {
		if owner := v.owner(l); owner != "" && p.matches(owner) {
			return true
		}
		for grantee, privs := range v.grants[l.key()] {
			if p.matches(grantee) && (privs[priv] || privs[AllPrivs]) {
				return true
			}
		}
	}
	return false
}

func (v *snapshot) owner(s Securable) string {
	switch s.Kind {
	case KindCatalog:
		if c := v.catalogs[s.Name]; c != nil {
			return c.owner
		}
	case KindSchema:
		if c := v.schemas[s.Name]; c != nil {
			return c.owner
		}
	case KindTable:
		if t := v.tables[s.Name]; t != nil {
			return t.Owner
		}
	}
	return ""
}

// canUse checks USE CATALOG and USE SCHEMA for a schema.
func (v *snapshot) canUse(p Principal, catalog, schema string) error {
	if !v.has(p, UseCatalog, OnCatalog(catalog)) {
		return errPrivilege(UseCatalog, KindCatalog, catalog)
	}
	if schema != "" && !v.has(p, UseSchema, OnSchema(catalog+"."+schema)) {
		return errPrivilege(UseSchema, KindSchema, catalog+"."+schema)
	}
	return nil
}

// check verifies USE CATALOG, USE SCHEMA and then each privilege on t.
func (v *snapshot) check(p Principal, t *Table, privs ...Privilege) error {
	if err := v.canUse(p, t.Catalog, t.Schema); err != nil {
		return err
	}
	for _, priv := range privs {
		if !v.has(p, priv, OnTable(t.FullName())) {
			return errPrivilege(priv, KindTable, t.FullName())
		}
	}
	return nil
}

func errPrivilege(priv Privilege, kind SecurableKind, name string) *Error {
	return &Error{Class: "INSUFFICIENT_PERMISSIONS", SQLState: "42501",
		Message: fmt.Sprintf("Insufficient privileges:\nUser does not have %s on %s '%s'.", priv, kind, name)}
}
