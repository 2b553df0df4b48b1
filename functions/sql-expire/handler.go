// Package sqlexpire is the edge of the sql-expire timer function: every
// minute (BEHALF_SQL_EXPIRE_SCHEDULE) it sweeps the pending-operations
// queue so that an operation nobody touches still ends — as expired once
// its window passes, or as unknown when a run was interrupted long ago —
// with its terminal audit record and Teams update. Service Bus expires
// messages lazily, so the sweep pulls sessions and drains the dead-letter
// queue rather than waiting for expiry to happen by itself.
package sqlexpire

import (
	"context"
	"fmt"
	"time"

	"github.com/behalf-dev/behalf/shared/approval"
	"github.com/behalf-dev/behalf/shared/funchost"
)

// Name is the function (folder) name.
const Name = "sql-expire"

// Function returns the timer function. The sweep is bounded to finish well
// within one schedule period.
func Function(svc *approval.Service, q approval.Sweepable, cfg approval.SweepConfig) funchost.TriggerFunction {
	return funchost.TriggerFunction{Name: Name, Handler: func(ctx context.Context, inv *funchost.Invocation) (*funchost.InvocationResult, error) {
		if _, err := funchost.DecodeTimer(inv, "timer"); err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(ctx, 50*time.Second)
		defer cancel()
		rep, err := svc.Sweep(ctx, q, cfg)
		if err != nil && ctx.Err() == nil {
			return nil, fmt.Errorf("sql-expire: %w", err)
		}
		line := fmt.Sprintf("swept %d operation(s): %d expired, %d unknown, %d interrupted proposals removed, %d leftovers removed, %d dead letters",
			rep.Visited, rep.Expired, rep.Unknown, rep.Orphans, rep.Cleaned, rep.DeadLetters)
		return &funchost.InvocationResult{Outputs: map[string]any{}, Logs: []string{line}, ReturnValue: rep}, nil
	}}
}
