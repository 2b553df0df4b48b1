package sqlapprove

import (
	"bytes"
	_ "embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/behalf-dev/behalf/shared/approval"
	"github.com/behalf-dev/behalf/shared/httpapi"
)

//go:embed page.html
var pageHTML string

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"utc":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"join": strings.Join,
	"title": func(k approval.Kind) string {
		return map[approval.Kind]string{"approve": "Approve", "reject": "Reject", "confirm": "Confirm and run", "cancel": "Cancel"}[k]
	},
	"needsReason": func(k approval.Kind) bool {
		return k == approval.KindReject || k == approval.KindApprove || k == approval.KindCancel
	},
	"policyText": func(p approval.Policy) string {
		if p == approval.PolicyFourEyes {
			return "four-eyes: an approver other than the proposer approves, then the proposer confirms"
		}
		return "self: the proposer's own confirmation is the approval"
	},
}).Parse(pageHTML))

type pageData struct {
	View   *approval.View
	Viewer approval.Actor
	CSRF   string
	Done   string
	// Error pages.
	Status  int
	Code    string
	Message string
	OpID    string
}

func (d pageData) Actions() []approval.Kind {
	if d.View == nil {
		return nil
	}
	return actions(d.View, d.Viewer)
}

func (d pageData) IsProposer() bool { return d.View != nil && isProposer(d.View.Operation, d.Viewer) }

func (d pageData) DoneText() string {
	return map[string]string{
		"approve": "Your approval is recorded. The proposer can now confirm and run it.",
		"reject":  "You rejected the operation. It will not run.",
		"confirm": "The operation ran (see the outcome below).",
		"cancel":  "You cancelled the operation. It will not run.",
	}[d.Done]
}

// StatusText explains a state in words.
func (d pageData) StatusText() string {
	st := d.View.State
	switch st.Status {
	case approval.StatusPending:
		if d.View.Operation.Policy == approval.PolicyFourEyes {
			return "Waiting for an approver."
		}
		return "Waiting for the proposer to confirm."
	case approval.StatusApproved:
		return "Approved; waiting for the proposer to confirm and run it."
	case approval.StatusExecuting:
		return "Running now."
	case approval.StatusExecuted:
		return "Executed."
	case approval.StatusFailed:
		return "Failed: the statement did not change anything."
	case approval.StatusUnknown:
		return "The outcome is unknown: the run was interrupted. It will not run again; check the data before proposing it again."
	case approval.StatusRejected:
		return "Rejected by an approver. Nothing ran."
	case approval.StatusCancelled:
		return "Cancelled by the proposer. Nothing ran."
	case approval.StatusExpired:
		return "Expired: the approval window closed before it was confirmed. Nothing ran."
	}
	return string(st.Status)
}

func (h *handler) renderPage(w http.ResponseWriter, r *http.Request, d pageData, status int) {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, d); err != nil {
		slog.ErrorContext(r.Context(), "approval page failed to render", "request_id", httpapi.RequestIDFrom(r), "err", err)
		httpapi.WriteError(w, r, httpapi.Errorf(http.StatusInternalServerError, httpapi.CodeInternal, "the page could not be rendered"))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (h *handler) errorPage(w http.ResponseWriter, r *http.Request, id string, err error) {
	var he *httpapi.Error
	if !errors.As(err, &he) {
		slog.ErrorContext(r.Context(), "approval request failed", "request_id", httpapi.RequestIDFrom(r), "err", err)
		he = httpapi.Errorf(http.StatusInternalServerError, httpapi.CodeInternal, "something went wrong; retry, and quote the request id if it persists")
	}
	for k, vs := range he.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	h.renderPage(w, r, pageData{Status: he.Status, Code: string(he.Code), Message: he.Message, OpID: id}, he.Status)
}
