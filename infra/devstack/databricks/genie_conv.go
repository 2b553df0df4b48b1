package databricks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/behalf-dev/behalf/infra/devstack/databricks/govsql"
)

// Genie message statuses.
const (
	StatusSubmitted          = "SUBMITTED"
	StatusFetchingMetadata   = "FETCHING_METADATA"
	StatusAskingAI           = "ASKING_AI"
	StatusExecutingQuery     = "EXECUTING_QUERY"
	StatusCompleted          = "COMPLETED"
	StatusFailed             = "FAILED"
	StatusCancelled          = "CANCELLED"
	StatusQueryResultExpired = "QUERY_RESULT_EXPIRED"
)

type conversation struct {
	id      string
	spaceID string
	owner   *Principal
	title   string
	created time.Time

	mu       sync.Mutex
	updated  time.Time
	messages []*message
	last     *plan // the previous question's plan, for follow-ups
}

type message struct {
	id      string
	conv    *conversation
	content string
	created time.Time

	mu          sync.Mutex
	status      string
	updated     time.Time
	attachments []attachment
	errText     string
	errType     string
	sql         string // the query, once planned
	statementID string
	rowCount    int64
	truncated   bool
}

type attachment struct {
	id          string
	kind        string // query, text, suggested
	title, desc string
	query       string
	text        string
	purpose     string
	questions   []string
}

type conversationStore struct {
	mu    sync.Mutex
	byID  map[string]*conversation
	msgID map[string]*message
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "01f0" + hex.EncodeToString(b[:])[4:]
}

func (m *message) setStatus(s string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.status, m.updated = s, time.Now()
}

func (m *message) fail(text, typ string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.status, m.errText, m.errType, m.updated = StatusFailed, text, typ, time.Now()
}

// newMessage plans the answer right away (so follow-ups see this question's
// context) and reveals it over time in the background.
func (e *Emulator) newMessage(c *conversation, sp *Space, content string) *message {
	now := time.Now()
	m := &message{id: newID(), conv: c, content: content, created: now, status: StatusSubmitted, updated: now}
	beh := e.behaviour(sp.ID)
	for marker, outcome := range map[string]GenieOutcome{"#fail": GenieFail, "#cancel": GenieCancel, "#expire": GenieExpire} {
		if strings.Contains(strings.ToLower(content), marker) {
			beh.Outcome = outcome
			content = strings.ReplaceAll(strings.ToLower(content), marker, "")
		}
	}
	c.mu.Lock()
	pl := e.matcher.match(sp, content, c.last)
	if pl.example >= 0 {
		c.last = &pl
	}
	c.messages = append(c.messages, m)
	c.updated = now
	c.mu.Unlock()
	e.conversations.mu.Lock()
	e.conversations.msgID[m.id] = m
	e.conversations.mu.Unlock()
	e.counters.add(func(x *Counters) { x.GenieMessages++ })
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.progress(e.baseCtx, m, sp, pl, beh)
	}()
	return m
}

// progress walks a message through Genie's statuses.
func (e *Emulator) progress(ctx context.Context, m *message, sp *Space, pl plan, beh GenieBehaviour) {
	for _, s := range []string{StatusFetchingMetadata, StatusAskingAI} {
		if !sleepCtx(ctx, beh.StepDelay) {
			return
		}
		m.setStatus(s)
	}
	if !sleepCtx(ctx, beh.StepDelay) {
		return
	}
	switch beh.Outcome {
	case GenieFail:
		m.fail("Genie could not generate an answer (failure injected by the workspace emulator).", "GENERIC_CHAT_COMPLETION_EXCEPTION")
		return
	case GenieCancel:
		m.setStatus(StatusCancelled)
		return
	}
	if pl.example < 0 {
		e.clarify(m, sp)
		return
	}
	ex := &sp.Examples[pl.example]
	query := ex.render(pl.mods)
	owner := m.conv.owner
	if err := e.checkWarehouse(sp.WarehouseID, owner); err != nil {
		m.fail(fmt.Sprintf("User %s does not have CAN USE permission on the space's SQL warehouse %s.", owner.UserName, sp.WarehouseID), "WAREHOUSE_ACCESS_MISSING_EXCEPTION")
		return
	}
	st := e.startStatement(owner, sp.WarehouseID, govsql.Request{SQL: query, RowLimit: 10000})
	attID := newID()
	m.mu.Lock()
	m.sql, m.statementID = query, st.id
	m.attachments = []attachment{{id: attID, kind: "query", title: ex.title(pl.mods), desc: ex.Description, query: query}}
	m.status, m.updated = StatusExecutingQuery, time.Now()
	m.mu.Unlock()
	select {
	case <-st.done:
	case <-ctx.Done():
		return
	}
	state, _, msg, _, res := st.snapshot()
	switch state {
	case StateSucceeded:
		summary := fmt.Sprintf("%s: %d row(s) from the data you can see.", ex.title(pl.mods), len(res.Rows))
		m.mu.Lock()
		m.rowCount, m.truncated = int64(len(res.Rows)), res.Truncated
		m.attachments = append(m.attachments,
			attachment{id: newID(), kind: "text", text: summary},
			attachment{id: newID(), kind: "suggested", questions: suggestions(sp, pl.example)})
		m.status, m.updated = StatusCompleted, time.Now()
		m.mu.Unlock()
	case StateCanceled:
		m.setStatus(StatusCancelled)
		return
	default:
		m.fail(msg, "SQL_EXECUTION_EXCEPTION")
		return
	}
	if beh.Outcome == GenieExpire {
		if !sleepCtx(ctx, beh.StepDelay) {
			return
		}
		e.closeStatement(st.id)
		m.setStatus(StatusQueryResultExpired)
	}
}

func (e *Emulator) clarify(m *message, sp *Space) {
	text := fmt.Sprintf("I could not map your question to the data in the %q space (%s). Could you rephrase it, for example: %q?",
		sp.Title, strings.Join(sp.Tables, ", "), sp.Examples[0].Question)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.attachments = []attachment{
		{id: newID(), kind: "text", text: text, purpose: "FOLLOW_UP_QUESTION"},
		{id: newID(), kind: "suggested", questions: suggestions(sp, -1)},
	}
	m.status, m.updated = StatusCompleted, time.Now()
}

// rerun executes a message's query again as its owner (execute-query).
func (e *Emulator) rerun(ctx context.Context, m *message, sp *Space) (*statement, error) {
	m.mu.Lock()
	query := m.sql
	m.mu.Unlock()
	if query == "" {
		return nil, errInvalidState("The message has no query to execute.")
	}
	if err := e.checkWarehouse(sp.WarehouseID, m.conv.owner); err != nil {
		return nil, err
	}
	st := e.startStatement(m.conv.owner, sp.WarehouseID, govsql.Request{SQL: query, RowLimit: 10000})
	waitStatement(ctx, st, 50*time.Second)
	m.mu.Lock()
	m.statementID = st.id
	if state, _, _, _, res := st.snapshot(); state == StateSucceeded {
		m.rowCount, m.truncated = int64(len(res.Rows)), res.Truncated
		if m.status == StatusQueryResultExpired {
			m.status = StatusCompleted
		}
	}
	m.updated = time.Now()
	m.mu.Unlock()
	return st, nil
}
