// Package genie answers natural-language questions from a Genie space as
// the asking person: it starts or continues a conversation, polls with its
// own adaptive waiter until a terminal status or a deadline, fetches the
// query result (NULLs intact), caps rows honestly, binds conversations to
// their owner, limits questions per workspace, and never retries a create
// that may already have happened without checking first.
package genie

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/databricks/databricks-sdk-go/apierr"
	"github.com/databricks/databricks-sdk-go/service/dashboards"

	"github.com/behalf-dev/behalf/shared/resultset"
	"github.com/behalf-dev/behalf/shared/workspace"
)

// Config configures the service.
type Config struct {
	DefaultSpace  string
	AllowedSpaces []string
	// MaxRows caps rows in an answer (default 50).
	MaxRows int
	// NewDeadline and FollowUpDeadline bound waiting (defaults 60 s / 40 s).
	NewDeadline      time.Duration
	FollowUpDeadline time.Duration
	// PollInitial and PollMax shape the adaptive poll interval.
	PollInitial time.Duration
	PollMax     time.Duration
	// RetryInitial is the first backoff after a throttled or unavailable
	// call; it doubles (with jitter) per attempt. Default: PollInitial,
	// at most 500 ms.
	RetryInitial time.Duration
	// QuestionsPerMinute per workspace (default 5; 0 disables).
	QuestionsPerMinute int
	// MaxQuestionBytes bounds a question (default 4 KiB).
	MaxQuestionBytes int
	Handles          *Handles
	Now              func() time.Time
}

// Service asks Genie for people.
type Service struct {
	cfg     Config
	limiter *Limiter
}

// New validates the configuration.
func New(cfg Config) (*Service, error) {
	if cfg.Handles == nil {
		return nil, errors.New("genie: Handles are required")
	}
	if cfg.DefaultSpace != "" && !slices.Contains(cfg.AllowedSpaces, cfg.DefaultSpace) {
		cfg.AllowedSpaces = append(cfg.AllowedSpaces, cfg.DefaultSpace)
	}
	if cfg.MaxRows <= 0 {
		cfg.MaxRows = 50
	}
	if cfg.NewDeadline <= 0 {
		cfg.NewDeadline = 60 * time.Second
	}
	if cfg.FollowUpDeadline <= 0 {
		cfg.FollowUpDeadline = 40 * time.Second
	}
	if cfg.PollInitial <= 0 {
		cfg.PollInitial = time.Second
	}
	if cfg.PollMax < cfg.PollInitial {
		cfg.PollMax = max(5*time.Second, cfg.PollInitial)
	}
	if cfg.RetryInitial <= 0 {
		cfg.RetryInitial = min(cfg.PollInitial, 500*time.Millisecond)
	}
	if cfg.MaxQuestionBytes <= 0 {
		cfg.MaxQuestionBytes = 4 << 10
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg, limiter: NewLimiter(cfg.QuestionsPerMinute, time.Minute, cfg.Now)}, nil
}

// Question is one ask.
type Question struct {
	Text           string
	SpaceID        string
	ConversationID string // a handle from an earlier answer
	// NoWait answers at once with the ids, for the client to poll.
	NoWait bool
}

// Answer is what genie-query returns.
type Answer struct {
	ConversationID     string             `json:"conversation_id"`
	MessageID          string             `json:"message_id"`
	SpaceID            string             `json:"space_id"`
	Status             string             `json:"status"`
	Text               string             `json:"text,omitempty"`
	SQL                string             `json:"sql,omitempty"`
	Description        string             `json:"description,omitempty"`
	Columns            []resultset.Column `json:"columns"`
	Rows               [][]any            `json:"rows"`
	RowCount           int                `json:"row_count"`
	TotalRows          int64              `json:"total_rows"`
	Truncated          bool               `json:"truncated"`
	SuggestedQuestions []string           `json:"suggested_questions"`
	Clarification      bool               `json:"clarification"`
	// Pending is true when the deadline passed before a terminal status:
	// poll GET /api/genie-query/{conversation_id}/{message_id}.
	Pending bool `json:"pending"`
}

// Ask starts a conversation or continues one and waits for the answer.
func (s *Service) Ask(ctx context.Context, api API, ownerOID string, q Question) (*Answer, error) {
	text := strings.TrimSpace(q.Text)
	if text == "" || !utf8.ValidString(text) {
		return nil, &Error{Code: CodeBadQuestion, Message: "question must be non-empty UTF-8 text"}
	}
	if len(text) > s.cfg.MaxQuestionBytes {
		return nil, &Error{Code: CodeBadQuestion, Message: "question is too long"}
	}
	space, conversation := q.SpaceID, ""
	if q.ConversationID != "" {
		hs, hc, err := s.cfg.Handles.Open(q.ConversationID, ownerOID)
		if err != nil {
			return nil, err
		}
		if space != "" && space != hs {
			return nil, ErrConversationNotFound
		}
		space, conversation = hs, hc
	}
	if space == "" {
		space = s.cfg.DefaultSpace
	}
	if space == "" {
		return nil, &Error{Code: CodeBadQuestion, Message: "no space_id given and no default space configured (BEHALF_GENIE_SPACE_ID)"}
	}
	if !slices.Contains(s.cfg.AllowedSpaces, space) {
		return nil, &Error{Code: CodeSpaceNotAllowed, Message: "this Genie space is not enabled in behalf; ask an admin to add it to BEHALF_GENIE_ALLOWED_SPACES"}
	}
	if ok, wait := s.limiter.Allow(); !ok {
		return nil, &Error{Code: CodeRateLimited, Message: "too many questions for this workspace right now; retry later", RetryAfter: wait}
	}
	deadline := s.cfg.NewDeadline
	if conversation != "" {
		deadline = s.cfg.FollowUpDeadline
	}
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()

	var message string
	var err error
	if conversation == "" {
		conversation, message, err = s.start(ctx, api, space, text)
	} else {
		message, err = s.followUp(ctx, api, space, conversation, text)
	}
	if err != nil {
		return nil, mapAPIError(err, space)
	}
	handle := s.cfg.Handles.Seal(space, conversation, ownerOID)
	if q.NoWait {
		return &Answer{ConversationID: handle, MessageID: message, SpaceID: space, Status: "SUBMITTED", Pending: true, Columns: []resultset.Column{}, Rows: [][]any{}, SuggestedQuestions: []string{}}, nil
	}
	return s.wait(ctx, api, space, conversation, message, handle)
}

// Poll reads a message of a conversation the caller owns, waiting up to
// the follow-up deadline.
func (s *Service) Poll(ctx context.Context, api API, ownerOID, handle, message string) (*Answer, error) {
	space, conversation, err := s.cfg.Handles.Open(handle, ownerOID)
	if err != nil {
		return nil, err
	}
	if message == "" || len(message) > 128 {
		return nil, ErrConversationNotFound
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.FollowUpDeadline)
	defer cancel()
	return s.wait(ctx, api, space, conversation, message, handle)
}

// startSkew is how much earlier than behalf's clock Genie may stamp a
// conversation that a start created.
const startSkew = 10 * time.Second

// maxStartCandidates bounds the conversations a lost start checks.
const maxStartCandidates = 20

// start and followUp run creates that must not happen twice. A 429 means
// Genie refused the call, so it is retried with backoff. Any other
// failure (5xx, a lost answer, a timeout) may have created the message,
// so Genie is asked first; only when the message provably does not exist
// is the create retried, and when that cannot be checked the caller
// hears that the outcome is unknown rather than "retry".
func (s *Service) start(ctx context.Context, api API, space, text string) (string, string, error) {
	t0 := s.cfg.Now()
	var conv, msg string
	err := s.retryRefused(ctx, func() error {
		var err error
		conv, msg, err = api.Start(ctx, space, text)
		if !mayHaveHappened(err) {
			return err
		}
		c, m, found, lerr := s.findStarted(ctx, api, space, text, t0)
		switch {
		case lerr != nil:
			return outcomeUnknown(err)
		case found:
			conv, msg = c, m
			return nil
		}
		return &refusedErr{err} // not created: safe to retry
	})
	return conv, msg, err
}

// findStarted looks for the conversation a start with a lost answer made:
// one of the person's conversations in the space, created since t0, whose
// only message is this question.
func (s *Service) findStarted(ctx context.Context, api API, space, text string, t0 time.Time) (string, string, bool, error) {
	convs, err := retryRead(ctx, s, func() ([]dashboards.GenieConversationSummary, error) { return api.Conversations(ctx, space) })
	if err != nil {
		return "", "", false, err
	}
	checked := 0
	for _, c := range convs {
		if c.CreatedTimestamp < t0.Add(-startSkew).UnixMilli() {
			continue
		}
		if checked++; checked > maxStartCandidates {
			return "", "", false, errors.New("genie: too many new conversations to check")
		}
		msgs, err := retryRead(ctx, s, func() ([]dashboards.GenieMessage, error) { return api.Messages(ctx, space, c.ConversationId) })
		if err != nil {
			return "", "", false, err
		}
		if len(msgs) == 1 && strings.TrimSpace(msgs[0].Content) == text {
			return c.ConversationId, firstNonEmpty(msgs[0].MessageId, msgs[0].Id), true, nil
		}
	}
	return "", "", false, nil
}

// outcomeUnknown is a create whose effect could not be checked.
func outcomeUnknown(err error) error {
	return &Error{Code: CodeUnknownCreateState, Message: "Genie may have received the question, but its answer was lost and the conversation could not be checked; look at the conversation before asking again", Err: err}
}

func (s *Service) followUp(ctx context.Context, api API, space, conversation, text string) (string, error) {
	before, err := retryRead(ctx, s, func() ([]dashboards.GenieMessage, error) { return api.Messages(ctx, space, conversation) })
	if err != nil {
		return "", err
	}
	known := map[string]bool{}
	for _, m := range before {
		known[firstNonEmpty(m.MessageId, m.Id)] = true
	}
	var msg string
	err = s.retryRefused(ctx, func() error {
		var err error
		msg, err = api.Create(ctx, space, conversation, text)
		if !mayHaveHappened(err) {
			return err
		}
		// The create may have happened: look for it before anything else.
		after, lerr := retryRead(ctx, s, func() ([]dashboards.GenieMessage, error) { return api.Messages(ctx, space, conversation) })
		if lerr != nil {
			return outcomeUnknown(err)
		}
		for _, m := range after {
			id := firstNonEmpty(m.MessageId, m.Id)
			if !known[id] && strings.TrimSpace(m.Content) == text {
				msg = id
				return nil
			}
		}
		return &refusedErr{err} // not created: safe to retry
	})
	return msg, err
}

// mayHaveHappened tells a failed create that Genie may still have
// performed (5xx, a lost connection, a timeout) from a definite answer:
// success, a 429 (throttled, not performed) or another 4xx (refused).
func mayHaveHappened(err error) bool {
	if err == nil {
		return false
	}
	var ue *workspace.UpstreamStatusError
	if errors.As(err, &ue) {
		return ue.StatusCode >= 500
	}
	var ae *apierr.APIError
	if errors.As(err, &ae) {
		return ae.StatusCode >= 500
	}
	return true
}

type refusedErr struct{ error }

func (r *refusedErr) Unwrap() error { return r.error }

// retryRead retries an idempotent read on throttling or unavailability.
func retryRead[T any](ctx context.Context, s *Service, read func() (T, error)) (T, error) {
	var out T
	err := s.retry(ctx, func() error {
		var err error
		out, err = read()
		return err
	}, func(err error) bool {
		var e *Error
		return errors.As(mapAPIError(err, ""), &e) && (e.Code == CodeRateLimited || e.Code == CodeUpstream) && ctx.Err() == nil
	})
	return out, err
}

func isRefused(err error) bool {
	var r *refusedErr
	if errors.As(err, &r) {
		return true
	}
	var e *Error
	if errors.As(mapAPIError(err, ""), &e) {
		return e.Code == CodeRateLimited
	}
	return false
}

// retryRefused retries calls that were refused (not performed).
func (s *Service) retryRefused(ctx context.Context, call func() error) error {
	return s.retry(ctx, call, isRefused)
}

// retry retries call while retriable says so, with exponential backoff and
// jitter, honouring Retry-After, never past ctx's deadline.
func (s *Service) retry(ctx context.Context, call func() error, retriable func(error) bool) error {
	delay := s.cfg.RetryInitial
	for attempt := 0; ; attempt++ {
		err := call()
		if err == nil || !retriable(err) || attempt >= 8 {
			var r *refusedErr
			if errors.As(err, &r) {
				return r.error
			}
			return err
		}
		wait := delay + time.Duration(rand.Int64N(int64(delay)))
		var e *Error
		if errors.As(mapAPIError(err, ""), &e) && e.RetryAfter > wait {
			wait = e.RetryAfter
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		delay = min(delay*2, 8*time.Second)
	}
}

var terminal = []dashboards.MessageStatus{
	dashboards.MessageStatusCompleted, dashboards.MessageStatusFailed,
	dashboards.MessageStatusCancelled, dashboards.MessageStatusQueryResultExpired,
}

// wait polls with an interval that grows from PollInitial to PollMax,
// handling every terminal status; at the deadline it returns a pending
// answer instead of an error.
func (s *Service) wait(ctx context.Context, api API, space, conversation, message, handle string) (*Answer, error) {
	interval := s.cfg.PollInitial
	for {
		m, err := retryRead(ctx, s, func() (*dashboards.GenieMessage, error) { return api.Message(ctx, space, conversation, message) })
		if err != nil {
			if ctx.Err() != nil {
				return s.pending(handle, message, space, "SUBMITTED"), nil
			}
			return nil, mapAPIError(err, space)
		}
		if slices.Contains(terminal, m.Status) {
			return s.finish(ctx, api, space, conversation, handle, m)
		}
		select {
		case <-ctx.Done():
			return s.pending(handle, message, space, string(m.Status)), nil
		case <-time.After(interval):
		}
		interval = min(interval*3/2, s.cfg.PollMax)
	}
}

func (s *Service) pending(handle, message, space, status string) *Answer {
	return &Answer{ConversationID: handle, MessageID: message, SpaceID: space, Status: status, Pending: true,
		Columns: []resultset.Column{}, Rows: [][]any{}, SuggestedQuestions: []string{}}
}

func (s *Service) finish(ctx context.Context, api API, space, conversation, handle string, m *dashboards.GenieMessage) (*Answer, error) {
	a := &Answer{ConversationID: handle, MessageID: firstNonEmpty(m.MessageId, m.Id), SpaceID: space, Status: string(m.Status),
		Columns: []resultset.Column{}, Rows: [][]any{}, SuggestedQuestions: []string{}}
	switch m.Status {
	case dashboards.MessageStatusFailed:
		return nil, messageFailure(m)
	case dashboards.MessageStatusCancelled:
		return nil, &Error{Code: CodeCancelled, Message: "the question was cancelled before Genie answered; ask again"}
	case dashboards.MessageStatusQueryResultExpired:
		return nil, &Error{Code: CodeResultExpired, Message: "the result of this question expired; ask it again"}
	}
	var queryAttachment string
	for _, att := range m.Attachments {
		switch {
		case att.Query != nil:
			queryAttachment = firstNonEmpty(att.AttachmentId, att.Query.Id)
			a.SQL, a.Description = att.Query.Query, att.Query.Description
			if a.Text == "" {
				a.Text = att.Query.Title
			}
		case att.Text != nil:
			if att.Text.Content != "" {
				a.Text = att.Text.Content
			}
			if att.Text.Purpose == "FOLLOW_UP_QUESTION" {
				a.Clarification = true
			}
		case att.SuggestedQuestions != nil:
			a.SuggestedQuestions = append(a.SuggestedQuestions, att.SuggestedQuestions.Questions...)
		}
	}
	if queryAttachment == "" {
		// Text only: Genie asks back or explains.
		a.Clarification = true
		return a, nil
	}
	st, err := retryRead(ctx, s, func() (*resultset.Statement, error) {
		return api.QueryResult(ctx, space, conversation, a.MessageID, queryAttachment)
	})
	if err != nil {
		if ctx.Err() != nil {
			// The deadline passed while fetching: the caller polls.
			return s.pending(handle, a.MessageID, space, a.Status), nil
		}
		// The result may have expired between the status read and the
		// fetch: say so rather than "not found".
		if now, rerr := api.Message(ctx, space, conversation, a.MessageID); rerr == nil && now.Status == dashboards.MessageStatusQueryResultExpired {
			return s.finish(ctx, api, space, conversation, handle, now)
		}
		return nil, mapAPIError(err, space)
	}
	if st.Status.Error != nil && st.Status.State == "FAILED" {
		return nil, messageFailure(&dashboards.GenieMessage{Error: &dashboards.MessageError{Error: st.Status.Error.ErrorCode + ": " + st.Status.Error.Message}})
	}
	t, err := resultset.FromStatement(st, s.cfg.MaxRows)
	if err != nil {
		return nil, &Error{Code: CodeGenieFailed, Message: "Genie's result could not be read", Err: err}
	}
	a.Columns, a.Rows, a.RowCount, a.TotalRows, a.Truncated = t.Columns, t.Rows, t.RowCount, t.TotalRows, t.Truncated
	return a, nil
}
