// Package sqlapprove is the edge of the sql-approve function: read an
// operation (JSON, or the approval page for browsers, which is where the
// Teams card's Review button leads) and decide on it — approve, reject,
// confirm, cancel. A confirm by the proposer, once the policy is met, runs
// the statement with the proposer's own fresh token; the rules live in
// shared/approval and shared/sqlops.
package sqlapprove

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/databricks/databricks-sdk-go"
	"github.com/google/uuid"

	sqlpropose "github.com/behalf-dev/behalf/functions/sql-propose"
	"github.com/behalf-dev/behalf/shared/approval"
	"github.com/behalf-dev/behalf/shared/funchost"
	"github.com/behalf-dev/behalf/shared/httpapi"
	"github.com/behalf-dev/behalf/shared/identity"
	"github.com/behalf-dev/behalf/shared/obo"
	"github.com/behalf-dev/behalf/shared/sqlexec"
	"github.com/behalf-dev/behalf/shared/sqlops"
	"github.com/behalf-dev/behalf/shared/webauth"
)

// Name is the function (folder) name.
const Name = "sql-approve"

// Deps are what the function needs from the identity layer.
type Deps interface {
	Authenticate(w http.ResponseWriter, r *http.Request) (*webauth.Caller, error)
	Exchange(ctx context.Context, r *http.Request, c *webauth.Caller, function string) (*obo.Token, error)
	Workspace(tok *obo.Token) (*databricks.WorkspaceClient, error)
}

// Config holds the function's dependencies.
type Config struct {
	Deps      Deps
	Approvals *approval.Service
	SQL       *sqlops.Service
	// ApproversGroup (object id) and ApproverRole make a caller an approver.
	ApproversGroup string
	ApproverRole   string
}

// Function returns the HTTP function.
func Function(cfg Config) funchost.HTTPFunction {
	h := &handler{cfg: cfg}
	return funchost.HTTPFunction{Name: Name, Route: "sql-approve/{op_id}", Methods: []string{http.MethodGet, http.MethodPost}, Handler: h}
}

type handler struct{ cfg Config }

// Request is a decision.
type Request struct {
	Decision approval.Kind `json:"decision"`
	Reason   string        `json:"reason,omitempty"`
	// StatementSHA256 and Statement, when given, must match what was
	// proposed: the decision is about the statement the caller reviewed.
	StatementSHA256 string `json:"statement_sha256,omitempty"`
	Statement       string `json:"statement,omitempty"`
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("op_id")
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		httpapi.WriteError(w, r, httpapi.Errorf(http.StatusNotFound, httpapi.CodeNotFound, "no such operation"))
		return
	}
	page := wantsHTML(r)
	var err error
	switch r.Method {
	case http.MethodGet:
		err = h.get(w, r, id, page)
	case http.MethodPost:
		err = h.post(w, r, id, isForm(r))
	}
	if err == nil {
		return
	}
	err = mapError(err)
	if page || isForm(r) {
		h.errorPage(w, r, id, err)
		return
	}
	httpapi.WriteError(w, r, err)
}

func (h *handler) actor(p *identity.Principal) approval.Actor {
	a := approval.Actor{Person: approval.Person{OID: p.OID, UPN: p.UPN, Name: p.Name, TenantID: p.TenantID}}
	a.Approver = (h.cfg.ApproversGroup != "" && p.InGroup(h.cfg.ApproversGroup)) || (h.cfg.ApproverRole != "" && p.HasRole(h.cfg.ApproverRole))
	return a
}

// authenticate sends browsers without a session to sign in and back.
func (h *handler) authenticate(w http.ResponseWriter, r *http.Request, id string, page bool) (*webauth.Caller, bool, error) {
	c, err := h.cfg.Deps.Authenticate(w, r)
	if err == nil {
		return c, false, nil
	}
	var he *httpapi.Error
	if page && r.Method == http.MethodGet && errors.As(err, &he) && he.Status == http.StatusUnauthorized && r.Header.Get("Authorization") == "" {
		http.Redirect(w, r, "/api/auth/login?redirect="+url.QueryEscape("/api/sql-approve/"+id), http.StatusFound)
		return nil, true, nil
	}
	return nil, false, err
}

func (h *handler) get(w http.ResponseWriter, r *http.Request, id string, page bool) error {
	c, redirected, err := h.authenticate(w, r, id, page)
	if redirected || err != nil {
		return err
	}
	v, err := h.cfg.Approvals.Get(r.Context(), id)
	if err != nil {
		return err
	}
	a := h.actor(c.Principal)
	if !mayView(v, a) {
		return httpapi.Errorf(http.StatusForbidden, httpapi.CodePermissionDenied, "only the proposer and approvers can see this operation")
	}
	if page {
		h.renderPage(w, r, pageData{View: v, Viewer: a, CSRF: c.CSRF, Done: r.URL.Query().Get("done")}, http.StatusOK)
		return nil
	}
	httpapi.WriteJSON(w, http.StatusOK, answerOf(v, a))
	return nil
}

func mayView(v *approval.View, a approval.Actor) bool {
	return a.Approver || isProposer(v.Operation, a)
}

func isProposer(op *approval.Operation, a approval.Actor) bool {
	return a.OID != "" && a.OID == op.Proposer.OID && strings.EqualFold(a.TenantID, op.Proposer.TenantID)
}

func (h *handler) post(w http.ResponseWriter, r *http.Request, id string, form bool) error {
	var req Request
	if form {
		if err := r.ParseForm(); err != nil {
			return httpapi.Errorf(http.StatusBadRequest, httpapi.CodeBadRequest, "the form could not be read")
		}
		req = Request{Decision: approval.Kind(r.PostForm.Get("decision")), Reason: r.PostForm.Get("reason"), StatementSHA256: r.PostForm.Get("statement_sha256")}
	} else if err := httpapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	switch req.Decision {
	case approval.KindApprove, approval.KindReject, approval.KindConfirm, approval.KindCancel:
	default:
		return httpapi.Errorf(http.StatusBadRequest, httpapi.CodeBadRequest, "decision must be approve, reject, confirm or cancel")
	}
	hash := req.StatementSHA256
	if req.Statement != "" {
		sum := approval.HashStatement(req.Statement)
		if hash != "" && hash != sum {
			return httpapi.Errorf(http.StatusBadRequest, httpapi.CodeBadRequest, "statement and statement_sha256 disagree")
		}
		hash = sum
	}
	c, err := h.cfg.Deps.Authenticate(w, r)
	if err != nil {
		return err
	}
	a := h.actor(c.Principal)
	var run approval.Runner
	if req.Decision == approval.KindConfirm {
		v, err := h.cfg.Approvals.Get(r.Context(), id)
		if err != nil {
			return err
		}
		if !isProposer(v.Operation, a) {
			return &approval.Refusal{Code: "FORBIDDEN", Message: "only the proposer can confirm: the statement runs as the proposer"}
		}
		// The statement runs with a token of the confirming person (the
		// proposer — Decide refuses anyone else), fresh for this request.
		// Getting it first means a step-up challenge changes nothing.
		tok, err := h.cfg.Deps.Exchange(r.Context(), r, c, Name)
		if err != nil {
			return err
		}
		wc, err := h.cfg.Deps.Workspace(tok)
		if err != nil {
			return err
		}
		runner, err := sqlexec.New(wc)
		if err != nil {
			return err
		}
		run = h.cfg.SQL.Runner(runner)
	}
	v, err := h.cfg.Approvals.Decide(r.Context(), id, a, req.Decision, req.Reason, hash, run)
	if err != nil {
		var ref *approval.Refusal
		if v != nil && v.Operation != nil && errors.As(err, &ref) && ref.Code == "FORBIDDEN" && !mayView(v, a) {
			return httpapi.Errorf(http.StatusForbidden, httpapi.CodePermissionDenied, "only the proposer and approvers can decide on this operation")
		}
		return err
	}
	if form {
		http.Redirect(w, r, "/api/sql-approve/"+id+"?done="+url.QueryEscape(string(req.Decision)), http.StatusSeeOther)
		return nil
	}
	httpapi.WriteJSON(w, http.StatusOK, answerOf(v, a))
	return nil
}

func wantsHTML(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, _ := mime.ParseMediaType(strings.TrimSpace(part))
		switch mt {
		case "text/html", "application/xhtml+xml":
			return true
		case "application/json":
			return false
		}
	}
	return false
}

func isForm(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return r.Method == http.MethodPost && mt == "application/x-www-form-urlencoded"
}

// mapError gives approval failures their status and stable code.
func mapError(err error) error {
	var ref *approval.Refusal
	switch {
	case errors.Is(err, approval.ErrNotFound):
		return httpapi.Errorf(http.StatusNotFound, httpapi.CodeNotFound, "no such operation")
	case errors.Is(err, approval.ErrBusy):
		e := httpapi.Errorf(http.StatusConflict, "BUSY", "another decision on this operation is in progress; retry in a moment")
		e.RetryAfter = time.Second
		return e
	case errors.As(err, &ref):
		status := map[string]int{"FORBIDDEN": http.StatusForbidden, "CONFLICT": http.StatusConflict, "EXPIRED": http.StatusGone, "BAD_REQUEST": http.StatusBadRequest}[ref.Code]
		code := httpapi.Code(ref.Code)
		if ref.Code == "FORBIDDEN" {
			code = httpapi.CodePermissionDenied
		}
		if status == 0 {
			status = http.StatusConflict
		}
		return &httpapi.Error{Status: status, Code: code, Message: ref.Message, Err: err}
	}
	return sqlpropose.MapSQLError(err)
}
