package databricks

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go"
	"github.com/databricks/databricks-sdk-go/apierr"
	"github.com/databricks/databricks-sdk-go/retries"
	"github.com/databricks/databricks-sdk-go/service/dashboards"
	"github.com/databricks/databricks-sdk-go/service/sql"
)

func ask(t *testing.T, w *databricks.WorkspaceClient, space, question string) *dashboards.GenieMessage {
	t.Helper()
	m, err := w.Genie.StartConversationAndWait(t.Context(), dashboards.GenieStartConversationMessageRequest{SpaceId: space, Content: question},
		retries.Timeout[dashboards.GenieMessage](30*time.Second))
	if err != nil {
		t.Fatalf("%q: %v", question, err)
	}
	return m
}

func queryAtt(m *dashboards.GenieMessage) *dashboards.GenieAttachment {
	for i := range m.Attachments {
		if m.Attachments[i].Query != nil {
			return &m.Attachments[i]
		}
	}
	return nil
}

func result(t *testing.T, w *databricks.WorkspaceClient, m *dashboards.GenieMessage) *sql.StatementResponse {
	t.Helper()
	att := queryAtt(m)
	if att == nil {
		t.Fatalf("no query attachment in %+v", m.Attachments)
	}
	r, err := w.Genie.GetMessageAttachmentQueryResult(t.Context(), dashboards.GenieGetMessageAttachmentQueryResultRequest{
		SpaceId: m.SpaceId, ConversationId: m.ConversationId, MessageId: m.MessageId, AttachmentId: att.AttachmentId})
	if err != nil {
		t.Fatal(err)
	}
	return r.StatementResponse
}

func column(r *sql.StatementResponse, i int) []string {
	var out []string
	for _, row := range r.Result.DataArray {
		out = append(out, row[i])
	}
	return out
}

// TestGenieAnswersRespectGovernance is acceptance 3 (first part): the same
// question gives each person the rows they may see.
func TestGenieAnswersRespectGovernance(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	for who, want := range map[string][]string{wendy: {"WEST"}, eli: {"EAST"}, fiona: {"CENTRAL", "EAST", "SOUTH", "WEST"}} {
		t.Run(who, func(t *testing.T) {
			t.Parallel()
			w := v.as(t, who)
			m := ask(t, w, SalesSpaceID, "What is the revenue by region?")
			att := queryAtt(m)
			if m.Status != dashboards.MessageStatusCompleted || att == nil || !strings.Contains(att.Query.Query, "FROM main.sales.deals") || att.Query.StatementId == "" {
				t.Fatalf("message %+v", m)
			}
			r := result(t, w, m)
			got := column(r, 0)
			slices.Sort(got)
			if !slices.Equal(got, want) || r.Status.State != sql.StatementStateSucceeded {
				t.Errorf("regions %v, want %v", got, want)
			}
			if att.Query.QueryResultMetadata == nil || att.Query.QueryResultMetadata.RowCount != int64(len(want)) {
				t.Errorf("metadata %+v", att.Query.QueryResultMetadata)
			}
			// The statement behind the attachment is the asker's own.
			st, err := w.StatementExecution.GetStatementByStatementId(t.Context(), att.Query.StatementId)
			if err != nil || st.Status.State != sql.StatementStateSucceeded {
				t.Errorf("statement %v %v", st, err)
			}
			m = ask(t, w, SalesSpaceID, "Average margin by region")
			r = result(t, w, m)
			masked := r.Result.DataArray[0][1] == ""
			if masked != (who != fiona) {
				t.Errorf("average margin %q for %s", r.Result.DataArray[0][1], who)
			}
		})
	}
}

func TestGenieFollowUpsAndClarification(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	w := v.as(t, maya)
	ctx := t.Context()
	first := ask(t, w, SalesSpaceID, "Show me the top deals")
	if r := result(t, w, first); len(r.Result.DataArray) != 10 {
		t.Fatalf("top deals: %d rows", len(r.Result.DataArray))
	}
	var suggested []string
	for _, a := range first.Attachments {
		if a.SuggestedQuestions != nil {
			suggested = a.SuggestedQuestions.Questions
		}
	}
	if !slices.Contains(suggested, "Now only the top 5") {
		t.Errorf("suggested %v", suggested)
	}
	follow := func(q string) *dashboards.GenieMessage {
		wait, err := w.Genie.CreateMessage(ctx, dashboards.GenieCreateConversationMessageRequest{SpaceId: SalesSpaceID, ConversationId: first.ConversationId, Content: q})
		if err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		m, _ := pollMessage(t, w, SalesSpaceID, first.ConversationId, wait.Response.MessageId)
		return m
	}
	m := follow("now only the top 3")
	r := result(t, w, m)
	if len(r.Result.DataArray) != 3 || !strings.HasSuffix(queryAtt(m).Query.Query, "LIMIT 3") {
		t.Fatalf("top 3: %q, %d rows", queryAtt(m).Query.Query, len(r.Result.DataArray))
	}
	if amounts := column(r, 4); !slices.IsSortedFunc(amounts, func(a, b string) int {
		x, _ := strconv.ParseFloat(a, 64)
		y, _ := strconv.ParseFloat(b, 64)
		return int(y - x)
	}) {
		t.Errorf("not ordered by amount: %v", amounts)
	}
	m = follow("just the east region")
	r = result(t, w, m)
	if regions := column(r, 2); len(regions) != 3 || slices.ContainsFunc(regions, func(s string) bool { return s != "EAST" }) {
		t.Errorf("east follow-up: %v (%q)", regions, queryAtt(m).Query.Query)
	}
	m = follow("what is the weather like?")
	if queryAtt(m) != nil || len(m.Attachments) == 0 || m.Attachments[0].Text == nil ||
		m.Attachments[0].Text.Purpose != dashboards.TextAttachmentPurposeFollowUpQuestion || !strings.Contains(m.Attachments[0].Text.Content, "rephrase") {
		t.Errorf("clarification %+v", m.Attachments)
	}
	if m.Status != dashboards.MessageStatusCompleted {
		t.Errorf("clarification status %s", m.Status)
	}
	// An unmappable first question gets a clarification too.
	cs := start(t, w, SalesSpaceID, "Tell me a joke")
	c, _ := pollMessage(t, w, SalesSpaceID, cs.ConversationId, cs.MessageId)
	if queryAtt(c) != nil || c.Attachments[0].Text == nil {
		t.Errorf("joke %+v", c.Attachments)
	}
	// Conversations belong to their creator.
	_, err := v.as(t, fiona).Genie.GetMessage(ctx, dashboards.GenieGetConversationMessageRequest{SpaceId: SalesSpaceID, ConversationId: first.ConversationId, MessageId: first.MessageId})
	if !errors.Is(err, apierr.ErrPermissionDenied) {
		t.Errorf("another person reading the conversation: %v", err)
	}
	if got := v.e.Counters().GenieMessages; got != 5 {
		t.Errorf("GenieMessages = %d", got)
	}
}

// TestGenieRateLimit is acceptance 3 (second part): the sixth question in
// a minute is refused with 429 and Retry-After.
func TestGenieRateLimit(t *testing.T) {
	t.Parallel()
	v := newEnv(t, func(c *Config) { c.GenieRateLimit = 0 }) // the default: 5 per minute
	tok := v.idp.entraToken(t, wendy, nil)
	var conv string
	for i := range 5 {
		var out struct {
			ConversationID string `json:"conversation_id"`
		}
		if resp := v.raw(t, "POST", "/api/2.0/genie/spaces/"+SalesSpaceID+"/start-conversation", tok, map[string]string{"content": "top deals"}, &out); resp.StatusCode != http.StatusOK {
			t.Fatalf("question %d: %d", i+1, resp.StatusCode)
		}
		conv = out.ConversationID
	}
	var body struct {
		ErrorCode string `json:"error_code"`
		Message   string `json:"message"`
	}
	resp := v.raw(t, "POST", "/api/2.0/genie/spaces/"+SalesSpaceID+"/conversations/"+conv+"/messages", tok, map[string]string{"content": "top 3"}, &body)
	secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	if resp.StatusCode != http.StatusTooManyRequests || body.ErrorCode != "RESOURCE_EXHAUSTED" || secs < 1 || secs > 60 {
		t.Fatalf("sixth question: %d %+v Retry-After=%q", resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	// The SDK sees the same refusal (after its own retries give up).
	w := v.clientWith(t, tok, func(c *databricks.Config) { c.RetryTimeoutSeconds = 1 })
	_, err := w.Genie.StartConversation(t.Context(), dashboards.GenieStartConversationMessageRequest{SpaceId: SalesSpaceID, Content: "top deals"})
	if !errors.Is(err, apierr.ErrTooManyRequests) {
		t.Errorf("SDK: %v", err)
	}
	if c := v.e.Counters(); c.GenieMessages != 5 || c.GenieRateLimited < 2 {
		t.Errorf("counters %+v", c)
	}
	v.e.SetGenieRateLimit(100, time.Minute)
	if resp := v.raw(t, "POST", "/api/2.0/genie/spaces/"+SalesSpaceID+"/start-conversation", tok, map[string]string{"content": "top deals"}, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("after raising the limit: %d", resp.StatusCode)
	}
}

// pollMessage polls GetMessage quickly, recording every status seen, until
// a terminal status.
func pollMessage(t *testing.T, w *databricks.WorkspaceClient, space, conv, msg string) (*dashboards.GenieMessage, []dashboards.MessageStatus) {
	t.Helper()
	return pollUntil(t, w, space, conv, msg, dashboards.MessageStatusCompleted, dashboards.MessageStatusFailed, dashboards.MessageStatusCancelled, dashboards.MessageStatusQueryResultExpired)
}

func pollUntil(t *testing.T, w *databricks.WorkspaceClient, space, conv, msg string, until ...dashboards.MessageStatus) (*dashboards.GenieMessage, []dashboards.MessageStatus) {
	t.Helper()
	var seen []dashboards.MessageStatus
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		m, err := w.Genie.GetMessage(t.Context(), dashboards.GenieGetConversationMessageRequest{SpaceId: space, ConversationId: conv, MessageId: msg})
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) == 0 || seen[len(seen)-1] != m.Status {
			seen = append(seen, m.Status)
		}
		if slices.Contains(until, m.Status) {
			return m, seen
		}
	}
	t.Fatalf("message did not finish; seen %v", seen)
	return nil, nil
}

func start(t *testing.T, w *databricks.WorkspaceClient, space, q string) *dashboards.GenieStartConversationResponse {
	t.Helper()
	wait, err := w.Genie.StartConversation(t.Context(), dashboards.GenieStartConversationMessageRequest{SpaceId: space, Content: q})
	if err != nil {
		t.Fatal(err)
	}
	return wait.Response
}

func TestGenieStatusProgressionAndOutcomes(t *testing.T) {
	t.Parallel()
	v := newEnv(t, func(c *Config) {
		c.GenieStepDelay = 30 * time.Millisecond
		c.StatementDelays = StatementDelays{Running: 60 * time.Millisecond}
	})
	w := v.as(t, wendy)
	s := start(t, w, SalesSpaceID, "revenue by region")
	if s.Message.Status != dashboards.MessageStatusSubmitted || s.Conversation.Title != "revenue by region" || s.Message.UserId == 0 {
		t.Errorf("start response %+v %+v", s.Message, s.Conversation)
	}
	m, seen := pollMessage(t, w, SalesSpaceID, s.ConversationId, s.MessageId)
	want := []dashboards.MessageStatus{"SUBMITTED", "FETCHING_METADATA", "ASKING_AI", "EXECUTING_QUERY", "COMPLETED"}
	if !slices.Equal(seen, want) {
		t.Errorf("statuses %v, want %v", seen, want)
	}
	if m.QueryResult == nil || m.QueryResult.RowCount != 1 {
		t.Errorf("deprecated query_result %+v", m.QueryResult)
	}
	// The deprecated result endpoints serve the same statement.
	att := queryAtt(m)
	r1, err := w.Genie.GetMessageQueryResultByAttachment(t.Context(), dashboards.GenieGetQueryResultByAttachmentRequest{SpaceId: SalesSpaceID, ConversationId: m.ConversationId, MessageId: m.MessageId, AttachmentId: att.AttachmentId})
	if err != nil || r1.StatementResponse.StatementId != att.Query.StatementId {
		t.Errorf("by attachment: %v %v", r1, err)
	}
	r2, err := w.Genie.GetMessageQueryResult(t.Context(), dashboards.GenieGetMessageQueryResultRequest{SpaceId: SalesSpaceID, ConversationId: m.ConversationId, MessageId: m.MessageId})
	if err != nil || r2.StatementResponse.StatementId != att.Query.StatementId {
		t.Errorf("message level: %v %v", r2, err)
	}

	t.Run("fail", func(t *testing.T) {
		_, err := w.Genie.StartConversationAndWait(t.Context(), dashboards.GenieStartConversationMessageRequest{SpaceId: SalesSpaceID, Content: "top deals #fail"})
		if err == nil || !strings.Contains(err.Error(), "got FAILED") {
			t.Errorf("SDK wait: %v", err)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		s := start(t, w, SalesSpaceID, "top deals #cancel")
		if m, _ := pollMessage(t, w, SalesSpaceID, s.ConversationId, s.MessageId); m.Status != dashboards.MessageStatusCancelled {
			t.Errorf("status %s", m.Status)
		}
	})
	t.Run("expire and re-execute", func(t *testing.T) {
		v.e.SetGenieBehaviour(SalesSpaceID, GenieBehaviour{Outcome: GenieExpire, StepDelay: 10 * time.Millisecond})
		defer v.e.SetGenieBehaviour(SalesSpaceID, GenieBehaviour{})
		s := start(t, w, SalesSpaceID, "top deals")
		m, seen := pollUntil(t, w, SalesSpaceID, s.ConversationId, s.MessageId, dashboards.MessageStatusQueryResultExpired, dashboards.MessageStatusFailed)
		if m.Status != dashboards.MessageStatusQueryResultExpired || !slices.Contains(seen, dashboards.MessageStatusCompleted) {
			t.Fatalf("statuses %v", seen)
		}
		if r := result(t, w, m); r.Status.State != sql.StatementStateClosed || r.Result != nil {
			t.Errorf("expired result %+v", r.Status)
		}
		att := queryAtt(m)
		r, err := w.Genie.ExecuteMessageAttachmentQuery(t.Context(), dashboards.GenieExecuteMessageAttachmentQueryRequest{SpaceId: SalesSpaceID, ConversationId: m.ConversationId, MessageId: m.MessageId, AttachmentId: att.AttachmentId})
		if err != nil || r.StatementResponse.Status.State != sql.StatementStateSucceeded || len(r.StatementResponse.Result.DataArray) != 10 {
			t.Fatalf("execute-query: %+v %v", r, err)
		}
		if m, _ := pollMessage(t, w, SalesSpaceID, s.ConversationId, s.MessageId); m.Status != dashboards.MessageStatusCompleted {
			t.Errorf("after re-execution: %s", m.Status)
		}
	})
}

func TestGenieAccess(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	ctx := t.Context()
	// Nina has no CAN RUN on the space.
	_, err := v.as(t, nina).Genie.StartConversation(ctx, dashboards.GenieStartConversationMessageRequest{SpaceId: SalesSpaceID, Content: "top deals"})
	if !errors.Is(err, apierr.ErrPermissionDenied) {
		t.Errorf("nina: %v", err)
	}
	_, err = v.as(t, wendy).Genie.StartConversation(ctx, dashboards.GenieStartConversationMessageRequest{SpaceId: "nope", Content: "top deals"})
	if !errors.Is(err, apierr.ErrNotFound) {
		t.Errorf("unknown space: %v", err)
	}
	// The partner role may run the Sales space, but its query fails on
	// governance: the role has no SELECT on the deals table.
	tok, err := v.e.IssueToken(partnerSP, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	w := v.client(t, tok)
	s := start(t, w, SalesSpaceID, "top deals")
	m, _ := pollMessage(t, w, SalesSpaceID, s.ConversationId, s.MessageId)
	if m.Status != dashboards.MessageStatusFailed || m.Error.Type != dashboards.MessageErrorTypeSqlExecutionException ||
		!strings.Contains(m.Error.Error, "User does not have SELECT on Table 'main.sales.deals'.") {
		t.Errorf("partner in Sales: %s %+v", m.Status, m.Error)
	}
	// In its own space it sees the shared WEST pipeline only.
	pm := ask(t, w, PartnerSpaceID, "top partner deals")
	r := result(t, w, pm)
	if len(r.Result.DataArray) == 0 {
		t.Fatal("partner sees nothing")
	}
	ids := column(r, 0)
	westIDs, err := v.e.QueryAsAdmin(ctx, "SELECT COUNT(*) FROM main.sales.deals WHERE region <> 'WEST' AND deal_id IN ('"+strings.Join(ids, "','")+"')")
	if err != nil || *westIDs.Rows[0][0] != "0" {
		t.Errorf("partner saw non-WEST deals: %v %v", westIDs, err)
	}
	spaces, err := v.as(t, wendy).Genie.ListSpaces(ctx, dashboards.GenieListSpacesRequest{})
	if err != nil || len(spaces.Spaces) != 1 || spaces.Spaces[0].SpaceId != SalesSpaceID {
		t.Errorf("wendy's spaces %+v %v", spaces, err)
	}
}

func TestGenieConversationListing(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	ctx := t.Context()
	w := v.as(t, eli)
	s := start(t, w, SalesSpaceID, "pipeline by stage")
	pollMessage(t, w, SalesSpaceID, s.ConversationId, s.MessageId)
	convs, err := w.Genie.ListConversations(ctx, dashboards.GenieListConversationsRequest{SpaceId: SalesSpaceID})
	if err != nil || len(convs.Conversations) != 1 || convs.Conversations[0].ConversationId != s.ConversationId {
		t.Fatalf("conversations %+v %v", convs, err)
	}
	if other, err := v.as(t, wendy).Genie.ListConversations(ctx, dashboards.GenieListConversationsRequest{SpaceId: SalesSpaceID}); err != nil || len(other.Conversations) != 0 {
		t.Errorf("wendy sees %+v %v", other, err)
	}
	msgs, err := w.Genie.ListConversationMessages(ctx, dashboards.GenieListConversationMessagesRequest{SpaceId: SalesSpaceID, ConversationId: s.ConversationId})
	if err != nil || len(msgs.Messages) != 1 || msgs.Messages[0].Status != dashboards.MessageStatusCompleted {
		t.Errorf("messages %+v %v", msgs, err)
	}
	sp, err := w.Genie.GetSpace(ctx, dashboards.GenieGetSpaceRequest{SpaceId: SalesSpaceID})
	if err != nil || sp.Title != "Sales" || sp.WarehouseId != DevWarehouseID {
		t.Errorf("space %+v %v", sp, err)
	}
	if err := w.Genie.DeleteConversation(ctx, dashboards.GenieDeleteConversationRequest{SpaceId: SalesSpaceID, ConversationId: s.ConversationId}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Genie.GetMessage(ctx, dashboards.GenieGetConversationMessageRequest{SpaceId: SalesSpaceID, ConversationId: s.ConversationId, MessageId: s.MessageId}); !errors.Is(err, apierr.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	wh, err := w.Warehouses.GetById(ctx, DevWarehouseID)
	if err != nil || wh.Id != DevWarehouseID || wh.State != sql.StateRunning {
		t.Errorf("warehouse %+v %v", wh, err)
	}
	if _, err := w.Warehouses.GetById(ctx, LockedWarehouseID); !errors.Is(err, apierr.ErrPermissionDenied) {
		t.Errorf("locked warehouse: %v", err)
	}
}
