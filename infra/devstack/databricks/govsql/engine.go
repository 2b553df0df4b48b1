package govsql

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"modernc.org/sqlite"
)

// Config configures an Engine.
type Config struct {
	// Path is the SQLite database file (created if missing).
	Path string
	// Now is the clock behind current_date() and current_timestamp().
	Now func() time.Time
	// DefaultCatalog and DefaultSchema apply when a statement names neither
	// (default main and default).
	DefaultCatalog, DefaultSchema string
	// MaxInlineBytes aborts a result larger than this (default 25 MiB, the
	// INLINE disposition limit).
	MaxInlineBytes int64
}

// Engine is a governed SQL engine over one SQLite database.
type Engine struct {
	cfg      Config
	db       *sql.DB
	keeper   *sql.Conn
	marker   string
	keywords map[string]bool

	mu       sync.RWMutex
	catalogs map[string]*catalogInfo
	schemas  map[string]*schemaInfo
	tables   map[string]*Table
	grants   map[string]map[string]map[Privilege]bool
	nextID   int
}

type connector struct {
	drv *sqlite.Driver
	dsn string
}

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c connector) Driver() driver.Driver                        { return c.drv }

// Open creates the engine over cfg.Path.
func Open(ctx context.Context, cfg Config) (*Engine, error) {
	if cfg.Path == "" {
		return nil, errors.New("govsql: Config.Path is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DefaultCatalog == "" {
		cfg.DefaultCatalog = "main"
	}
	if cfg.DefaultSchema == "" {
		cfg.DefaultSchema = "default"
	}
	if cfg.MaxInlineBytes <= 0 {
		cfg.MaxInlineBytes = 25 << 20
	}
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, fmt.Errorf("govsql: marker: %w", err)
	}
	drv := &sqlite.Driver{}
	if err := registerFunctions(drv); err != nil {
		return nil, err
	}
	// Every new connection starts denying everything; withConn installs the
	// policy of the statement that claims it.
	drv.RegisterConnectionHook(func(c sqlite.ExecQuerierContext, _ string) error {
		r, ok := c.(sqlite.AuthorizerRegisterer)
		if !ok {
			return errors.New("govsql: sqlite driver has no authorizer support")
		}
		return r.RegisterAuthorizer((&policy{mode: modeDenyAll}).authorize)
	})
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	db := sql.OpenDB(connector{drv: drv, dsn: "file:" + cfg.Path + "?" + q.Encode()})
	// Each statement gets a fresh physical connection, so no temporary view
	// built for one person can ever be seen by the next statement.
	db.SetMaxIdleConns(0)
	e := &Engine{cfg: cfg, db: db, marker: "x" + hex.EncodeToString(rnd[:]), keywords: newKeywordSet(),
		catalogs: map[string]*catalogInfo{}, schemas: map[string]*schemaInfo{}, tables: map[string]*Table{},
		grants: map[string]map[string]map[Privilege]bool{}}
	// The keeper connection stays open so that closing per-statement
	// connections never checkpoints and removes the WAL.
	keeper, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("govsql: open %s: %w", cfg.Path, err)
	}
	e.keeper = keeper
	if err := e.adminExec(ctx, "SELECT 1"); err != nil {
		_ = e.Close()
		return nil, fmt.Errorf("govsql: open %s: %w", cfg.Path, err)
	}
	return e, nil
}

// Close closes the database.
func (e *Engine) Close() error {
	return errors.Join(e.keeper.Close(), e.db.Close())
}

// Now is the engine's clock.
func (e *Engine) Now() time.Time { return e.cfg.Now() }

// withConn runs fn on a fresh connection whose authorizer is pol.
func (e *Engine) withConn(ctx context.Context, fn func(*sql.Conn, *policy) error) error {
	c, err := e.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("govsql: connection: %w", err)
	}
	defer c.Close()
	pol := &policy{mode: modeSetup, marker: e.marker, views: map[string]bool{}, raws: map[string]bool{}, writes: map[string]map[string]bool{}}
	err = c.Raw(func(dc any) error {
		r, ok := dc.(sqlite.AuthorizerRegisterer)
		if !ok {
			return errors.New("govsql: sqlite driver has no authorizer support")
		}
		return r.RegisterAuthorizer(pol.authorize)
	})
	if err != nil {
		return err
	}
	return fn(c, pol)
}

// adminExec runs engine-written SQL with no restrictions.
func (e *Engine) adminExec(ctx context.Context, query string, args ...any) error {
	return e.withConn(ctx, func(c *sql.Conn, _ *policy) error {
		_, err := c.ExecContext(ctx, query, args...)
		return err
	})
}

// snapshot is an immutable copy of the metastore for one statement.
type snapshot struct {
	catalogs map[string]*catalogInfo
	schemas  map[string]*schemaInfo
	tables   map[string]*Table
	grants   map[string]map[string]map[Privilege]bool
}

func (e *Engine) snapshotLocked() *snapshot {
	s := &snapshot{catalogs: map[string]*catalogInfo{}, schemas: map[string]*schemaInfo{}, tables: map[string]*Table{},
		grants: map[string]map[string]map[Privilege]bool{}}
	for k, v := range e.catalogs {
		s.catalogs[k] = v
	}
	for k, v := range e.schemas {
		s.schemas[k] = v
	}
	for k, v := range e.tables {
		s.tables[k] = v
	}
	for k, g := range e.grants {
		c := map[string]map[Privilege]bool{}
		for who, privs := range g {
			pc := map[Privilege]bool{}
			for p, ok := range privs {
				pc[p] = ok
			}
			c[who] = pc
		}
		s.grants[k] = c
	}
	return s
}

func (e *Engine) snapshot() *snapshot {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.snapshotLocked()
}
