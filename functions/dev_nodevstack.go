//go:build !devstack

package main

import (
	"context"
	"errors"
	"io"
)

// cmdDev is unavailable in production builds: the emulators mint tokens,
// so they are compiled only with the devstack build tag (make run).
func cmdDev(_ context.Context, _ []string, _, _ io.Writer, _ func(string) (string, bool)) error {
	return errors.New("this binary was built without the dev stack; run `make run` (go run -tags devstack ./functions dev)")
}
