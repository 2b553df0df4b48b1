package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	geniequery "github.com/behalf-dev/behalf/functions/genie-query"
	sqlpropose "github.com/behalf-dev/behalf/functions/sql-propose"
	"github.com/behalf-dev/behalf/shared/audit"
	"github.com/behalf-dev/behalf/shared/funchost"
	"github.com/behalf-dev/behalf/shared/genie"
	"github.com/behalf-dev/behalf/shared/httpapi"
	"github.com/behalf-dev/behalf/shared/obo"
	"github.com/behalf-dev/behalf/shared/webauth"
)

// auditGlue turns what the functions do into audit events. Every HTTP
// request to a function (health aside) ends in at least one event: the
// functions with a domain hook (genie-query, sql-propose, the approval
// state machine) record their own, richer events; for every other request
// the wrapper records one from the answer's status.
type auditGlue struct {
	e *audit.Emitter
	// statements records statement text, not only its hash.
	statements bool
	mode       audit.Mode
}

// requestAudit is what a request learns about itself on the way: who the
// caller is and how behalf acted for them. It is filled by identityDeps
// and read by the wrapper once the handler is done.
type requestAudit struct {
	r        *http.Request
	started  time.Time
	mu       sync.Mutex
	caller   *webauth.Caller
	token    *obo.Token
	recorded bool
}

// event starts an event for this request (who, when, from where).
func (ra *requestAudit) event(g *auditGlue, function, action string) audit.Event {
	ra.mu.Lock()
	defer ra.mu.Unlock()
	return g.event(ra.r, function, action, ra.started, ra.caller, ra.token)
}

type requestAuditKey struct{}

func requestAuditFrom(ctx context.Context) *requestAudit {
	ra, _ := ctx.Value(requestAuditKey{}).(*requestAudit)
	return ra
}

func noteCaller(ctx context.Context, c *webauth.Caller) {
	if ra := requestAuditFrom(ctx); ra != nil {
		ra.mu.Lock()
		ra.caller = c
		ra.mu.Unlock()
	}
}

func noteToken(ctx context.Context, t *obo.Token) {
	if ra := requestAuditFrom(ctx); ra != nil {
		ra.mu.Lock()
		ra.token = t
		ra.mu.Unlock()
	}
}

func markRecorded(ctx context.Context) {
	if ra := requestAuditFrom(ctx); ra != nil {
		ra.mu.Lock()
		ra.recorded = true
		ra.mu.Unlock()
	}
}

// wrap audits every request of f. change marks state-changing requests,
// which are refused (503) unless the trail is healthy; reads follow the
// configured fail mode.
func (g *auditGlue) wrap(f funchost.HTTPFunction, change func(*http.Request) bool) funchost.HTTPFunction {
	next := f.Handler
	name := f.Name
	f.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := audit.Read
		if change != nil && change(r) {
			kind = audit.Change
		}
		if err := g.e.Admit(kind); err != nil {
			httpapi.WriteError(w, r, &httpapi.Error{Status: http.StatusServiceUnavailable, Code: httpapi.CodeUnavailable,
				Message: "the audit trail cannot record this request now, so it is not served; retry shortly", RetryAfter: 5 * time.Second, Err: err})
			return
		}
		ra := &requestAudit{r: r, started: time.Now()}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), requestAuditKey{}, ra)))
		ra.mu.Lock()
		defer ra.mu.Unlock()
		if ra.recorded {
			return
		}
		ev := g.event(r, name, actionOf(name, r), ra.started, ra.caller, ra.token)
		ev.Status, ev.ErrorCode = statusOf(rec.status, rec.errorCode())
		if op := r.PathValue("op_id"); op != "" && name == "sql-approve" {
			ev.Target.OpID = op
		}
		g.emit(r.Context(), ev)
	})
	return f
}

func (g *auditGlue) emit(ctx context.Context, ev audit.Event) {
	// Emit only fails when the buffer is full or the emitter closed; Admit
	// refused the request up front in that case, so a failure here is a
	// race with shutdown, and the emitter counts it for /api/health.
	_ = g.e.Emit(ctx, ev)
}

func (g *auditGlue) event(r *http.Request, function, action string, started time.Time, c *webauth.Caller, tok *obo.Token) audit.Event {
	ev := audit.Event{Time: started.UTC(), RequestID: httpapi.RequestIDFrom(r), Function: function, Action: action,
		LatencyMS: time.Since(started).Milliseconds(), ClientAddress: clientAddress(r)}
	if c != nil {
		ev.Actor = audit.ActorFromPrincipal(c.Principal)
	}
	if tok != nil {
		ev.OnBehalfOf = audit.Mode(tok.Mode)
		ev.Actor.Role = tok.Role
	}
	return ev
}

// actionOf names what a generic request attempted.
func actionOf(function string, r *http.Request) string {
	switch function {
	case "auth-callback":
		return "auth." + r.PathValue("action")
	case "obo-exchange":
		return "obo.exchange"
	case "genie-query":
		if r.Method == http.MethodPost {
			return "genie.ask"
		}
		return "genie.poll"
	case "sql-approve":
		if r.Method == http.MethodGet {
			return "sql.view"
		}
		return "sql.decide"
	case "audit-query":
		return "audit.query"
	}
	return strings.ReplaceAll(function, "-", "_") + "." + strings.ToLower(r.Method)
}

func statusOf(httpStatus int, code string) (audit.Status, string) {
	switch {
	case httpStatus < 400:
		return audit.StatusSuccess, ""
	case httpStatus == http.StatusUnauthorized || httpStatus == http.StatusForbidden:
		return audit.StatusAccessDenied, code
	}
	return audit.StatusError, code
}

func clientAddress(r *http.Request) string {
	if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
		first, _, _ := strings.Cut(xff, ",")
		if ip := net.ParseIP(strings.TrimSpace(first)); ip != nil {
			return ip.String()
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return ""
	}
	return host
}

// statusRecorder keeps the status and the start of an error body (for
// its stable code).
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
	body   bytes.Buffer
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if !s.wrote {
		s.status, s.wrote = http.StatusOK, true
	}
	if s.status >= 400 && s.body.Len() < 4096 {
		s.body.Write(b[:min(len(b), 4096-s.body.Len())])
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) errorCode() string {
	var body struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(s.body.Bytes(), &body) != nil {
		return ""
	}
	return body.Error.Code
}

// errorStatus sorts a failure into access_denied or error, with its code.
func errorStatus(err error) (audit.Status, string) {
	var he *httpapi.Error
	if errors.As(err, &he) {
		return statusOf(he.Status, string(he.Code))
	}
	var ge *genie.Error
	if errors.As(err, &ge) {
		switch ge.Code {
		case genie.CodeSpaceNotAllowed, genie.CodeSpaceAccessDenied, genie.CodeWarehouseAccess, genie.CodeTableAccess, genie.CodeNotFound:
			return audit.StatusAccessDenied, string(ge.Code)
		}
		return audit.StatusError, string(ge.Code)
	}
	var mapped *httpapi.Error
	if errors.As(sqlpropose.MapSQLError(err), &mapped) {
		return statusOf(mapped.Status, string(mapped.Code))
	}
	return audit.StatusError, string(httpapi.CodeInternal)
}

// genieObserver records one event per question.
func (g *auditGlue) genieObserver() geniequery.Observer {
	return func(ctx context.Context, c *webauth.Caller, tok *obo.Token, q geniequery.Request, a *genie.Answer, err error) {
		ra := requestAuditFrom(ctx)
		if ra == nil {
			return
		}
		noteCaller(ctx, c)
		if tok != nil {
			noteToken(ctx, tok)
		}
		ev := ra.event(g, "genie-query", "genie.ask")
		ev.Target = audit.Target{SpaceID: q.SpaceID, ConversationID: q.ConversationID}
		switch {
		case err != nil:
			ev.Status, ev.ErrorCode = errorStatus(err)
		case a.Pending:
			ev.Status = audit.StatusPending
		default:
			ev.Status = audit.StatusSuccess
			ev.Rows, ev.Truncated = audit.Int64(int64(a.RowCount)), a.Truncated
		}
		if a != nil {
			ev.Target.SpaceID, ev.Target.ConversationID, ev.Target.MessageID = a.SpaceID, a.ConversationID, a.MessageID
		}
		g.emit(ctx, ev)
		markRecorded(ctx)
	}
}
