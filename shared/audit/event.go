package audit

import (
	"time"

	"github.com/google/uuid"
)

// SchemaVersion is the event schema version carried in every event ("v").
// Fields are only ever added (with omitempty), so a verifier of any later
// version can check records written by this one.
const SchemaVersion = 1

// Event is one audit event. It is a closed set of typed fields: there is no
// map or free-form payload where a token could hide, and Validate refuses
// credential-shaped text in every field.
type Event struct {
	// V is the schema version (SchemaVersion).
	V int `json:"v"`
	// ID is a UUID, version 7 for emitted events (time-ordered, unique).
	ID string `json:"id"`
	// Time is when the action happened (UTC).
	Time time.Time `json:"time"`
	// RequestID is the HTTP request id (X-Request-Id) that caused it.
	RequestID string `json:"request_id,omitempty"`
	// Function is the behalf function, e.g. "genie-query".
	Function string `json:"function"`
	// Action is what was attempted, e.g. "genie.ask", "sql.execute".
	Action string `json:"action"`
	// Actor is who did it.
	Actor Actor `json:"actor"`
	// OnBehalfOf is how behalf acted for the actor in Databricks.
	OnBehalfOf Mode `json:"on_behalf_of,omitempty"`
	// Target is what it was done to.
	Target Target `json:"target,omitzero"`
	// StatementSHA256 is the hex SHA-256 of the statement text.
	StatementSHA256 string `json:"statement_sha256,omitempty"`
	// Statement is the statement text, only when the deployment records
	// statement text (credential-shaped literals are redacted).
	Statement string `json:"statement,omitempty"`
	// Class and Risk are the SQL classifier's verdict (read, write, ddl...;
	// low ... critical); Policy is the approval policy (self, four-eyes).
	Class  string `json:"class,omitempty"`
	Risk   string `json:"risk,omitempty"`
	Policy string `json:"policy,omitempty"`
	// Status is the outcome.
	Status Status `json:"status"`
	// ErrorCode is the stable error code of a failure (httpapi codes).
	ErrorCode string `json:"error_code,omitempty"`
	// Rows is the number of rows returned or affected, when known.
	Rows *int64 `json:"rows,omitempty"`
	// Truncated is true when the answer was cut at the row cap.
	Truncated bool `json:"truncated,omitempty"`
	// LatencyMS is how long the action took.
	LatencyMS int64 `json:"latency_ms"`
	// ClientAddress is the caller's IP address.
	ClientAddress string `json:"client_address,omitempty"`
}

// Actor is who acted. It never holds the token that proved it.
type Actor struct {
	// OID is the Entra object id (or the federated subject).
	OID string `json:"oid,omitempty"`
	// UPN is the sign-in name.
	UPN string `json:"upn,omitempty"`
	// TenantID is the tenant (tid).
	TenantID string `json:"tid,omitempty"`
	// Issuer is the token issuer.
	Issuer string `json:"issuer,omitempty"`
	// ClientAppID is the app that called behalf (azp/appid): the agent.
	ClientAppID string `json:"client_app_id,omitempty"`
	// Role is the role service principal a federated partner acted as.
	Role string `json:"role,omitempty"`
}

// Target is what an action was about.
type Target struct {
	SpaceID        string   `json:"space_id,omitempty"`
	ConversationID string   `json:"conversation_id,omitempty"`
	MessageID      string   `json:"message_id,omitempty"`
	WarehouseID    string   `json:"warehouse_id,omitempty"`
	StatementID    string   `json:"statement_id,omitempty"`
	Catalog        string   `json:"catalog,omitempty"`
	Schema         string   `json:"schema,omitempty"`
	Tables         []string `json:"tables,omitempty"`
	// OpID is the pending operation (propose → approve → run).
	OpID string `json:"op_id,omitempty"`
	// EventID names another audit event (a rejected one, for example).
	EventID string `json:"event_id,omitempty"`
}

// Mode is how behalf obtained the Databricks identity it acted with.
type Mode string

// Modes.
const (
	ModeEntraOBO   Mode = "entra-obo"
	ModeFederation Mode = "federation"
	ModeForwarded  Mode = "forwarded"
	// ModeM2M is behalf's own identity, for its background work only.
	ModeM2M Mode = "m2m"
)

// Status is an event's outcome.
type Status string

// Statuses. The operation statuses follow the propose → approve → run
// state machine of shared/approval.
const (
	StatusSuccess      Status = "success"
	StatusError        Status = "error"
	StatusAccessDenied Status = "access_denied"
	StatusPending      Status = "pending"
	StatusApproved     Status = "approved"
	StatusRejected     Status = "rejected"
	StatusCancelled    Status = "cancelled"
	StatusExecuting    Status = "executing"
	StatusExecuted     Status = "executed"
	StatusFailed       Status = "failed"
	StatusExpired      Status = "expired"
	StatusUnknown      Status = "unknown"
)

// Statuses lists every status, in documentation order.
func Statuses() []Status {
	return []Status{StatusSuccess, StatusError, StatusAccessDenied, StatusPending, StatusApproved, StatusRejected,
		StatusCancelled, StatusExecuting, StatusExecuted, StatusFailed, StatusExpired, StatusUnknown}
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	for _, k := range Statuses() {
		if s == k {
			return true
		}
	}
	return false
}

// Valid reports whether m is a known mode (the empty mode is valid: not
// every action reaches Databricks).
func (m Mode) Valid() bool {
	switch m {
	case "", ModeEntraOBO, ModeFederation, ModeForwarded, ModeM2M:
		return true
	}
	return false
}

// NewID returns a new event id: a UUID v7, so ids sort by creation time.
func NewID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// Int64 returns a pointer to n (for Event.Rows).
func Int64(n int64) *int64 { return &n }
