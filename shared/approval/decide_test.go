package approval

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var (
	t0       = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	proposer = Actor{Person: Person{OID: "p", UPN: "wendy@contoso", TenantID: "t"}}
	approver = Actor{Person: Person{OID: "a", UPN: "april@contoso", TenantID: "t"}, Approver: true}
	stranger = Actor{Person: Person{OID: "s", UPN: "eli@contoso", TenantID: "t"}}
	// The proposer also in the approvers group still cannot approve.
	proposerApprover = Actor{Person: proposer.Person, Approver: true}
)

func op(policy Policy) *Operation {
	stmt := "DELETE FROM main.sales.deals WHERE stage = 'test'"
	return &Operation{ID: "op1", Proposer: proposer.Person, Statement: stmt, StatementSHA256: HashStatement(stmt), Policy: policy, ExpiresAt: t0.Add(time.Hour)}
}

func TestDecideTable(t *testing.T) {
	type step struct {
		actor Actor
		kind  Kind
		code  string // refusal code, "" for accepted
		run   bool
		after Status
	}
	cases := []struct {
		name   string
		policy Policy
		steps  []step
	}{
		{"self: proposer confirms and it runs", PolicySelf, []step{{proposer, KindConfirm, "", true, StatusExecuting}}},
		{"self: someone else cannot confirm", PolicySelf, []step{{stranger, KindConfirm, "FORBIDDEN", false, StatusPending}, {approver, KindConfirm, "FORBIDDEN", false, StatusPending}}},
		{"self: approve is not part of the policy", PolicySelf, []step{{approver, KindApprove, "CONFLICT", false, StatusPending}}},
		{"self: proposer cancels", PolicySelf, []step{{proposer, KindCancel, "", false, StatusCancelled}, {proposer, KindConfirm, "CONFLICT", false, StatusCancelled}}},
		{"four-eyes: own approve refused", PolicyFourEyes, []step{{proposerApprover, KindApprove, "FORBIDDEN", false, StatusPending}}},
		{"four-eyes: non-approver refused", PolicyFourEyes, []step{{stranger, KindApprove, "FORBIDDEN", false, StatusPending}}},
		{"four-eyes: confirm before approval refused", PolicyFourEyes, []step{{proposer, KindConfirm, "CONFLICT", false, StatusPending}}},
		{"four-eyes: approve then confirm runs", PolicyFourEyes, []step{{approver, KindApprove, "", false, StatusApproved}, {approver, KindConfirm, "FORBIDDEN", false, StatusApproved}, {proposer, KindConfirm, "", true, StatusExecuting}}},
		{"four-eyes: replayed approve refused", PolicyFourEyes, []step{{approver, KindApprove, "", false, StatusApproved}, {approver, KindApprove, "CONFLICT", false, StatusApproved}}},
		{"four-eyes: reject ends it", PolicyFourEyes, []step{{approver, KindReject, "", false, StatusRejected}, {proposer, KindConfirm, "CONFLICT", false, StatusRejected}}},
		{"four-eyes: proposer cannot reject", PolicyFourEyes, []step{{proposerApprover, KindReject, "FORBIDDEN", false, StatusPending}}},
		{"four-eyes: stranger cannot cancel", PolicyFourEyes, []step{{stranger, KindCancel, "FORBIDDEN", false, StatusPending}}},
		{"executing: second confirm refused", PolicySelf, []step{{proposer, KindConfirm, "", true, StatusExecuting}, {proposer, KindConfirm, "CONFLICT", false, StatusExecuting}}},
		{"unknown decision", PolicySelf, []step{{proposer, Kind("run"), "BAD_REQUEST", false, StatusPending}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := op(tc.policy)
			st := State{Status: StatusPending}
			for i, s := range tc.steps {
				next, run, err := Decide(o, st, s.actor, s.kind, "", t0)
				var r *Refusal
				switch {
				case s.code == "" && err != nil:
					t.Fatalf("step %d: refused: %v", i, err)
				case s.code != "" && (!errors.As(err, &r) || r.Code != s.code):
					t.Fatalf("step %d: err %v, want %s", i, err, s.code)
				}
				if s.code != "" && (len(next.Decisions) != len(st.Decisions) || next.Status != st.Status) {
					t.Fatalf("step %d: a refused decision changed the state", i)
				}
				if run != s.run || next.Status != s.after {
					t.Fatalf("step %d: run %v status %s, want %v %s", i, run, next.Status, s.run, s.after)
				}
				st = next
			}
		})
	}
}

func TestDecisionAfterExpiryRefused(t *testing.T) {
	o := op(PolicySelf)
	_, run, err := Decide(o, State{}, proposer, KindConfirm, "", o.ExpiresAt)
	var r *Refusal
	if run || !errors.As(err, &r) || r.Code != "EXPIRED" {
		t.Fatalf("run %v err %v", run, err)
	}
	st, ok := Expire(State{Status: StatusApproved}, t0)
	if !ok || st.Status != StatusExpired {
		t.Fatal("approved operation did not expire")
	}
	if _, ok := Expire(State{Status: StatusExecuting}, t0); ok {
		t.Fatal("an executing operation must not be marked expired")
	}
}

func TestTamperedStatementNeverRuns(t *testing.T) {
	o := op(PolicySelf)
	o.Statement = "DELETE FROM main.sales.deals"
	_, run, err := Decide(o, State{}, proposer, KindConfirm, "", t0)
	if run || err == nil {
		t.Fatal("statement that no longer matches its hash was run")
	}
}

func TestReasonBounded(t *testing.T) {
	if _, _, err := Decide(op(PolicySelf), State{}, proposer, KindCancel, strings.Repeat("x", MaxReasonBytes+1), t0); err == nil {
		t.Fatal("oversized reason accepted")
	}
}
