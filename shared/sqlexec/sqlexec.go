// Package sqlexec runs one statement through the Databricks SQL Statement
// Execution API with a person's per-request client: named parameters, a
// row cap, a deadline, results decoded with NULLs intact, and failures
// mapped to actionable errors. The execute POST is never retried by the
// SDK, so a statement is sent at most once per call.
package sqlexec

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/databricks/databricks-sdk-go"
	"github.com/databricks/databricks-sdk-go/apierr"
	"github.com/databricks/databricks-sdk-go/client"

	"github.com/behalf-dev/behalf/shared/resultset"
	"github.com/behalf-dev/behalf/shared/workspace"
)

// Parameter is a named parameter (:name in the statement).
type Parameter struct {
	Name  string  `json:"name"`
	Value *string `json:"value"`
	Type  string  `json:"type,omitempty"`
}

// Statement is what to run.
type Statement struct {
	SQL         string
	WarehouseID string
	Catalog     string
	Schema      string
	Parameters  []Parameter
	// MaxRows caps rows returned (row_limit is MaxRows+1 to detect more).
	MaxRows int
}

// Result is a finished statement.
type Result struct {
	StatementID string
	State       string
	Table       *resultset.Table
}

// Code is a stable failure code.
type Code string

// Failure codes.
const (
	CodeWarehouseAccess Code = "WAREHOUSE_ACCESS_DENIED"
	CodeTableAccess     Code = "TABLE_ACCESS_DENIED"
	CodeSQLError        Code = "SQL_ERROR"
	CodeTimeout         Code = "TIMEOUT"
	CodeUpstream        Code = "UPSTREAM_UNAVAILABLE"
	CodeCancelled       Code = "CANCELLED"
	// CodeThrottled: Databricks refused to accept the statement (429);
	// it did not run.
	CodeThrottled Code = "THROTTLED"
	// CodeOutcomeUnknown: the execute request may or may not have reached
	// the warehouse (a lost answer); it must not be sent again blindly.
	CodeOutcomeUnknown Code = "OUTCOME_UNKNOWN"
)

// Error is a failed statement.
type Error struct {
	Code        Code
	Message     string
	StatementID string
	RetryAfter  time.Duration
	Err         error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Runner runs statements for one person.
type Runner struct {
	raw *client.DatabricksClient
}

// New adapts a per-request workspace client.
func New(w *databricks.WorkspaceClient) (*Runner, error) {
	raw, err := client.New(w.Config)
	if err != nil {
		return nil, fmt.Errorf("sqlexec: %w", err)
	}
	return &Runner{raw: raw}, nil
}

type executeRequest struct {
	Statement     string      `json:"statement"`
	WarehouseID   string      `json:"warehouse_id"`
	Catalog       string      `json:"catalog,omitempty"`
	Schema        string      `json:"schema,omitempty"`
	Parameters    []Parameter `json:"parameters,omitempty"`
	WaitTimeout   string      `json:"wait_timeout"`
	OnWaitTimeout string      `json:"on_wait_timeout"`
	Disposition   string      `json:"disposition"`
	Format        string      `json:"format"`
	RowLimit      int64       `json:"row_limit,omitempty"`
}

// Run executes st and waits for it until ctx's deadline. On the deadline
// a read is cancelled and reported as a timeout; when cancelOnDeadline is
// false (changes that were approved) the statement keeps running and the
// caller gets CodeTimeout with its id to check later.
func (r *Runner) Run(ctx context.Context, st Statement, cancelOnDeadline bool) (*Result, error) {
	if st.MaxRows <= 0 {
		st.MaxRows = 1000
	}
	req := executeRequest{
		Statement: st.SQL, WarehouseID: st.WarehouseID, Catalog: st.Catalog, Schema: st.Schema, Parameters: st.Parameters,
		WaitTimeout: "10s", OnWaitTimeout: "CONTINUE", Disposition: "INLINE", Format: "JSON_ARRAY", RowLimit: int64(st.MaxRows) + 1,
	}
	var res resultset.Statement
	err := r.raw.Do(workspace.NoRetry(ctx), http.MethodPost, "/api/2.0/sql/statements", jsonHeaders, nil, req, &res)
	if err != nil {
		return nil, mapRequestError(err, st.WarehouseID, true)
	}
	delay := 250 * time.Millisecond
	for !terminal(res.Status.State) {
		select {
		case <-ctx.Done():
			if cancelOnDeadline {
				cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				_ = r.raw.Do(workspace.NoRetry(cctx), http.MethodPost, "/api/2.0/sql/statements/"+url.PathEscape(res.StatementID)+"/cancel", jsonHeaders, nil, struct{}{}, nil)
				cancel()
			}
			return nil, &Error{Code: CodeTimeout, StatementID: res.StatementID, Message: "the statement did not finish in time"}
		case <-time.After(delay):
		}
		delay = min(delay*2, 3*time.Second)
		var next resultset.Statement
		if err := r.raw.Do(ctx, http.MethodGet, "/api/2.0/sql/statements/"+url.PathEscape(res.StatementID), jsonHeaders, nil, nil, &next); err != nil {
			if ctx.Err() != nil {
				continue
			}
			perr := mapRequestError(err, st.WarehouseID, false)
			var se *Error
			if errors.As(perr, &se) {
				// The statement was accepted: whatever failed now, it exists.
				se.StatementID = res.StatementID
			}
			return nil, perr
		}
		res = next
	}
	switch res.Status.State {
	case "FAILED":
		return nil, failure(&res)
	case "CANCELED", "CLOSED":
		return nil, &Error{Code: CodeCancelled, StatementID: res.StatementID, Message: "the statement was cancelled or its result is gone"}
	}
	t, err := resultset.FromStatement(&res, st.MaxRows)
	if err != nil {
		return nil, &Error{Code: CodeUpstream, StatementID: res.StatementID, Message: "the result could not be read", Err: err}
	}
	return &Result{StatementID: res.StatementID, State: res.Status.State, Table: t}, nil
}

var jsonHeaders = map[string]string{"Accept": "application/json", "Content-Type": "application/json"}

func terminal(state string) bool {
	switch state {
	case "SUCCEEDED", "FAILED", "CANCELED", "CLOSED":
		return true
	}
	return false
}

func failure(res *resultset.Statement) *Error {
	msg := "the statement failed"
	if e := res.Status.Error; e != nil {
		msg = e.Message
		if strings.Contains(msg, "INSUFFICIENT_PERMISSIONS") || strings.Contains(msg, "PERMISSION_DENIED") || e.ErrorCode == "PERMISSION_DENIED" {
			return &Error{Code: CodeTableAccess, StatementID: res.StatementID, Message: "you lack a privilege this statement needs: " + short(msg)}
		}
	}
	return &Error{Code: CodeSQLError, StatementID: res.StatementID, Message: short(msg)}
}

// mapRequestError explains a rejected request. For the execute POST, a
// failure without an answer from Databricks leaves the outcome unknown.
func mapRequestError(err error, warehouse string, execute bool) error {
	var ue *workspace.UpstreamStatusError
	if errors.As(err, &ue) {
		if ue.StatusCode == http.StatusTooManyRequests {
			code := CodeUpstream
			if execute {
				code = CodeThrottled
			}
			return &Error{Code: code, Message: "Databricks is throttling requests; retry later", RetryAfter: ue.RetryAfter, Err: err}
		}
		if execute {
			return &Error{Code: CodeOutcomeUnknown, Message: "Databricks failed while accepting the statement; it may or may not have run", Err: err}
		}
		return &Error{Code: CodeUpstream, Message: "Databricks is unavailable; retry shortly", RetryAfter: ue.RetryAfter, Err: err}
	}
	var ae *apierr.APIError
	if errors.As(err, &ae) {
		switch {
		case ae.StatusCode == http.StatusForbidden && (strings.Contains(strings.ToLower(ae.Message), "warehouse") || strings.Contains(ae.Message, "CAN USE") || strings.Contains(ae.Message, "CAN_USE")):
			return &Error{Code: CodeWarehouseAccess, Message: fmt.Sprintf("you lack CAN USE on SQL warehouse %s; ask an admin to grant it", warehouse), Err: err}
		case ae.StatusCode == http.StatusForbidden:
			return &Error{Code: CodeTableAccess, Message: short(ae.Message), Err: err}
		case ae.StatusCode == http.StatusNotFound:
			return &Error{Code: CodeSQLError, Message: "no such warehouse or statement: " + short(ae.Message), Err: err}
		case ae.StatusCode >= 400 && ae.StatusCode < 500:
			return &Error{Code: CodeSQLError, Message: short(ae.Message), Err: err}
		}
		return &Error{Code: CodeUpstream, Message: "Databricks is unavailable; retry shortly", Err: err}
	}
	if execute {
		return &Error{Code: CodeOutcomeUnknown, Message: "the statement request got no answer; it may or may not have run", Err: err}
	}
	return &Error{Code: CodeUpstream, Message: "Databricks could not be reached", Err: err}
}

func short(s string) string {
	if len(s) > 400 {
		return s[:400] + "…"
	}
	return s
}
