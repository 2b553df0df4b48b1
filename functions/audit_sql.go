package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	sqlpropose "github.com/behalf-dev/behalf/functions/sql-propose"
	"github.com/behalf-dev/behalf/shared/approval"
	"github.com/behalf-dev/behalf/shared/audit"
	"github.com/behalf-dev/behalf/shared/httpapi"
)

// sqlAudit records sql-propose's reads and proposals.
type sqlAudit struct{ g *auditGlue }

func (s sqlAudit) AdmitRead(ctx context.Context) error {
	if err := s.g.e.Admit(audit.Read); err != nil {
		return &httpapi.Error{Status: http.StatusServiceUnavailable, Code: httpapi.CodeUnavailable,
			Message: "the audit trail cannot record this statement now, so it is not run; retry shortly", RetryAfter: 5 * time.Second, Err: err}
	}
	return nil
}

func (s sqlAudit) Read(ctx context.Context, e sqlpropose.ReadEvent) {
	ev := s.event(ctx, "sql.read", e.Plan.Request.Statement)
	ev.Target.WarehouseID, ev.Target.Catalog, ev.Target.Schema, ev.Target.Tables = e.Plan.WarehouseID, e.Plan.Catalog, e.Plan.Schema, e.Plan.Verdict.Tables
	ev.Class, ev.Risk = e.Plan.Verdict.Class.String(), e.Plan.Verdict.Risk.String()
	if e.Token != nil {
		ev.OnBehalfOf, ev.Actor.Role = audit.Mode(e.Token.Mode), e.Token.Role
	}
	if e.Err != nil {
		ev.Status, ev.ErrorCode = errorStatus(e.Err)
	} else {
		ev.Status, ev.Rows, ev.Truncated = audit.StatusSuccess, audit.Int64(int64(e.Result.Table.RowCount)), e.Result.Table.Truncated
		ev.Target.StatementID = e.Result.StatementID
	}
	ev.LatencyMS = time.Since(e.Started).Milliseconds()
	s.g.emit(ctx, ev)
	markRecorded(ctx)
}

// Proposed records a new operation durably before its proposer hears of it.
func (s sqlAudit) Proposed(ctx context.Context, e sqlpropose.ProposeEvent) error {
	ev := s.event(ctx, "sql.propose", e.Plan.Request.Statement)
	ev.Target.WarehouseID, ev.Target.Catalog, ev.Target.Schema, ev.Target.Tables = e.Plan.WarehouseID, e.Plan.Catalog, e.Plan.Schema, e.Plan.Verdict.Tables
	ev.Class, ev.Risk, ev.Policy = e.Plan.Verdict.Class.String(), e.Plan.Verdict.Risk.String(), e.Plan.Verdict.Policy.String()
	ev.LatencyMS = time.Since(e.Started).Milliseconds()
	markRecorded(ctx)
	if e.Err != nil {
		ev.Status, ev.ErrorCode = errorStatus(e.Err)
		s.g.emit(ctx, ev)
		return nil
	}
	ev.Target.OpID, ev.Status = e.Proposed.Operation.ID, audit.StatusPending
	if err := s.g.e.EmitDurable(ctx, ev); err != nil {
		return &httpapi.Error{Status: http.StatusServiceUnavailable, Code: httpapi.CodeUnavailable,
			Message: fmt.Sprintf("the operation %s was queued but the audit trail could not record it; it will expire unless confirmed", e.Proposed.Operation.ID), Err: err}
	}
	return nil
}

func (s sqlAudit) event(ctx context.Context, action, statement string) audit.Event {
	ev := audit.Event{Function: "sql-propose", Action: action}
	if ra := requestAuditFrom(ctx); ra != nil {
		ev = ra.event(s.g, "sql-propose", action)
	}
	ev.StatementSHA256 = audit.StatementSHA256(statement)
	if s.g.statements {
		ev.Statement = statement
	}
	return ev
}

// operationAudit records the life of operations: approvals, the
// executing marker (durably, before the statement is sent) and exactly one
// terminal event per operation.
type operationAudit struct{ g *auditGlue }

func (o operationAudit) base(ctx context.Context, op *approval.Operation, function, action string) audit.Event {
	ev := audit.Event{Function: function, Action: action}
	if ra := requestAuditFrom(ctx); ra != nil {
		// The request's own record (sql.view / sql.decide) is kept too:
		// these are the operation's lifecycle records.
		ev = ra.event(o.g, function, action)
	}
	ev.Target = audit.Target{OpID: op.ID, WarehouseID: op.WarehouseID, Catalog: op.Catalog, Schema: op.Schema, Tables: op.Tables}
	ev.StatementSHA256, ev.Class, ev.Risk, ev.Policy = op.StatementSHA256, op.Class, op.Risk, string(op.Policy)
	if o.g.statements {
		ev.Statement = op.Statement
	}
	return ev
}

func person(p approval.Person) audit.Actor {
	return audit.Actor{OID: p.OID, UPN: p.UPN, TenantID: p.TenantID}
}

func (o operationAudit) Decided(ctx context.Context, op *approval.Operation, st approval.State, d approval.Decision) {
	if st.Status != approval.StatusApproved {
		return // confirm is recorded by Executing, reject and cancel by Finished
	}
	ev := o.base(ctx, op, "sql-approve", "sql.approve")
	ev.Actor = mergeActor(ev.Actor, d.By)
	ev.Status = audit.StatusApproved
	o.g.emit(ctx, ev)
}

func (o operationAudit) Executing(ctx context.Context, op *approval.Operation) error {
	ev := o.base(ctx, op, "sql-approve", "sql.execute")
	ev.Actor = mergeActor(ev.Actor, op.Proposer)
	ev.Status = audit.StatusExecuting
	return o.g.e.EmitDurable(ctx, ev)
}

func (o operationAudit) Finished(ctx context.Context, op *approval.Operation, st approval.State) {
	function, action := "sql-approve", "sql.execute"
	switch st.Status {
	case approval.StatusRejected:
		action = "sql.reject"
	case approval.StatusCancelled:
		action = "sql.cancel"
	case approval.StatusExpired:
		function, action = "sql-expire", "sql.expire"
	}
	ev := o.base(ctx, op, function, action)
	if n := len(st.Decisions); n > 0 && st.Status != approval.StatusExpired {
		ev.Actor = mergeActor(ev.Actor, st.Decisions[n-1].By)
	} else {
		// Expiry (or a sweep): nobody acted; the operation's owner is
		// named so the record can be found by person.
		ev.Actor = person(op.Proposer)
	}
	ev.Status = audit.Status(st.Status)
	if out := st.Outcome; out != nil {
		ev.ErrorCode, ev.Rows, ev.Target.StatementID = out.ErrorCode, out.RowsAffected, out.StatementID
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	o.g.emit(ctx, ev)
}

// mergeActor prefers what the request verified (issuer, client app) and
// fills in the decision's person.
func mergeActor(a audit.Actor, p approval.Person) audit.Actor {
	if a.OID == "" || a.OID != p.OID {
		return person(p)
	}
	return a
}
