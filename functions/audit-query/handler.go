// Package auditquery is the edge of the audit-query function:
// GET /api/audit?actor=&from=&to=&status=&page_token=&limit= answers a
// page of audit records, newest first, to holders of the auditor app role
// only (everyone else gets 403). The query itself is audited: a page is
// answered only once its audit.query event was accepted.
package auditquery

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/behalf-dev/behalf/shared/audit"
	"github.com/behalf-dev/behalf/shared/funchost"
	"github.com/behalf-dev/behalf/shared/httpapi"
	"github.com/behalf-dev/behalf/shared/webauth"
)

// Name is the function (folder) name.
const Name = "audit-query"

// DefaultRole is the app role that may read the audit trail.
const DefaultRole = "auditor"

// Deps are what the function needs from the identity layer.
type Deps interface {
	Authenticate(w http.ResponseWriter, r *http.Request) (*webauth.Caller, error)
}

// Trail is the audit emitter (audit.Emitter).
type Trail interface {
	Admit(k audit.Kind) error
	Emit(ctx context.Context, ev audit.Event) error
}

// Config configures the function.
type Config struct {
	Deps  Deps
	Store audit.Querier
	// Role is the app role required (default "auditor").
	Role string
	// Trail records the queries (optional; without it queries are not
	// audited).
	Trail Trail
}

// Answer is the response body.
type Answer struct {
	Records       []json.RawMessage `json:"records"`
	NextPageToken string            `json:"next_page_token,omitempty"`
	RequestID     string            `json:"request_id"`
}

// Function returns the HTTP function.
func Function(cfg Config) funchost.HTTPFunction {
	if cfg.Role == "" {
		cfg.Role = DefaultRole
	}
	return funchost.HTTPFunction{Name: Name, Route: "audit", Methods: []string{http.MethodGet}, Handler: &handler{cfg: cfg}}
}

type handler struct{ cfg Config }

var allowedParams = map[string]bool{"actor": true, "from": true, "to": true, "status": true, "page_token": true, "limit": true}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if h.cfg.Deps == nil || h.cfg.Store == nil {
		httpapi.WriteError(w, r, httpapi.Errorf(http.StatusServiceUnavailable, httpapi.CodeUnavailable, "the audit trail is not configured"))
		return
	}
	c, err := h.cfg.Deps.Authenticate(w, r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	ev := audit.Event{Function: Name, Action: "audit.query", Actor: audit.ActorFromPrincipal(c.Principal), ClientAddress: audit.ClientAddress(r.RemoteAddr)}
	if !c.Principal.HasRole(h.cfg.Role) {
		ev.Status, ev.ErrorCode = audit.StatusAccessDenied, string(httpapi.CodePermissionDenied)
		h.emit(r, ev, start)
		httpapi.WriteError(w, r, httpapi.Errorf(http.StatusForbidden, httpapi.CodePermissionDenied, "reading the audit trail needs the %s app role", h.cfg.Role))
		return
	}
	if h.cfg.Trail != nil {
		if err := h.cfg.Trail.Admit(audit.Read); err != nil {
			httpapi.WriteError(w, r, unavailable(err))
			return
		}
	}
	q, err := parseQuery(r.URL.Query())
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	page, err := h.cfg.Store.Query(r.Context(), q)
	switch {
	case errors.Is(err, audit.ErrInvalidQuery):
		httpapi.WriteError(w, r, &httpapi.Error{Status: http.StatusBadRequest, Code: httpapi.CodeBadRequest, Message: err.Error(), Err: err})
		return
	case err != nil:
		ev.Status, ev.ErrorCode = audit.StatusError, string(httpapi.CodeUnavailable)
		h.emit(r, ev, start)
		httpapi.WriteError(w, r, &httpapi.Error{Status: http.StatusServiceUnavailable, Code: httpapi.CodeUnavailable, Message: "the audit store is unavailable; retry shortly",
			RetryAfter: 5 * time.Second, Err: err})
		return
	}
	ans := Answer{Records: make([]json.RawMessage, 0, len(page.Records)), NextPageToken: page.NextPageToken}
	for _, rec := range page.Records {
		b, err := rec.MarshalJSON()
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		ans.Records = append(ans.Records, b)
	}
	ev.Status, ev.Rows = audit.StatusSuccess, audit.Int64(int64(len(ans.Records)))
	// No unaudited reads: the answer goes out only once its event is in.
	if err := h.emit(r, ev, start); err != nil {
		httpapi.WriteError(w, r, unavailable(err))
		return
	}
	ans.RequestID = w.Header().Get(httpapi.RequestIDHeader)
	httpapi.WriteJSON(w, http.StatusOK, ans)
}

func (h *handler) emit(r *http.Request, ev audit.Event, start time.Time) error {
	if h.cfg.Trail == nil {
		return nil
	}
	ev.LatencyMS = time.Since(start).Milliseconds()
	return h.cfg.Trail.Emit(r.Context(), ev)
}

func unavailable(err error) error {
	return &httpapi.Error{Status: http.StatusServiceUnavailable, Code: httpapi.CodeUnavailable,
		Message: "the audit trail cannot record this request now, so it is refused; retry shortly", RetryAfter: 2 * time.Second, Err: err}
}

// parseQuery reads the parameters strictly: unknown or repeated ones,
// malformed times and limits are 400s.
func parseQuery(v url.Values) (audit.Query, error) {
	bad := func(format string, args ...any) (audit.Query, error) {
		return audit.Query{}, httpapi.Errorf(http.StatusBadRequest, httpapi.CodeBadRequest, format, args...)
	}
	for k, vs := range v {
		if !allowedParams[k] {
			return bad("unknown parameter %q; use actor, from, to, status, page_token and limit", truncate(k))
		}
		if len(vs) != 1 {
			return bad("parameter %s is given %d times", k, len(vs))
		}
	}
	q := audit.Query{Actor: v.Get("actor"), Status: audit.Status(v.Get("status")), PageToken: v.Get("page_token")}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if s := v.Get(f.name); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return bad("%s must be an RFC 3339 time such as 2025-03-01T00:00:00Z", f.name)
			}
			*f.dst = t
		}
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > audit.MaxQueryLimit {
			return bad("limit must be a whole number from 1 to %d", audit.MaxQueryLimit)
		}
		q.Limit = n
	}
	return q, nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
