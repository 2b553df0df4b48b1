package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"

	"github.com/behalf-dev/behalf/shared/config"
	"github.com/behalf-dev/behalf/shared/funchost"
	"github.com/behalf-dev/behalf/shared/logging"
	"github.com/behalf-dev/behalf/shared/queue"
)

// cmdServe serves every function on FUNCTIONS_CUSTOMHANDLER_PORT (else
// PORT, else 7071) until ctx ends. Under the Functions host (which sets
// FUNCTIONS_CUSTOMHANDLER_PORT) the host delivers queue messages and timer
// ticks; standalone, behalf drives its own queue and timer functions with
// the local trigger driver, through the same invocation protocol.
func cmdServe(ctx context.Context, args []string, stdout io.Writer, lookup func(string) (string, bool)) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: behalf serve takes no arguments", errUsage)
	}
	cfg, err := config.Load(lookup)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stdout)
	l, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(cfg.Port)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	_, underHost := lookup("FUNCTIONS_CUSTOMHANDLER_PORT")
	return serveOn(ctx, l, cfg, log, serveOptions{driveTriggers: !underHost, lookup: lookup})
}

// serveOptions say what else serveOn runs next to the app.
type serveOptions struct {
	// driveTriggers runs the local trigger driver against the app.
	driveTriggers bool
	lookup        func(string) (string, bool)
}

// newLogger writes redacted JSON lines to w (stdout: the Functions host
// treats every stderr line as an error) and makes it the default logger,
// which the shared edge code logs through.
func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	log := logging.New(logging.Config{Output: w, Level: cfg.LogLevel, Attrs: []slog.Attr{slog.String("version", version)}})
	slog.SetDefault(log)
	return log
}

// serveOn builds the app and serves it on l.
func serveOn(ctx context.Context, l net.Listener, cfg *config.Config, log *slog.Logger, opts serveOptions) error {
	a, err := newApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.close(context.WithoutCancel(ctx))
	h, err := a.handler(cfg)
	if err != nil {
		return err
	}
	log.Info("serving", "addr", l.Addr().String(), "functions", a.host.FunctionNames(), "local_triggers", opts.driveTriggers)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var driverDone chan error
	if opts.driveTriggers {
		if driverDone, err = a.driveTriggers(ctx, l.Addr(), opts.lookup, log); err != nil {
			return err
		}
	}
	err = funchost.Serve(ctx, l, h, funchost.ServerConfig{
		ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout, IdleTimeout: cfg.IdleTimeout,
		ShutdownTimeout: cfg.ShutdownTimeout, Logger: log,
	})
	cancel()
	if driverDone != nil {
		if derr := <-driverDone; derr != nil && !errors.Is(derr, context.Canceled) {
			err = errors.Join(err, fmt.Errorf("trigger driver: %w", derr))
		}
	}
	return err
}

// driveTriggers runs the local trigger driver against this process: the
// audit writer receives from the app's own audit queue, and the timers
// (sql-expire, audit-export) tick on their function.json schedules.
func (a *app) driveTriggers(ctx context.Context, addr net.Addr, lookup func(string) (string, bool), log *slog.Logger) (chan error, error) {
	port := addr.(*net.TCPAddr).Port
	settings := settingOrDefault(lookup)
	d, err := funchost.NewDriver(funchost.DriverConfig{
		Functions: FunctionFiles(), BaseURL: "http://127.0.0.1:" + strconv.Itoa(port), Queues: queue.DriverSource(a.queues),
		Setting: func(n string) string { v, _ := settings(n); return v }, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	return done, nil
}
