package main

import (
	"context"

	"github.com/behalf-dev/behalf/shared/approval"
	"github.com/behalf-dev/behalf/shared/teams"
)

// approvalEvents fans what happens to operations out to the audit trail
// (which must durably record an executing event before a statement is
// sent) and to the approvers' Teams channel (best effort).
type approvalEvents struct {
	audit     approval.Events
	teams     *teamsNotifier // nil: no webhook configured
	reviewURL func(opID string) string
}

func (e *approvalEvents) Decided(ctx context.Context, op *approval.Operation, st approval.State, d approval.Decision) {
	e.audit.Decided(ctx, op, st, d)
	// Terminal decisions (reject, cancel) are announced by Finished.
	if e.teams != nil && st.Status == approval.StatusApproved {
		e.teams.update(op, teams.UpdateApproved, d.By, d.Reason, nil, e.reviewURL(op.ID))
	}
}

func (e *approvalEvents) Executing(ctx context.Context, op *approval.Operation) error {
	return e.audit.Executing(ctx, op)
}

func (e *approvalEvents) Finished(ctx context.Context, op *approval.Operation, st approval.State) {
	e.audit.Finished(ctx, op, st)
	if e.teams == nil {
		return
	}
	kind, ok := updateKind(st.Status)
	if !ok {
		return
	}
	var by approval.Person
	var reason string
	var rows *int64
	if n := len(st.Decisions); n > 0 && st.Status != approval.StatusExpired {
		by, reason = st.Decisions[n-1].By, st.Decisions[n-1].Reason
	}
	if o := st.Outcome; o != nil {
		rows = o.RowsAffected
		if st.Status == approval.StatusFailed || st.Status == approval.StatusUnknown {
			reason = o.Message
		}
	}
	e.teams.update(op, kind, by, reason, rows, e.reviewURL(op.ID))
}
