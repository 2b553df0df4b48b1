package genie

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/databricks/databricks-sdk-go"
	"github.com/databricks/databricks-sdk-go/apierr"
	"github.com/databricks/databricks-sdk-go/client"
	"github.com/databricks/databricks-sdk-go/service/dashboards"

	"github.com/behalf-dev/behalf/shared/resultset"
	"github.com/behalf-dev/behalf/shared/workspace"
)

// API is the part of the Genie Conversation API behalf uses, for one
// person (it is built from their per-request client).
type API interface {
	Start(ctx context.Context, space, question string) (conversation, message string, err error)
	Create(ctx context.Context, space, conversation, question string) (message string, err error)
	Message(ctx context.Context, space, conversation, message string) (*dashboards.GenieMessage, error)
	// Messages lists the conversation's messages, to check whether a
	// create whose answer was lost did happen.
	Messages(ctx context.Context, space, conversation string) ([]dashboards.GenieMessage, error)
	// Conversations lists the person's recent conversations in the space,
	// to check whether a start whose answer was lost did happen.
	Conversations(ctx context.Context, space string) ([]dashboards.GenieConversationSummary, error)
	QueryResult(ctx context.Context, space, conversation, message, attachment string) (*resultset.Statement, error)
}

// NewAPI adapts a per-request workspace client.
func NewAPI(w *databricks.WorkspaceClient) (API, error) {
	raw, err := client.New(w.Config)
	if err != nil {
		return nil, fmt.Errorf("genie: %w", err)
	}
	return &sdkAPI{w: w, raw: raw}, nil
}

type sdkAPI struct {
	w   *databricks.WorkspaceClient
	raw *client.DatabricksClient
}

// Creates go out with workspace.NoRetry: the SDK would otherwise retry a
// POST on 429/503 and could create the same message twice.
func (a *sdkAPI) Start(ctx context.Context, space, question string) (string, string, error) {
	res, err := a.w.Genie.StartConversation(workspace.NoRetry(ctx), dashboards.GenieStartConversationMessageRequest{SpaceId: space, Content: question})
	if err != nil {
		return "", "", err
	}
	return res.ConversationId, res.MessageId, nil
}

func (a *sdkAPI) Create(ctx context.Context, space, conversation, question string) (string, error) {
	res, err := a.w.Genie.CreateMessage(workspace.NoRetry(ctx), dashboards.GenieCreateConversationMessageRequest{SpaceId: space, ConversationId: conversation, Content: question})
	if err != nil {
		return "", err
	}
	return firstNonEmpty(res.MessageId, res.Response.Id), nil
}

// Reads also go out with NoRetry: the SDK ignores Retry-After, so the
// service retries them itself (see retryRead).
func (a *sdkAPI) Message(ctx context.Context, space, conversation, message string) (*dashboards.GenieMessage, error) {
	return a.w.Genie.GetMessage(workspace.NoRetry(ctx), dashboards.GenieGetConversationMessageRequest{SpaceId: space, ConversationId: conversation, MessageId: message})
}

func (a *sdkAPI) Messages(ctx context.Context, space, conversation string) ([]dashboards.GenieMessage, error) {
	res, err := a.w.Genie.ListConversationMessages(workspace.NoRetry(ctx), dashboards.GenieListConversationMessagesRequest{SpaceId: space, ConversationId: conversation, PageSize: 100})
	if err != nil {
		return nil, err
	}
	return res.Messages, nil
}

func (a *sdkAPI) Conversations(ctx context.Context, space string) ([]dashboards.GenieConversationSummary, error) {
	res, err := a.w.Genie.ListConversations(workspace.NoRetry(ctx), dashboards.GenieListConversationsRequest{SpaceId: space, PageSize: 100})
	if err != nil {
		return nil, err
	}
	return res.Conversations, nil
}

// QueryResult reads the raw JSON so that SQL NULL stays null (the SDK's
// typed data_array turns it into "").
func (a *sdkAPI) QueryResult(ctx context.Context, space, conversation, message, attachment string) (*resultset.Statement, error) {
	path := fmt.Sprintf("/api/2.0/genie/spaces/%s/conversations/%s/messages/%s/attachments/%s/query-result",
		url.PathEscape(space), url.PathEscape(conversation), url.PathEscape(message), url.PathEscape(attachment))
	var res struct {
		StatementResponse resultset.Statement `json:"statement_response"`
	}
	if err := a.raw.Do(workspace.NoRetry(ctx), http.MethodGet, path, map[string]string{"Accept": "application/json"}, nil, nil, &res); err != nil {
		return nil, err
	}
	return &res.StatementResponse, nil
}

// mapAPIError turns SDK and transport errors into actionable ones.
func mapAPIError(err error, space string) error {
	var ge *Error
	if errors.As(err, &ge) {
		return ge
	}
	var ue *workspace.UpstreamStatusError
	if errors.As(err, &ue) {
		if ue.StatusCode == http.StatusTooManyRequests {
			return &Error{Code: CodeRateLimited, Message: "Genie is rate limiting this workspace; retry later", RetryAfter: ue.RetryAfter, Err: err}
		}
		return &Error{Code: CodeUpstream, Message: "Genie is unavailable; retry shortly", RetryAfter: ue.RetryAfter, Err: err}
	}
	var ae *apierr.APIError
	if errors.As(err, &ae) {
		switch {
		case ae.StatusCode == http.StatusForbidden || ae.ErrorCode == "PERMISSION_DENIED":
			return &Error{Code: CodeSpaceAccessDenied, Message: fmt.Sprintf("you do not have access to Genie space %s; ask its owner for CAN RUN", space), Err: err}
		case ae.StatusCode == http.StatusNotFound:
			return &Error{Code: CodeNotFound, Message: "no such Genie space, conversation or message", Err: err}
		case ae.StatusCode == http.StatusTooManyRequests:
			return &Error{Code: CodeRateLimited, Message: "Genie is rate limiting this workspace; retry later", Err: err}
		case ae.StatusCode >= 500:
			return &Error{Code: CodeUpstream, Message: "Genie is unavailable; retry shortly", Err: err}
		}
		return &Error{Code: CodeGenieFailed, Message: "Genie refused the request: " + ae.Message, Err: err}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Code: CodeUpstream, Message: "Genie did not answer in time", Err: err}
	}
	return &Error{Code: CodeUpstream, Message: "Genie could not be reached", Err: err}
}

// messageFailure explains a FAILED message.
func messageFailure(m *dashboards.GenieMessage) *Error {
	typ, text := "", ""
	if m.Error != nil {
		typ, text = string(m.Error.Type), m.Error.Error
	}
	switch {
	case strings.Contains(typ, "WAREHOUSE_ACCESS_MISSING"):
		return &Error{Code: CodeWarehouseAccess, Message: "you lack CAN USE on the SQL warehouse of this Genie space; ask an admin to grant it (" + shorten(text, 300) + ")"}
	case strings.Contains(text, "INSUFFICIENT_PERMISSIONS") || strings.Contains(text, "PERMISSION_DENIED"):
		return &Error{Code: CodeTableAccess, Message: "you lack privileges on a table this question needs: " + shorten(text, 300)}
	}
	msg := "Genie could not answer this question"
	if text != "" {
		msg += ": " + shorten(text, 300)
	}
	return &Error{Code: CodeGenieFailed, Message: msg}
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
