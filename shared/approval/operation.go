// Package approval is the life of a statement that changes data: a
// pending operation (what was proposed, by whom, bound to the exact text
// by its SHA-256), the decisions on it under the self or four-eyes policy,
// and the at-most-once run as the proposer. The state machine is a pure
// function (Decide) so every rule is table-tested; the Service applies it
// under the operation's exclusive session lock.
//
//	pending ──approve(s)──▶ approved ──proposer confirms──▶ executing ──▶ executed | failed | unknown
//	   │ └──reject──▶ rejected        └──proposer cancels──▶ cancelled
//	   └──(window passes)──▶ expired
package approval

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Policy says who must agree before a statement runs.
type Policy string

// Policies.
const (
	// PolicySelf: the proposer's own confirmation is the approval.
	PolicySelf Policy = "self"
	// PolicyFourEyes: an approver who is not the proposer approves first.
	PolicyFourEyes Policy = "four-eyes"
)

// Person is who proposed or decided.
type Person struct {
	OID      string `json:"oid"`
	UPN      string `json:"upn"`
	Name     string `json:"name,omitempty"`
	TenantID string `json:"tid"`
}

// Parameter is a named statement parameter.
type Parameter struct {
	Name  string  `json:"name"`
	Value *string `json:"value"`
	Type  string  `json:"type,omitempty"`
}

// Operation is a pending statement. It never holds a token or credential:
// the statement runs later with a fresh token of the proposer.
type Operation struct {
	ID              string      `json:"op_id"`
	Proposer        Person      `json:"proposer"`
	Statement       string      `json:"statement"`
	StatementSHA256 string      `json:"statement_sha256"`
	WarehouseID     string      `json:"warehouse_id"`
	Catalog         string      `json:"catalog,omitempty"`
	Schema          string      `json:"schema,omitempty"`
	Parameters      []Parameter `json:"parameters,omitempty"`
	Class           string      `json:"class"`
	Risk            string      `json:"risk"`
	Policy          Policy      `json:"policy"`
	Tables          []string    `json:"tables"`
	CreatedAt       time.Time   `json:"created_at"`
	ExpiresAt       time.Time   `json:"expires_at"`
	RequestID       string      `json:"request_id,omitempty"`
}

// HashStatement is the hex SHA-256 of a statement's exact text.
func HashStatement(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Intact reports whether the operation still matches its hash.
func (o *Operation) Intact() bool { return o.StatementSHA256 == HashStatement(o.Statement) }

// Status of an operation.
type Status string

// Statuses; the last six are terminal.
const (
	StatusPending   Status = "pending"
	StatusApproved  Status = "approved"
	StatusExecuting Status = "executing"
	StatusExecuted  Status = "executed"
	StatusFailed    Status = "failed"
	StatusUnknown   Status = "unknown"
	StatusRejected  Status = "rejected"
	StatusCancelled Status = "cancelled"
	StatusExpired   Status = "expired"
)

// Terminal reports whether no decision can change s any more.
func (s Status) Terminal() bool {
	switch s {
	case StatusExecuted, StatusFailed, StatusUnknown, StatusRejected, StatusCancelled, StatusExpired:
		return true
	}
	return false
}

// Kind is a decision.
type Kind string

// Decisions.
const (
	KindApprove Kind = "approve"
	KindReject  Kind = "reject"
	KindConfirm Kind = "confirm"
	KindCancel  Kind = "cancel"
)

// Decision is one recorded decision.
type Decision struct {
	Kind   Kind      `json:"decision"`
	By     Person    `json:"by"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

// Outcome is how a run ended.
type Outcome struct {
	RowsAffected *int64 `json:"rows_affected,omitempty"`
	StatementID  string `json:"statement_id,omitempty"`
	ErrorCode    string `json:"error_code,omitempty"`
	Message      string `json:"message,omitempty"`
}

// State is kept in the operation's session state.
type State struct {
	Status      Status     `json:"status"`
	Decisions   []Decision `json:"decisions"`
	ExecutingAt *time.Time `json:"executing_at,omitempty"`
	Outcome     *Outcome   `json:"outcome,omitempty"`
	UpdatedAt   time.Time  `json:"updated_at"`
}
