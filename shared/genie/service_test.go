package genie

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go/apierr"
	"github.com/databricks/databricks-sdk-go/service/dashboards"

	"github.com/behalf-dev/behalf/shared/resultset"
	"github.com/behalf-dev/behalf/shared/workspace"
)

// fakeAPI is an in-memory Genie that follows a script per question.
type fakeAPI struct {
	mu       sync.Mutex
	messages map[string]*dashboards.GenieMessage // by message id
	convs    map[string][]string
	polls    map[string]int
	// statusAfter: polls before the scripted terminal status appears.
	statusAfter int
	final       dashboards.MessageStatus
	attachments []dashboards.GenieAttachment
	createErrs  []error // returned by Create in order; "createdAnyway" errors still create
	startErrs   []error // the same for Start
	listErrs    []error // returned by Conversations and Messages in order
	resultErrs  []error // returned by QueryResult in order
	// expireOnResultErr turns the message QUERY_RESULT_EXPIRED when a
	// result error is returned (a result that expired under the caller).
	expireOnResultErr bool
	// blockResult makes QueryResult wait for the caller's deadline.
	blockResult bool
	created     int
	starts      int
	convCreated map[string]time.Time
	rows        int
}

var errCreatedAnyway = &workspace.UpstreamStatusError{StatusCode: 503}

func newFake() *fakeAPI {
	return &fakeAPI{messages: map[string]*dashboards.GenieMessage{}, convs: map[string][]string{}, polls: map[string]int{},
		final: dashboards.MessageStatusCompleted, rows: 3, convCreated: map[string]time.Time{},
		attachments: []dashboards.GenieAttachment{{AttachmentId: "att", Query: &dashboards.GenieQueryAttachment{Query: "SELECT 1", Description: "d", Title: "t"}},
			{SuggestedQuestions: &dashboards.GenieSuggestedQuestionsAttachment{Questions: []string{"now only the top 5"}}}}}
}

func (f *fakeAPI) add(conv, text string) string {
	f.created++
	id := fmt.Sprintf("m%d", f.created)
	f.messages[id] = &dashboards.GenieMessage{MessageId: id, ConversationId: conv, Content: text, Status: dashboards.MessageStatusSubmitted}
	f.convs[conv] = append(f.convs[conv], id)
	return id
}

func (f *fakeAPI) Start(ctx context.Context, space, q string) (string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts++
	if len(f.startErrs) > 0 {
		err := f.startErrs[0]
		f.startErrs = f.startErrs[1:]
		if err == errCreatedAnyway {
			conv := fmt.Sprintf("c%d", len(f.convs)+1)
			f.convCreated[conv] = time.Now()
			f.add(conv, q)
		}
		return "", "", err
	}
	conv := fmt.Sprintf("c%d", len(f.convs)+1)
	f.convCreated[conv] = time.Now()
	return conv, f.add(conv, q), nil
}

func (f *fakeAPI) listErr() error {
	if len(f.listErrs) == 0 {
		return nil
	}
	err := f.listErrs[0]
	f.listErrs = f.listErrs[1:]
	return err
}

func (f *fakeAPI) Conversations(ctx context.Context, space string) ([]dashboards.GenieConversationSummary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.listErr(); err != nil {
		return nil, err
	}
	var out []dashboards.GenieConversationSummary
	for id, at := range f.convCreated {
		out = append(out, dashboards.GenieConversationSummary{ConversationId: id, CreatedTimestamp: at.UnixMilli()})
	}
	return out, nil
}

func (f *fakeAPI) Create(ctx context.Context, space, conv, q string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.createErrs) > 0 {
		err := f.createErrs[0]
		f.createErrs = f.createErrs[1:]
		if err == errCreatedAnyway {
			f.add(conv, q)
		}
		return "", err
	}
	return f.add(conv, q), nil
}

func (f *fakeAPI) Message(ctx context.Context, space, conv, id string) (*dashboards.GenieMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.messages[id]
	if !ok {
		return nil, errors.New("no message")
	}
	f.polls[id]++
	out := *m
	if f.statusAfter >= 0 && f.polls[id] > f.statusAfter {
		out.Status = f.final
		out.Attachments = f.attachments
		if f.final == dashboards.MessageStatusFailed {
			out.Error = &dashboards.MessageError{Type: "WAREHOUSE_ACCESS_MISSING_EXCEPTION", Error: "no CAN USE on warehouse w1"}
		}
	} else {
		out.Status = dashboards.MessageStatusAskingAi
	}
	return &out, nil
}

func (f *fakeAPI) Messages(ctx context.Context, space, conv string) ([]dashboards.GenieMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.listErr(); err != nil {
		return nil, err
	}
	var out []dashboards.GenieMessage
	for _, id := range f.convs[conv] {
		out = append(out, *f.messages[id])
	}
	return out, nil
}

func (f *fakeAPI) QueryResult(ctx context.Context, space, conv, msg, att string) (*resultset.Statement, error) {
	f.mu.Lock()
	if f.blockResult {
		f.mu.Unlock()
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if len(f.resultErrs) > 0 {
		err := f.resultErrs[0]
		f.resultErrs = f.resultErrs[1:]
		if f.expireOnResultErr {
			f.final = dashboards.MessageStatusQueryResultExpired
		}
		f.mu.Unlock()
		return nil, err
	}
	f.mu.Unlock()
	st := &resultset.Statement{}
	st.Status.State = "SUCCEEDED"
	st.Manifest = &struct {
		Format string `json:"format"`
		Schema struct {
			Columns []struct {
				Name     string `json:"name"`
				TypeName string `json:"type_name"`
				TypeText string `json:"type_text"`
				Position int    `json:"position"`
			} `json:"columns"`
		} `json:"schema"`
		TotalRowCount   int64 `json:"total_row_count"`
		TotalChunkCount int   `json:"total_chunk_count"`
		Truncated       bool  `json:"truncated"`
	}{}
	st.Manifest.Schema.Columns = append(st.Manifest.Schema.Columns, struct {
		Name     string `json:"name"`
		TypeName string `json:"type_name"`
		TypeText string `json:"type_text"`
		Position int    `json:"position"`
	}{Name: "n", TypeName: "INT"})
	st.Manifest.TotalRowCount = int64(f.rows)
	st.Result = &struct {
		DataArray [][]*string `json:"data_array"`
		RowCount  int64       `json:"row_count"`
	}{}
	for i := 0; i < f.rows; i++ {
		v := fmt.Sprint(i)
		st.Result.DataArray = append(st.Result.DataArray, []*string{&v})
	}
	return st, nil
}

func newService(t *testing.T, mod func(*Config)) *Service {
	t.Helper()
	h, _ := NewHandles([]byte(strings.Repeat("k", 32)))
	cfg := Config{DefaultSpace: "sales", Handles: h, PollInitial: time.Millisecond, PollMax: 5 * time.Millisecond,
		NewDeadline: 2 * time.Second, FollowUpDeadline: 2 * time.Second, MaxRows: 2}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAskCompletesWithCappedRows(t *testing.T) {
	s := newService(t, nil)
	f := newFake()
	f.statusAfter = 2
	a, err := s.Ask(context.Background(), f, "oid-1", Question{Text: "revenue by region"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != "COMPLETED" || a.SQL != "SELECT 1" || a.RowCount != 2 || a.TotalRows != 3 || !a.Truncated || a.Pending ||
		len(a.SuggestedQuestions) != 1 || a.Clarification {
		t.Fatalf("answer %+v", a)
	}
}

func TestTerminalStatusesEndQuickly(t *testing.T) {
	cases := []struct {
		status dashboards.MessageStatus
		code   Code
	}{
		{dashboards.MessageStatusFailed, CodeWarehouseAccess},
		{dashboards.MessageStatusCancelled, CodeCancelled},
		{dashboards.MessageStatusQueryResultExpired, CodeResultExpired},
	}
	for _, tc := range cases {
		t.Run(string(tc.status), func(t *testing.T) {
			s := newService(t, nil)
			f := newFake()
			f.final = tc.status
			_, err := s.Ask(context.Background(), f, "oid-1", Question{Text: "q"})
			var e *Error
			if !errors.As(err, &e) || e.Code != tc.code {
				t.Fatalf("err %v, want %s", err, tc.code)
			}
			if f.polls["m1"] != 1 {
				t.Fatalf("%d polls for a terminal status", f.polls["m1"])
			}
		})
	}
}

func TestClarification(t *testing.T) {
	s := newService(t, nil)
	f := newFake()
	f.attachments = []dashboards.GenieAttachment{{Text: &dashboards.TextAttachment{Content: "Which region do you mean?"}}}
	a, err := s.Ask(context.Background(), f, "oid-1", Question{Text: "how are we doing"})
	if err != nil || !a.Clarification || a.Text != "Which region do you mean?" {
		t.Fatalf("%+v %v", a, err)
	}
}

func TestSlowGenieGivesPendingThenPollAnswers(t *testing.T) {
	s := newService(t, func(c *Config) { c.NewDeadline = 30 * time.Millisecond })
	f := newFake()
	f.statusAfter = 1 << 30
	a, err := s.Ask(context.Background(), f, "oid-1", Question{Text: "slow"})
	if err != nil || !a.Pending || a.MessageID == "" {
		t.Fatalf("%+v %v", a, err)
	}
	f.mu.Lock()
	f.statusAfter = 0
	f.mu.Unlock()
	done, err := s.Poll(context.Background(), f, "oid-1", a.ConversationID, a.MessageID)
	if err != nil || done.Status != "COMPLETED" {
		t.Fatalf("%+v %v", done, err)
	}
	if _, err := s.Poll(context.Background(), f, "oid-2", a.ConversationID, a.MessageID); !errors.Is(err, ErrConversationNotFound) {
		t.Fatalf("another person polled: %v", err)
	}
}

func TestFollowUpOwnershipAndSpaces(t *testing.T) {
	s := newService(t, nil)
	f := newFake()
	a, err := s.Ask(context.Background(), f, "oid-1", Question{Text: "q1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ask(context.Background(), f, "oid-1", Question{Text: "now only the top 5", ConversationID: a.ConversationID}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ask(context.Background(), f, "oid-2", Question{Text: "mine now", ConversationID: a.ConversationID}); !errors.Is(err, ErrConversationNotFound) {
		t.Fatalf("another person continued the conversation: %v", err)
	}
	if _, err := s.Ask(context.Background(), f, "oid-1", Question{Text: "q", SpaceID: "hr"}); err == nil {
		t.Fatal("space outside the allow-list accepted")
	}
}

func TestRateLimitSixthQuestion(t *testing.T) {
	s := newService(t, func(c *Config) { c.QuestionsPerMinute = 5 })
	f := newFake()
	for i := 0; i < 5; i++ {
		if _, err := s.Ask(context.Background(), f, "oid-1", Question{Text: "q", NoWait: true}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.Ask(context.Background(), f, "oid-1", Question{Text: "q", NoWait: true})
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeRateLimited || e.RetryAfter <= 0 {
		t.Fatalf("6th question: %v", err)
	}
}

func TestFollowUpCreateIsNeverDuplicated(t *testing.T) {
	s := newService(t, nil)
	f := newFake()
	a, _ := s.Ask(context.Background(), f, "oid-1", Question{Text: "q1"})
	// The first create answers 503 although Genie created the message: no retry.
	f.createErrs = []error{errCreatedAnyway}
	if _, err := s.Ask(context.Background(), f, "oid-1", Question{Text: "follow up", ConversationID: a.ConversationID}); err != nil {
		t.Fatal(err)
	}
	// A 429 means refused: retried, and created once.
	f.createErrs = []error{&workspace.UpstreamStatusError{StatusCode: 429}}
	if _, err := s.Ask(context.Background(), f, "oid-1", Question{Text: "second", ConversationID: a.ConversationID}); err != nil {
		t.Fatal(err)
	}
	if got := len(f.convs["c1"]); got != 3 {
		t.Fatalf("conversation holds %d messages, want 3 (no duplicates)", got)
	}
}

func TestHandles(t *testing.T) {
	h, _ := NewHandles([]byte(strings.Repeat("x", 32)))
	hd := h.Seal("space", "conv", "oid")
	if s, c, err := h.Open(hd, "oid"); err != nil || s != "space" || c != "conv" {
		t.Fatal(s, c, err)
	}
	for _, bad := range []string{hd + "x", "garbage", "", strings.Replace(hd, ".", "x.", 1)} {
		if _, _, err := h.Open(bad, "oid"); err == nil {
			t.Errorf("%q opened", bad)
		}
	}
	if _, err := NewHandles([]byte("short")); err == nil {
		t.Fatal("short key accepted")
	}
}

var (
	errUnavailable = &workspace.UpstreamStatusError{StatusCode: 503} // refused before anything happened
	errNotFound    = &apierr.APIError{StatusCode: 404, ErrorCode: "RESOURCE_DOES_NOT_EXIST", Message: "gone"}
)

func TestStartIsCheckedBeforeAnyRetry(t *testing.T) {
	cases := []struct {
		name      string
		startErrs []error
		listErrs  []error
		code      Code // "" for success
		starts    int
		convs     int
	}{
		{"answer lost after the conversation was made: adopted, not retried", []error{errCreatedAnyway}, nil, "", 1, 1},
		{"503 before anything happened: checked, then retried", []error{errUnavailable}, nil, "", 2, 1},
		{"429: refused, retried without a check", []error{&workspace.UpstreamStatusError{StatusCode: 429}}, nil, "", 2, 1},
		{"lost answer and the check fails: outcome unknown, not retried", []error{errCreatedAnyway}, []error{errNotFound}, CodeUnknownCreateState, 1, 1},
		{"403: refused, neither checked nor retried", []error{&apierr.APIError{StatusCode: 403, ErrorCode: "PERMISSION_DENIED"}}, []error{errNotFound}, CodeSpaceAccessDenied, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newService(t, nil)
			f := newFake()
			f.startErrs, f.listErrs = tc.startErrs, tc.listErrs
			a, err := s.Ask(context.Background(), f, "oid-1", Question{Text: "revenue by region"})
			if tc.code == "" {
				if err != nil || a.Status != "COMPLETED" {
					t.Fatalf("%+v %v", a, err)
				}
			} else {
				var e *Error
				if !errors.As(err, &e) || e.Code != tc.code {
					t.Fatalf("err %v, want %s", err, tc.code)
				}
			}
			if f.starts != tc.starts || len(f.convs) != tc.convs {
				t.Fatalf("%d starts, %d conversations; want %d, %d", f.starts, len(f.convs), tc.starts, tc.convs)
			}
			for c, msgs := range f.convs {
				if len(msgs) != 1 {
					t.Fatalf("conversation %s holds %d messages", c, len(msgs))
				}
			}
		})
	}
}

func TestFollowUpRefusedIsNotRetried(t *testing.T) {
	s := newService(t, nil)
	f := newFake()
	a, err := s.Ask(context.Background(), f, "oid-1", Question{Text: "q1"})
	if err != nil {
		t.Fatal(err)
	}
	f.createErrs = []error{&apierr.APIError{StatusCode: 400, ErrorCode: "INVALID_PARAMETER_VALUE", Message: "content is too long."}, errCreatedAnyway}
	_, err = s.Ask(context.Background(), f, "oid-1", Question{Text: "follow", ConversationID: a.ConversationID})
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeGenieFailed || len(f.createErrs) != 1 {
		t.Fatalf("err %v, %d create errors left (a 400 must not be retried)", err, len(f.createErrs))
	}
}

func TestStartCheckIgnoresOlderConversations(t *testing.T) {
	s := newService(t, nil)
	f := newFake()
	// The same question asked a minute ago is not this start.
	f.convCreated["c0"] = time.Now().Add(-time.Minute)
	f.convs["c0"] = nil
	f.add("c0", "revenue by region")
	f.startErrs = []error{errUnavailable}
	if _, err := s.Ask(context.Background(), f, "oid-1", Question{Text: "revenue by region"}); err != nil {
		t.Fatal(err)
	}
	if f.starts != 2 || len(f.convs) != 2 {
		t.Fatalf("%d starts, %d conversations", f.starts, len(f.convs))
	}
}

func TestFollowUpWhoseCheckFailsIsOutcomeUnknown(t *testing.T) {
	s := newService(t, nil)
	f := newFake()
	a, err := s.Ask(context.Background(), f, "oid-1", Question{Text: "q1"})
	if err != nil {
		t.Fatal(err)
	}
	f.createErrs = []error{errCreatedAnyway}
	f.listErrs = []error{nil, errNotFound} // the list before the create works, the check does not
	_, err = s.Ask(context.Background(), f, "oid-1", Question{Text: "follow", ConversationID: a.ConversationID})
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeUnknownCreateState {
		t.Fatalf("err %v", err)
	}
	if got := len(f.convs["c1"]); got != 2 {
		t.Fatalf("conversation holds %d messages, want 2 (no retry)", got)
	}
}

func TestResultExpiredWhileFetching(t *testing.T) {
	s := newService(t, nil)
	f := newFake()
	f.resultErrs, f.expireOnResultErr = []error{errNotFound}, true
	_, err := s.Ask(context.Background(), f, "oid-1", Question{Text: "q"})
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeResultExpired {
		t.Fatalf("err %v, want %s", err, CodeResultExpired)
	}
}

func TestDeadlineWhileFetchingTheResultIsPending(t *testing.T) {
	s := newService(t, func(c *Config) { c.NewDeadline = 50 * time.Millisecond })
	f := newFake()
	f.statusAfter = 0
	f.blockResult = true
	a, err := s.Ask(context.Background(), f, "oid-1", Question{Text: "q"})
	if err != nil || !a.Pending || a.MessageID == "" {
		t.Fatalf("%+v %v", a, err)
	}
}
