package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"

	"github.com/behalf-dev/behalf/shared/config"
	"github.com/behalf-dev/behalf/shared/funchost"
	"github.com/behalf-dev/behalf/shared/logging"
)

// cmdServe serves every function on FUNCTIONS_CUSTOMHANDLER_PORT (else
// PORT, else 7071) until ctx ends.
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
	return serveOn(ctx, l, cfg, log)
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
func serveOn(ctx context.Context, l net.Listener, cfg *config.Config, log *slog.Logger) error {
	a, err := newApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.close(context.WithoutCancel(ctx))
	h, err := a.handler(cfg)
	if err != nil {
		return err
	}
	log.Info("serving", "addr", l.Addr().String(), "functions", a.host.FunctionNames())
	return funchost.Serve(ctx, l, h, funchost.ServerConfig{
		ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout, IdleTimeout: cfg.IdleTimeout,
		ShutdownTimeout: cfg.ShutdownTimeout, Logger: log,
	})
}
