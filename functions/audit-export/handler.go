// Package auditexport is the edge of the audit-export function: a timer
// trigger (schedule from BEHALF_AUDIT_EXPORT_SCHEDULE, default daily at
// 02:00 UTC) that writes the last whole period of the audit chain to the
// configured sink with shared/audit/export.
//
// A failed run answers an error (the host logs it; timers are not
// retried). Nothing is lost by that: the next run exports everything
// after the last manifest, resuming an interrupted one.
package auditexport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/behalf-dev/behalf/shared/audit"
	"github.com/behalf-dev/behalf/shared/audit/export"
	"github.com/behalf-dev/behalf/shared/funchost"
)

// Name is the function (folder) name; Binding is the trigger's name.
const (
	Name    = "audit-export"
	Binding = "timer"
)

// Exporter is what the function needs (export.Exporter).
type Exporter interface {
	Export(ctx context.Context, at time.Time) (*export.Result, error)
}

// Trail records each run (audit.Emitter; optional).
type Trail interface {
	Emit(ctx context.Context, ev audit.Event) error
}

// Config configures the function.
type Config struct {
	// Exporter is nil when no sink is configured: the function then
	// answers success and logs that exports are off.
	Exporter Exporter
	Trail    Trail
	// Actor is behalf's own identity, for the run's audit event.
	Actor  audit.Actor
	Logger *slog.Logger
	// Now is the clock (tests).
	Now func() time.Time
	// Timeout bounds one run (default 9 minutes, under the Functions
	// default of 10).
	Timeout time.Duration
}

// Function returns the trigger function.
func Function(cfg Config) funchost.TriggerFunction {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 9 * time.Minute
	}
	return funchost.TriggerFunction{Name: Name, Handler: (&runner{cfg: cfg}).handle}
}

type runner struct{ cfg Config }

func (r *runner) handle(ctx context.Context, inv *funchost.Invocation) (*funchost.InvocationResult, error) {
	ti, err := funchost.DecodeTimer(inv, Binding)
	if err != nil {
		return nil, err
	}
	if r.cfg.Exporter == nil {
		r.cfg.Logger.InfoContext(ctx, "audit export is off (BEHALF_AUDIT_EXPORT_SINK=none)")
		return &funchost.InvocationResult{Logs: []string{"audit export is off"}}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	start := r.cfg.Now()
	res, err := r.cfg.Exporter.Export(ctx, start)
	ev := audit.Event{Function: Name, Action: "audit.export", Actor: r.cfg.Actor, OnBehalfOf: audit.ModeM2M,
		LatencyMS: max(0, r.cfg.Now().Sub(start).Milliseconds())}
	switch {
	case err == nil:
		ev.Status, ev.Rows = audit.StatusSuccess, audit.Int64(res.Manifest.Count)
	case errors.Is(err, export.ErrSuperseded):
		// A later period is already out (a late or repeated tick): nothing
		// to do, and nothing lost.
		r.cfg.Logger.WarnContext(ctx, "audit export skipped", "err", err)
		return &funchost.InvocationResult{Logs: []string{"skipped: " + err.Error()}}, nil
	case errors.Is(err, export.ErrConflict):
		ev.Status, ev.ErrorCode = audit.StatusFailed, "EXPORT_CONFLICT"
	default:
		ev.Status, ev.ErrorCode = audit.StatusError, "EXPORT_FAILED"
	}
	if r.cfg.Trail != nil {
		if eerr := r.cfg.Trail.Emit(ctx, ev); eerr != nil {
			r.cfg.Logger.ErrorContext(ctx, "audit export event could not be queued", "err", eerr)
		}
	}
	if err != nil {
		if errors.Is(err, export.ErrConflict) {
			r.cfg.Logger.ErrorContext(ctx, "audit export refused: the store or an earlier export was changed; run `behalf audit verify`", "err", err)
		}
		return nil, fmt.Errorf("%s: %w", Name, err)
	}
	m := res.Manifest
	msg := fmt.Sprintf("period %s: %d records, seq %d..%d, head %s (written: %t, resumed: %t, past due: %t)",
		m.Period.Label, m.Count, m.FirstSeq, m.LastSeq, m.HeadHash, res.Written, res.Resumed, ti.IsPastDue)
	return &funchost.InvocationResult{Logs: []string{msg}}, nil
}
