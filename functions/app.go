package main

import (
	"context"
	"embed"
	"io/fs"
	"net/http"

	healthfn "github.com/behalf-dev/behalf/functions/health"
	"github.com/behalf-dev/behalf/shared/config"
	"github.com/behalf-dev/behalf/shared/funchost"
	"github.com/behalf-dev/behalf/shared/health"
	"github.com/behalf-dev/behalf/shared/httpapi"
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
	closers []func(context.Context) error
}

// newApp builds every function from the validated configuration. The same
// code runs under the Functions host, on Lambda, standalone and in the
// dev stack; only the configuration differs.
func newApp(ctx context.Context, cfg *config.Config) (*app, error) {
	a := &app{host: &funchost.App{}, health: health.New(health.Config{})}
	a.host.AddHTTP(healthfn.Function(a.health, version))
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
