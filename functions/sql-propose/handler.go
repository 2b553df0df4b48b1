// Package sqlpropose is the edge of the sql-propose function: a person (or
// an agent for them) submits one SQL statement. A statement proven
// read-only runs at once with the person's own token and answers a table;
// anything else answers 202 with a pending operation that waits for its
// approval — nothing runs.
package sqlpropose

import (
	"context"
	"net/http"
	"time"

	"github.com/databricks/databricks-sdk-go"

	"github.com/behalf-dev/behalf/shared/approval"
	"github.com/behalf-dev/behalf/shared/funchost"
	"github.com/behalf-dev/behalf/shared/httpapi"
	"github.com/behalf-dev/behalf/shared/obo"
	"github.com/behalf-dev/behalf/shared/resultset"
	"github.com/behalf-dev/behalf/shared/sqlexec"
	"github.com/behalf-dev/behalf/shared/sqlops"
	"github.com/behalf-dev/behalf/shared/webauth"
)

// Name is the function (folder) name.
const Name = "sql-propose"

// Deps are what the function needs from the identity layer.
type Deps interface {
	Authenticate(w http.ResponseWriter, r *http.Request) (*webauth.Caller, error)
	Exchange(ctx context.Context, r *http.Request, c *webauth.Caller, function string) (*obo.Token, error)
	Workspace(tok *obo.Token) (*databricks.WorkspaceClient, error)
}

// Audit records what happened (the audit trail). AdmitRead refuses a read
// when the trail cannot take its record (reads are not served unaudited);
// Proposed must be durable before the caller hears of the operation.
type Audit interface {
	AdmitRead(ctx context.Context) error
	Read(ctx context.Context, e ReadEvent)
	Proposed(ctx context.Context, e ProposeEvent) error
}

// ReadEvent is one read-only statement's outcome.
type ReadEvent struct {
	Request *http.Request
	Caller  *webauth.Caller
	Token   *obo.Token
	Plan    *sqlops.Plan
	Result  *sqlexec.Result
	Err     error
	Started time.Time
}

// ProposeEvent is one proposal's outcome.
type ProposeEvent struct {
	Request  *http.Request
	Caller   *webauth.Caller
	Plan     *sqlops.Plan
	Proposed *sqlops.Proposed
	Err      error
	Started  time.Time
}

// Function returns the HTTP function; audit may be nil (tests).
func Function(d Deps, svc *sqlops.Service, audit Audit) funchost.HTTPFunction {
	h := &handler{d: d, svc: svc, audit: audit}
	return funchost.HTTPFunction{Name: Name, Route: "sql-propose", Methods: []string{http.MethodPost}, Handler: h}
}

type handler struct {
	d     Deps
	svc   *sqlops.Service
	audit Audit
}

// ReadAnswer is the answer to a read-only statement: the same table shape
// as genie-query.
type ReadAnswer struct {
	ReadOnly    bool               `json:"read_only"`
	Class       string             `json:"class"`
	StatementID string             `json:"statement_id"`
	Tables      []string           `json:"tables"`
	Columns     []resultset.Column `json:"columns"`
	Rows        [][]any            `json:"rows"`
	RowCount    int                `json:"row_count"`
	TotalRows   int64              `json:"total_rows"`
	Truncated   bool               `json:"truncated"`
}

// PendingAnswer is the answer to a statement that needs approval.
type PendingAnswer struct {
	OpID            string          `json:"op_id"`
	Status          approval.Status `json:"status"`
	ReadOnly        bool            `json:"read_only"`
	Class           string          `json:"class"`
	Risk            string          `json:"risk"`
	Policy          approval.Policy `json:"policy"`
	Tables          []string        `json:"tables"`
	Reasons         []string        `json:"reasons,omitempty"`
	StatementSHA256 string          `json:"statement_sha256"`
	WarehouseID     string          `json:"warehouse_id"`
	ExpiresAt       time.Time       `json:"expires_at"`
	ApproveURL      string          `json:"approve_url"`
	Notification    Notification    `json:"notification"`
}

// Notification says whether approvers were told.
type Notification struct {
	Sent  bool   `json:"sent"`
	Error string `json:"error,omitempty"`
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h.serve(w, r); err != nil {
		httpapi.WriteError(w, r, mapError(err))
	}
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request) error {
	started := time.Now()
	var req sqlops.Request
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	c, err := h.d.Authenticate(w, r)
	if err != nil {
		return err
	}
	plan, err := h.svc.Check(req)
	if err != nil {
		return err
	}
	if plan.Verdict.ReadOnly {
		return h.read(w, r, c, plan, started)
	}
	return h.propose(w, r, c, plan, started)
}

func (h *handler) read(w http.ResponseWriter, r *http.Request, c *webauth.Caller, plan *sqlops.Plan, started time.Time) error {
	if h.audit != nil {
		if err := h.audit.AdmitRead(r.Context()); err != nil {
			return err
		}
	}
	ev := ReadEvent{Request: r, Caller: c, Plan: plan, Started: started}
	res, err := h.runRead(r, c, plan, &ev)
	ev.Result, ev.Err = res, err
	if h.audit != nil {
		h.audit.Read(r.Context(), ev)
	}
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, ReadAnswer{ReadOnly: true, Class: plan.Verdict.Class.String(), StatementID: res.StatementID,
		Tables: plan.Verdict.Tables, Columns: res.Table.Columns, Rows: res.Table.Rows, RowCount: res.Table.RowCount,
		TotalRows: res.Table.TotalRows, Truncated: res.Table.Truncated})
	return nil
}

func (h *handler) runRead(r *http.Request, c *webauth.Caller, plan *sqlops.Plan, ev *ReadEvent) (*sqlexec.Result, error) {
	tok, err := h.d.Exchange(r.Context(), r, c, Name)
	if err != nil {
		return nil, err
	}
	ev.Token = tok
	// A client for this request only, holding only this person's token.
	wc, err := h.d.Workspace(tok)
	if err != nil {
		return nil, err
	}
	runner, err := sqlexec.New(wc)
	if err != nil {
		return nil, err
	}
	return h.svc.RunRead(r.Context(), runner, plan)
}

func (h *handler) propose(w http.ResponseWriter, r *http.Request, c *webauth.Caller, plan *sqlops.Plan, started time.Time) error {
	p := c.Principal
	who := approval.Person{OID: p.OID, UPN: p.UPN, Name: p.Name, TenantID: p.TenantID}
	prop, err := h.svc.Propose(r.Context(), who, plan, httpapi.RequestIDFrom(r))
	if h.audit != nil {
		if aerr := h.audit.Proposed(r.Context(), ProposeEvent{Request: r, Caller: c, Plan: plan, Proposed: prop, Err: err, Started: started}); aerr != nil && err == nil {
			return aerr
		}
	}
	if err != nil {
		return err
	}
	op := prop.Operation
	ans := PendingAnswer{OpID: op.ID, Status: approval.StatusPending, Class: op.Class, Risk: op.Risk, Policy: op.Policy,
		Tables: op.Tables, Reasons: plan.Verdict.Reasons, StatementSHA256: op.StatementSHA256, WarehouseID: op.WarehouseID,
		ExpiresAt: op.ExpiresAt, ApproveURL: prop.ReviewURL, Notification: Notification{Sent: prop.NotifyError == nil}}
	if prop.NotifyError != nil {
		ans.Notification.Error = "approvers could not be notified in Teams; share the approve_url with them"
	}
	if ans.Tables == nil {
		ans.Tables = []string{}
	}
	w.Header().Set("Location", prop.ReviewURL)
	httpapi.WriteJSON(w, http.StatusAccepted, ans)
	return nil
}
