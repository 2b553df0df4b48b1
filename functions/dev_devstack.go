//go:build devstack

package main

import (
	"context"
	"io"
	"net"

	"github.com/behalf-dev/behalf/infra/devstack/stack"
	"github.com/behalf-dev/behalf/shared/config"
	"github.com/behalf-dev/behalf/shared/funchost"
	"github.com/behalf-dev/behalf/shared/queue"
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
	return stack.Run(ctx, devOptions(opts, stdout))
}

// devOptions completes stack options with this function app: its
// function.json files, how to serve it, and the queue the trigger driver
// pumps.
func devOptions(opts stack.Options, stdout io.Writer) stack.Options {
	opts.Functions = FunctionFiles()
	opts.Serve = func(ctx context.Context, l net.Listener, settings func(string) (string, bool)) error {
		cfg, err := config.Load(settings)
		if err != nil {
			return err
		}
		// The dev stack runs the trigger driver itself (as another
		// process would).
		return serveOn(ctx, l, cfg, newLogger(cfg, stdout), serveOptions{})
	}
	opts.QueueSource = func(ctx context.Context, settings func(string) (string, bool)) (funchost.QueueSource, func(), error) {
		cfg, err := config.Load(settings)
		if err != nil {
			return nil, nil, err
		}
		q, err := newQueues(ctx, cfg)
		if err != nil {
			return nil, nil, err
		}
		return queue.DriverSource(q), func() { _ = q.Close(context.Background()) }, nil
	}
	return opts
}
