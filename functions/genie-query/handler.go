// Package geniequery is the edge of the genie-query function: POST a
// question (new or follow-up) and get a governed answer computed as the
// asking person; GET /api/genie-query/{conversation_id}/{message_id} polls
// an answer that was still pending.
package geniequery

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/databricks/databricks-sdk-go"

	"github.com/behalf-dev/behalf/shared/funchost"
	"github.com/behalf-dev/behalf/shared/genie"
	"github.com/behalf-dev/behalf/shared/httpapi"
	"github.com/behalf-dev/behalf/shared/obo"
	"github.com/behalf-dev/behalf/shared/webauth"
)

// Name is the function (folder) name.
const Name = "genie-query"

// Deps are what the function needs from the identity layer.
type Deps interface {
	Authenticate(w http.ResponseWriter, r *http.Request) (*webauth.Caller, error)
	Exchange(ctx context.Context, r *http.Request, c *webauth.Caller, function string) (*obo.Token, error)
	Workspace(tok *obo.Token) (*databricks.WorkspaceClient, error)
}

// Request is the POST body.
type Request struct {
	Question       string `json:"question"`
	SpaceID        string `json:"space_id,omitempty"`
	ConversationID string `json:"conversation_id,omitempty"`
	// Wait defaults to true; false answers 202 with ids at once.
	Wait *bool `json:"wait,omitempty"`
}

// Observer is told about every question (the audit hook).
type Observer func(ctx context.Context, c *webauth.Caller, tok *obo.Token, q Request, a *genie.Answer, err error)

// Function returns the HTTP function.
func Function(d Deps, svc *genie.Service, observe Observer) funchost.HTTPFunction {
	h := &handler{d: d, svc: svc, observe: observe}
	return funchost.HTTPFunction{Name: Name, Route: "genie-query/{*path}", Methods: []string{http.MethodPost, http.MethodGet}, Handler: h}
}

type handler struct {
	d       Deps
	svc     *genie.Service
	observe Observer
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.Trim(r.PathValue("path"), "/")
	var err error
	switch {
	case r.Method == http.MethodPost && path == "":
		err = h.ask(w, r)
	case r.Method == http.MethodGet && strings.Count(path, "/") == 1:
		conv, msg, _ := strings.Cut(path, "/")
		err = h.poll(w, r, conv, msg)
	default:
		err = httpapi.Errorf(http.StatusNotFound, httpapi.CodeNotFound, "use POST /api/genie-query or GET /api/genie-query/{conversation_id}/{message_id}")
	}
	if err != nil {
		httpapi.WriteError(w, r, mapError(err))
	}
}

func (h *handler) api(w http.ResponseWriter, r *http.Request) (*webauth.Caller, *obo.Token, genie.API, error) {
	c, err := h.d.Authenticate(w, r)
	if err != nil {
		return nil, nil, nil, err
	}
	tok, err := h.d.Exchange(r.Context(), r, c, Name)
	if err != nil {
		return c, nil, nil, err
	}
	// A client for this request only, holding only this person's token.
	wc, err := h.d.Workspace(tok)
	if err != nil {
		return c, tok, nil, err
	}
	api, err := genie.NewAPI(wc)
	return c, tok, api, err
}

func (h *handler) ask(w http.ResponseWriter, r *http.Request) error {
	var req Request
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	c, tok, api, err := h.api(w, r)
	if err != nil {
		if c != nil && h.observe != nil {
			h.observe(r.Context(), c, tok, req, nil, err)
		}
		return err
	}
	a, err := h.svc.Ask(r.Context(), api, c.Principal.OID, genie.Question{
		Text: req.Question, SpaceID: req.SpaceID, ConversationID: req.ConversationID, NoWait: req.Wait != nil && !*req.Wait,
	})
	if h.observe != nil {
		h.observe(r.Context(), c, tok, req, a, err)
	}
	if err != nil {
		return err
	}
	writeAnswer(w, a)
	return nil
}

func (h *handler) poll(w http.ResponseWriter, r *http.Request, conv, msg string) error {
	c, _, api, err := h.api(w, r)
	if err != nil {
		return err
	}
	a, err := h.svc.Poll(r.Context(), api, c.Principal.OID, conv, msg)
	if err != nil {
		return err
	}
	writeAnswer(w, a)
	return nil
}

func writeAnswer(w http.ResponseWriter, a *genie.Answer) {
	status := http.StatusOK
	if a.Pending {
		status = http.StatusAccepted
		w.Header().Set("Location", "/api/genie-query/"+a.ConversationID+"/"+a.MessageID)
	}
	httpapi.WriteJSON(w, status, a)
}

// mapError gives genie errors their HTTP status.
func mapError(err error) error {
	var ge *genie.Error
	if !errors.As(err, &ge) {
		return err
	}
	status := map[genie.Code]int{
		genie.CodeBadQuestion: http.StatusBadRequest, genie.CodeSpaceNotAllowed: http.StatusForbidden,
		genie.CodeSpaceAccessDenied: http.StatusForbidden, genie.CodeWarehouseAccess: http.StatusForbidden,
		genie.CodeTableAccess: http.StatusForbidden, genie.CodeNotFound: http.StatusNotFound,
		genie.CodeRateLimited: http.StatusTooManyRequests, genie.CodeUpstream: http.StatusServiceUnavailable,
		genie.CodeGenieFailed: http.StatusBadGateway, genie.CodeResultExpired: http.StatusGone, genie.CodeCancelled: http.StatusConflict,
		genie.CodeUnknownCreateState: http.StatusBadGateway,
	}[ge.Code]
	if status == 0 {
		status = http.StatusBadGateway
	}
	return &httpapi.Error{Status: status, Code: httpapi.Code(ge.Code), Message: ge.Message, RetryAfter: ge.RetryAfter, Err: err}
}
