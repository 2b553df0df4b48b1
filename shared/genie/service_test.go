package genie

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

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
	created     int
	rows        int
}

var errCreatedAnyway = &workspace.UpstreamStatusError{StatusCode: 503}

func newFake() *fakeAPI {
	return &fakeAPI{messages: map[string]*dashboards.GenieMessage{}, convs: map[string][]string{}, polls: map[string]int{},
		final: dashboards.MessageStatusCompleted, rows: 3,
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
	conv := fmt.Sprintf("c%d", len(f.convs)+1)
	return conv, f.add(conv, q), nil
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
	var out []dashboards.GenieMessage
	for _, id := range f.convs[conv] {
		out = append(out, *f.messages[id])
	}
	return out, nil
}

func (f *fakeAPI) QueryResult(ctx context.Context, space, conv, msg, att string) (*resultset.Statement, error) {
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
