package sqlapprove

import (
	"time"

	"github.com/behalf-dev/behalf/shared/approval"
)

// Answer is an operation as the JSON API shows it.
type Answer struct {
	OpID            string               `json:"op_id"`
	Status          approval.Status      `json:"status"`
	Statement       string               `json:"statement"`
	StatementSHA256 string               `json:"statement_sha256"`
	Proposer        approval.Person      `json:"proposer"`
	Class           string               `json:"class"`
	Risk            string               `json:"risk"`
	Policy          approval.Policy      `json:"policy"`
	Tables          []string             `json:"tables"`
	WarehouseID     string               `json:"warehouse_id"`
	Catalog         string               `json:"catalog,omitempty"`
	Schema          string               `json:"schema,omitempty"`
	Parameters      []approval.Parameter `json:"parameters,omitempty"`
	CreatedAt       time.Time            `json:"created_at"`
	ExpiresAt       time.Time            `json:"expires_at"`
	Decisions       []approval.Decision  `json:"decisions"`
	Outcome         *approval.Outcome    `json:"outcome,omitempty"`
	// Actions are the decisions this viewer may take now.
	Actions []approval.Kind `json:"actions"`
}

func answerOf(v *approval.View, a approval.Actor) Answer {
	op := v.Operation
	ans := Answer{OpID: op.ID, Status: v.State.Status, Statement: op.Statement, StatementSHA256: op.StatementSHA256,
		Proposer: op.Proposer, Class: op.Class, Risk: op.Risk, Policy: op.Policy, Tables: op.Tables, WarehouseID: op.WarehouseID,
		Catalog: op.Catalog, Schema: op.Schema, Parameters: op.Parameters, CreatedAt: op.CreatedAt, ExpiresAt: op.ExpiresAt,
		Decisions: v.State.Decisions, Outcome: v.State.Outcome, Actions: actions(v, a)}
	if ans.Tables == nil {
		ans.Tables = []string{}
	}
	if ans.Decisions == nil {
		ans.Decisions = []approval.Decision{}
	}
	return ans
}

// actions lists what a would be allowed to do now, by asking the state
// machine itself (so the page never offers a button Decide would refuse).
func actions(v *approval.View, a approval.Actor) []approval.Kind {
	out := []approval.Kind{}
	now := time.Now()
	for _, k := range []approval.Kind{approval.KindApprove, approval.KindReject, approval.KindConfirm, approval.KindCancel} {
		if _, _, err := approval.Decide(v.Operation, v.State, a, k, "", now); err == nil {
			out = append(out, k)
		}
	}
	return out
}
