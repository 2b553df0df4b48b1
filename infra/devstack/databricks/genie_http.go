package databricks

import (
	"net/http"
	"sort"
	"strings"
	"time"
)

// Wire types of the Genie Conversation API (databricks-sdk-go
// service/dashboards model).

type conversationJSON struct {
	ID                   string `json:"id"`
	ConversationID       string `json:"conversation_id"`
	SpaceID              string `json:"space_id"`
	Title                string `json:"title"`
	UserID               int64  `json:"user_id"`
	CreatedTimestamp     int64  `json:"created_timestamp"`
	LastUpdatedTimestamp int64  `json:"last_updated_timestamp"`
}

type messageJSON struct {
	ID                   string           `json:"id"`
	MessageID            string           `json:"message_id"`
	ConversationID       string           `json:"conversation_id"`
	SpaceID              string           `json:"space_id"`
	Content              string           `json:"content"`
	Status               string           `json:"status"`
	UserID               int64            `json:"user_id"`
	CreatedTimestamp     int64            `json:"created_timestamp"`
	LastUpdatedTimestamp int64            `json:"last_updated_timestamp"`
	Attachments          []attachmentJSON `json:"attachments,omitempty"`
	Error                *messageError    `json:"error,omitempty"`
	QueryResult          *queryResultJSON `json:"query_result,omitempty"`
}

type messageError struct {
	Error string `json:"error"`
	Type  string `json:"type"`
}

type queryResultJSON struct {
	StatementID string `json:"statement_id"`
	RowCount    int64  `json:"row_count"`
	IsTruncated bool   `json:"is_truncated"`
}

type attachmentJSON struct {
	AttachmentID       string            `json:"attachment_id"`
	Query              *queryAttachment  `json:"query,omitempty"`
	Text               *textAttachment   `json:"text,omitempty"`
	SuggestedQuestions *suggestedAttJSON `json:"suggested_questions,omitempty"`
}

type queryAttachment struct {
	ID                   string          `json:"id"`
	Title                string          `json:"title"`
	Description          string          `json:"description,omitempty"`
	Query                string          `json:"query"`
	StatementID          string          `json:"statement_id,omitempty"`
	QueryResultMetadata  *resultMetaJSON `json:"query_result_metadata,omitempty"`
	LastUpdatedTimestamp int64           `json:"last_updated_timestamp"`
}

type resultMetaJSON struct {
	RowCount    int64 `json:"row_count"`
	IsTruncated bool  `json:"is_truncated"`
}

type textAttachment struct {
	ID      string `json:"id"`
	Content string `json:"content"`
	Purpose string `json:"purpose,omitempty"`
}

type suggestedAttJSON struct {
	Questions []string `json:"questions"`
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func (c *conversation) json() conversationJSON {
	c.mu.Lock()
	defer c.mu.Unlock()
	return conversationJSON{ID: c.id, ConversationID: c.id, SpaceID: c.spaceID, Title: c.title, UserID: c.owner.ID,
		CreatedTimestamp: ms(c.created), LastUpdatedTimestamp: ms(c.updated)}
}

func (m *message) json() messageJSON {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := messageJSON{ID: m.id, MessageID: m.id, ConversationID: m.conv.id, SpaceID: m.conv.spaceID, Content: m.content, Status: m.status,
		UserID: m.conv.owner.ID, CreatedTimestamp: ms(m.created), LastUpdatedTimestamp: ms(m.updated)}
	done := m.status == StatusCompleted || m.status == StatusQueryResultExpired
	for _, a := range m.attachments {
		aj := attachmentJSON{AttachmentID: a.id}
		switch a.kind {
		case "query":
			q := &queryAttachment{ID: a.id, Title: a.title, Description: a.desc, Query: a.query, StatementID: m.statementID, LastUpdatedTimestamp: ms(m.updated)}
			if done {
				q.QueryResultMetadata = &resultMetaJSON{RowCount: m.rowCount, IsTruncated: m.truncated}
				out.QueryResult = &queryResultJSON{StatementID: m.statementID, RowCount: m.rowCount, IsTruncated: m.truncated}
			}
			aj.Query = q
		case "text":
			aj.Text = &textAttachment{ID: a.id, Content: a.text, Purpose: a.purpose}
		case "suggested":
			aj.SuggestedQuestions = &suggestedAttJSON{Questions: a.questions}
		}
		out.Attachments = append(out.Attachments, aj)
	}
	if m.status == StatusFailed {
		out.Error = &messageError{Error: m.errText, Type: m.errType}
	}
	return out
}

type contentRequest struct {
	Content string `json:"content"`
}

// admitQuestion applies the body checks and the workspace question limit.
func (e *Emulator) admitQuestion(r *http.Request) (string, error) {
	var req contentRequest
	if err := decodeJSON(r, &req); err != nil {
		return "", err
	}
	if strings.TrimSpace(req.Content) == "" {
		return "", errInvalidParam("content is required.")
	}
	if len(req.Content) > 16<<10 {
		return "", errInvalidParam("content is too long.")
	}
	if ok, wait := e.genieLimiter.allow(time.Now()); !ok {
		e.counters.add(func(c *Counters) { c.GenieRateLimited++ })
		return "", &APIError{Status: http.StatusTooManyRequests, Code: "RESOURCE_EXHAUSTED",
			Message: "Genie question limit reached for this workspace; retry after the Retry-After delay.", RetryAfter: wait}
	}
	return req.Content, nil
}

func (e *Emulator) handleStartConversation(w http.ResponseWriter, r *http.Request, p *Principal) {
	sp, err := e.spaceFor(r, p)
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	content, err := e.admitQuestion(r)
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	now := time.Now()
	title := content
	if len(title) > 80 {
		title = title[:80]
	}
	c := &conversation{id: newID(), spaceID: sp.ID, owner: p, title: title, created: now, updated: now}
	e.conversations.mu.Lock()
	e.conversations.byID[c.id] = c
	e.conversations.mu.Unlock()
	m := e.newMessage(c, sp, content)
	cj, mj := c.json(), m.json()
	writeJSON(w, http.StatusOK, struct {
		ConversationID string           `json:"conversation_id"`
		MessageID      string           `json:"message_id"`
		Conversation   conversationJSON `json:"conversation"`
		Message        messageJSON      `json:"message"`
	}{c.id, m.id, cj, mj})
}

// ownConversation finds a conversation of the caller in the space; a
// conversation belongs to the person who started it.
func (e *Emulator) ownConversation(r *http.Request, p *Principal) (*Space, *conversation, error) {
	sp, err := e.spaceFor(r, p)
	if err != nil {
		return nil, nil, err
	}
	id := r.PathValue("conversation_id")
	e.conversations.mu.Lock()
	c := e.conversations.byID[id]
	e.conversations.mu.Unlock()
	if c == nil || c.spaceID != sp.ID {
		return nil, nil, errNotFound("Conversation " + id + " does not exist.")
	}
	if c.owner.UserName != p.UserName {
		return nil, nil, errPermissionDenied("User "+p.UserName+" does not own conversation "+id+".", "CONVERSATION_ACCESS_DENIED")
	}
	return sp, c, nil
}

func (e *Emulator) ownMessage(r *http.Request, p *Principal) (*Space, *message, error) {
	sp, c, err := e.ownConversation(r, p)
	if err != nil {
		return nil, nil, err
	}
	id := r.PathValue("message_id")
	e.conversations.mu.Lock()
	m := e.conversations.msgID[id]
	e.conversations.mu.Unlock()
	if m == nil || m.conv != c {
		return nil, nil, errNotFound("Message " + id + " does not exist.")
	}
	return sp, m, nil
}

func (e *Emulator) handleCreateMessage(w http.ResponseWriter, r *http.Request, p *Principal) {
	sp, c, err := e.ownConversation(r, p)
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	content, err := e.admitQuestion(r)
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e.newMessage(c, sp, content).json())
}

func (e *Emulator) handleGetMessage(w http.ResponseWriter, r *http.Request, p *Principal) {
	_, m, err := e.ownMessage(r, p)
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m.json())
}

// queryAttachment checks that a message has the query attachment asked for
// (any, when attachment_id is absent) and a statement to show.
func queryAttachmentOf(m *message, attID string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range m.attachments {
		if a.kind == "query" && (attID == "" || a.id == attID) {
			switch m.status {
			case StatusExecutingQuery, StatusCompleted, StatusQueryResultExpired, StatusFailed:
				return m.statementID, nil
			}
			return "", errInvalidState("The query result is available only once the message is EXECUTING_QUERY or COMPLETED; it is " + m.status + ".")
		}
	}
	if attID != "" {
		return "", errNotFound("Query attachment " + attID + " does not exist on message " + m.id + ".")
	}
	return "", errInvalidState("Message " + m.id + " has no query attachment.")
}

// handleQueryResult serves the attachment (and deprecated message-level)
// query-result endpoints.
func (e *Emulator) handleQueryResult(w http.ResponseWriter, r *http.Request, p *Principal) {
	_, m, err := e.ownMessage(r, p)
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	stID, err := queryAttachmentOf(m, r.PathValue("attachment_id"))
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	st := e.statements.get(stID)
	if st == nil {
		e.writeError(w, r, errNotFound("The query result no longer exists."))
		return
	}
	writeJSON(w, http.StatusOK, struct {
		StatementResponse *statementResponse `json:"statement_response"`
	}{e.statementJSON(st)})
}

// handleExecuteQuery re-runs a message's query as its owner.
func (e *Emulator) handleExecuteQuery(w http.ResponseWriter, r *http.Request, p *Principal) {
	sp, m, err := e.ownMessage(r, p)
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	if _, err := queryAttachmentOf(m, r.PathValue("attachment_id")); err != nil {
		e.writeError(w, r, err)
		return
	}
	st, err := e.rerun(r.Context(), m, sp)
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		StatementResponse *statementResponse `json:"statement_response"`
	}{e.statementJSON(st)})
}

func (e *Emulator) handleListConversations(w http.ResponseWriter, r *http.Request, p *Principal) {
	sp, err := e.spaceFor(r, p)
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	type summary struct {
		ConversationID   string `json:"conversation_id"`
		CreatedTimestamp int64  `json:"created_timestamp"`
		Title            string `json:"title"`
	}
	out := struct {
		Conversations []summary `json:"conversations"`
	}{Conversations: []summary{}}
	e.conversations.mu.Lock()
	for _, c := range e.conversations.byID {
		if c.spaceID == sp.ID && c.owner.UserName == p.UserName {
			out.Conversations = append(out.Conversations, summary{c.id, ms(c.created), c.title})
		}
	}
	e.conversations.mu.Unlock()
	sort.Slice(out.Conversations, func(i, j int) bool {
		return out.Conversations[i].CreatedTimestamp > out.Conversations[j].CreatedTimestamp
	})
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) handleListMessages(w http.ResponseWriter, r *http.Request, p *Principal) {
	_, c, err := e.ownConversation(r, p)
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	c.mu.Lock()
	msgs := append([]*message(nil), c.messages...)
	c.mu.Unlock()
	out := struct {
		Messages []messageJSON `json:"messages"`
	}{Messages: []messageJSON{}}
	for _, m := range msgs {
		out.Messages = append(out.Messages, m.json())
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) handleDeleteConversation(w http.ResponseWriter, r *http.Request, p *Principal) {
	_, c, err := e.ownConversation(r, p)
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	e.conversations.mu.Lock()
	delete(e.conversations.byID, c.id)
	e.conversations.mu.Unlock()
	writeJSON(w, http.StatusOK, struct{}{})
}

func (e *Emulator) handleFeedback(w http.ResponseWriter, r *http.Request, p *Principal) {
	if _, _, err := e.ownMessage(r, p); err != nil {
		e.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}
