//go:build devstack

package main

import (
	"context"
	"io"
	"net"

	"github.com/behalf-dev/behalf/infra/devstack/stack"
	"github.com/behalf-dev/behalf/shared/config"
)

// cmdDev runs the whole product offline: the emulators plus this very
// function app, configured to use them.
func cmdDev(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	opts, err := stack.ParseFlags(args, stderr)
	if err != nil {
		return err
	}
	opts.Stdout = stdout
	opts.Lookup = lookup
	opts.Functions = FunctionFiles()
	opts.Serve = func(ctx context.Context, l net.Listener, settings func(string) (string, bool)) error {
		cfg, err := config.Load(settings)
		if err != nil {
			return err
		}
		return serveOn(ctx, l, cfg, newLogger(cfg, stdout))
	}
	return stack.Run(ctx, opts)
}
