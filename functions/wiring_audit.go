package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/databricks/databricks-sdk-go"

	auditexport "github.com/behalf-dev/behalf/functions/audit-export"
	auditquery "github.com/behalf-dev/behalf/functions/audit-query"
	auditwriter "github.com/behalf-dev/behalf/functions/audit-writer"
	"github.com/behalf-dev/behalf/shared/audit"
	"github.com/behalf-dev/behalf/shared/audit/dbxstore"
	"github.com/behalf-dev/behalf/shared/audit/export"
	"github.com/behalf-dev/behalf/shared/audit/sqlitestore"
	"github.com/behalf-dev/behalf/shared/config"
	"github.com/behalf-dev/behalf/shared/workspace"
)

// newAudit starts the emitter every function records through: events go
// to the audit queue in the background, and audit-writer stores them.
func (a *app) newAudit(cfg *config.Config) (*auditGlue, error) {
	ac := cfg.Audit
	mode := audit.FailClosed
	if ac.ReadFailMode == "open" {
		mode = audit.FailOpen
	}
	e, err := audit.NewEmitter(audit.EmitterConfig{Sender: a.queues, Queue: cfg.Queue.AuditQueue, BufferSize: ac.BufferSize,
		BatchSize: ac.BatchSize, FlushInterval: ac.FlushInterval, ReadFailMode: mode, Logger: slog.Default()})
	if err != nil {
		return nil, err
	}
	a.audit = e
	// Registered after the queue's closer, so it runs first: buffered
	// events are flushed while the queue is still open.
	a.closers = append(a.closers, e.Close)
	a.health.Add("audit-trail", true, e.Check)
	return &auditGlue{e: e, statements: ac.RecordStatements, mode: audit.ModeFromExchange(cfg.Identity.Exchange)}, nil
}

// addAuditFunctions wires audit-writer (queue → store), audit-export
// (timer → sink) and audit-query (auditors read the store).
func (a *app) addAuditFunctions(cfg *config.Config, id *identityDeps) error {
	store := &lazyStore{open: func(ctx context.Context) (audit.Store, error) { return openAuditStore(ctx, cfg) }}
	a.closers = append(a.closers, func(context.Context) error { return store.Close() })
	stats := &audit.WriterStats{}
	a.host.AddTrigger(auditwriter.Function(auditwriter.Config{Store: store, Stats: stats, MaxDeliveries: cfg.Audit.MaxDeliveries, Logger: slog.Default()}))

	exp, err := newExporter(cfg, store)
	if err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	ec := auditexport.Config{Trail: a.audit, Actor: audit.Actor{UPN: "behalf", ClientAppID: cfg.Identity.ClientID}, Logger: slog.Default()}
	if exp != nil {
		ec.Exporter = exp
	}
	a.host.AddTrigger(auditexport.Function(ec))
	// audit-query records its own events (including refusals).
	a.host.AddHTTP(auditquery.Function(auditquery.Config{Deps: id, Store: store, Trail: a.audit}))

	dl, err := audit.NewDeadLetters(audit.DeadLetterConfig{Queue: cfg.Queue.AuditQueue, Peeker: a.queues, Writer: stats})
	if err != nil {
		return err
	}
	a.health.Add("audit-dead-letters", false, dl.Check)
	return nil
}

func openAuditStore(ctx context.Context, cfg *config.Config) (audit.Store, error) {
	ac := cfg.Audit
	if ac.Store != "databricks" {
		return sqlitestore.Open(ctx, sqlitestore.Config{Path: ac.SQLitePath})
	}
	w, err := m2mClient(cfg)
	if err != nil {
		return nil, err
	}
	return dbxstore.Open(ctx, dbxstore.Config{Client: w, WarehouseID: ac.WarehouseID, Table: ac.Table, Logger: slog.Default()})
}

// m2mClient is behalf's own Databricks identity, for its background work
// only (the audit store and the volume export), never a person's request.
func m2mClient(cfg *config.Config) (*databricks.WorkspaceClient, error) {
	roots, err := rootCAs(cfg.Identity.CAFile)
	if err != nil {
		return nil, err
	}
	f, err := workspace.NewFactory(workspace.Config{Host: cfg.Identity.DatabricksHost, RootCAs: roots})
	if err != nil {
		return nil, err
	}
	ac := cfg.Audit
	if ac.M2MCredential == "oauth-secret" {
		return f.ForM2M(workspace.M2M{ClientID: ac.M2MClientID, ClientSecret: ac.M2MClientSecret})
	}
	cred, err := managedIdentity(cfg.Identity.ManagedIdentityClientID)
	if err != nil {
		return nil, err
	}
	return f.ForM2M(workspace.M2M{Credential: cred, Resource: cfg.Identity.DatabricksResource})
}

func newExporter(cfg *config.Config, store audit.Reader) (*export.Exporter, error) {
	ac := cfg.Audit
	var sink export.Sink
	switch ac.ExportSink {
	case "local":
		s, err := export.NewLocalSink(ac.ExportDir)
		if err != nil {
			return nil, err
		}
		sink = s
	case "blob":
		cred, err := managedIdentity(cfg.Identity.ManagedIdentityClientID)
		if err != nil {
			return nil, err
		}
		c, err := export.NewBlobContainer(ac.ExportBlobURL, cred, nil)
		if err != nil {
			return nil, err
		}
		if sink, err = export.NewBlobSink(export.BlobConfig{Container: c, Prefix: ac.ExportBlobPrefix}); err != nil {
			return nil, err
		}
	case "volume":
		w, err := m2mClient(cfg)
		if err != nil {
			return nil, err
		}
		if sink, err = export.NewVolumeSink(export.VolumeConfig{Files: w.Files, Dir: ac.ExportVolumeDir}); err != nil {
			return nil, err
		}
	default:
		return nil, nil
	}
	return export.New(export.Config{Store: store, Sink: sink, Period: ac.ExportPeriod, Logger: slog.Default()})
}

// lazyStore opens the audit store on first use, and again after a
// failure: a store that is briefly unreachable (a Databricks warehouse
// starting) must not keep behalf from starting, and audit-writer's
// failure makes the queue redeliver.
type lazyStore struct {
	open func(ctx context.Context) (audit.Store, error)
	mu   sync.Mutex
	s    audit.Store
}

func (l *lazyStore) get(ctx context.Context) (audit.Store, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.s != nil {
		return l.s, nil
	}
	s, err := l.open(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit store: %w", err)
	}
	l.s = s
	return s, nil
}

func (l *lazyStore) Append(ctx context.Context, events []audit.Event) (audit.AppendResult, error) {
	s, err := l.get(ctx)
	if err != nil {
		return audit.AppendResult{}, err
	}
	return s.Append(ctx, events)
}

func (l *lazyStore) Range(ctx context.Context, from int64, limit int) ([]audit.Record, error) {
	s, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return s.Range(ctx, from, limit)
}

func (l *lazyStore) Head(ctx context.Context) (audit.Head, error) {
	s, err := l.get(ctx)
	if err != nil {
		return audit.Head{}, err
	}
	return s.Head(ctx)
}

func (l *lazyStore) Query(ctx context.Context, q audit.Query) (*audit.Page, error) {
	s, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return s.Query(ctx, q)
}

func (l *lazyStore) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.s == nil {
		return nil
	}
	err := l.s.Close()
	l.s = nil
	return err
}

var _ audit.Store = (*lazyStore)(nil)
