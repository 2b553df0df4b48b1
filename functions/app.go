package main

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"net/http"

	authcallback "github.com/behalf-dev/behalf/functions/auth-callback"
	geniequery "github.com/behalf-dev/behalf/functions/genie-query"
	healthfn "github.com/behalf-dev/behalf/functions/health"
	oboexchange "github.com/behalf-dev/behalf/functions/obo-exchange"
	"github.com/behalf-dev/behalf/shared/audit"
	"github.com/behalf-dev/behalf/shared/config"
	"github.com/behalf-dev/behalf/shared/funchost"
	"github.com/behalf-dev/behalf/shared/health"
	"github.com/behalf-dev/behalf/shared/httpapi"
	"github.com/behalf-dev/behalf/shared/queue"
)

// functionFiles are the function.json files shipped next to the binary;
// they are embedded so the local trigger driver reads exactly these.
//
//go:embed */function.json
var functionFiles embed.FS

// FunctionFiles returns the embedded function app folder.
func FunctionFiles() fs.FS { return functionFiles }

// app is the whole function app: every function, wired to its
// dependencies, and what must be closed on shutdown.
type app struct {
	host    *funchost.App
	health  *health.Registry
	queues  queue.Queues
	audit   *audit.Emitter
	sql     *sqlDeps
	closers []func(context.Context) error
}

// newApp builds every function from the validated configuration. The same
// code runs under the Functions host, on Lambda, standalone and in the
// dev stack; only the configuration differs.
func newApp(ctx context.Context, cfg *config.Config) (*app, error) {
	a := &app{host: &funchost.App{}, health: health.New(health.Config{})}
	ok := false
	defer func() {
		if !ok {
			a.close(context.WithoutCancel(ctx))
		}
	}()
	a.host.AddHTTP(healthfn.Function(a.health, version))

	id, err := newIdentityDeps(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	a.addDependencyChecks(id)
	if a.queues, err = newQueues(ctx, cfg); err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	a.closers = append(a.closers, a.queues.Close)
	glue, err := a.newAudit(cfg)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}

	ac := authcallback.Config{Auth: id, AllowedOrigins: cfg.Identity.AllowedOrigins, PublicURL: cfg.Identity.PublicURL, Ready: id.ready}
	if id.sessions != nil && id.signin != nil {
		ac.Sessions, ac.Flow = id.sessions, id.signin
	}
	a.host.AddHTTP(glue.wrap(authcallback.Function(ac), nil))
	a.host.AddHTTP(glue.wrap(oboexchange.Function(id, cfg.Identity.BrokerAllowedApps), nil))

	svc, err := newGenieService(cfg)
	if err != nil {
		return nil, fmt.Errorf("genie: %w", err)
	}
	a.host.AddHTTP(glue.wrap(geniequery.Function(id, svc, glue.genieObserver()), nil))

	if a.sql, err = a.addSQLFunctions(cfg, id, a.queues, operationAudit{glue}, sqlAudit{glue}, glue); err != nil {
		return nil, err
	}
	if err := a.addAuditFunctions(cfg, id); err != nil {
		return nil, err
	}
	ok = true
	return a, nil
}

// handler returns the HTTP handler for every route.
func (a *app) handler(cfg *config.Config) (http.Handler, error) {
	return a.host.Handler(httpapi.Limits{MaxBodyBytes: cfg.MaxBodyBytes})
}

// close releases the app's resources.
func (a *app) close(ctx context.Context) {
	for i := len(a.closers) - 1; i >= 0; i-- {
		_ = a.closers[i](ctx)
	}
}
