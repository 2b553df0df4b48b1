//go:build devstack

package main

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go/service/dashboards"

	dbxemu "github.com/behalf-dev/behalf/infra/devstack/databricks"
)

// The end-to-end proof of the genie-query issue (6) against the dev stack:
// questions go through behalf's HTTP API, the OBO exchange and the
// workspace emulator's Genie, whose knobs make it slow, flaky or end in
// every terminal status.

// startGenieStack runs the stack with short Genie polls and deadlines,
// behalf's question limit out of the way (unless extra sets it) and the
// emulator's workspace-wide limit off.
func startGenieStack(t *testing.T, extra map[string]string) *devStack {
	t.Helper()
	settings := map[string]string{
		"BEHALF_GENIE_POLL_INITIAL":         "20ms",
		"BEHALF_GENIE_POLL_MAX":             "100ms",
		"BEHALF_GENIE_DEADLINE":             "20s",
		"BEHALF_GENIE_FOLLOWUP_DEADLINE":    "20s",
		"BEHALF_GENIE_QUESTIONS_PER_MINUTE": "1000",
	}
	for k, v := range extra {
		settings[k] = v
	}
	s := startDevStack(t, settings)
	s.r.Databricks.SetGenieRateLimit(0, 0)
	s.r.Databricks.SetGenieBehaviour("", dbxemu.GenieBehaviour{StepDelay: 10 * time.Millisecond})
	return s
}

// ask posts a question as a person (bearer token of the agent backend).
func (s *devStack) ask(tok string, body map[string]any) *response {
	s.t.Helper()
	return s.call(http.MethodPost, "/api/genie-query", tok, body)
}

// column returns the index of a column of a genie-query answer.
func column(t *testing.T, r *response, name string) int {
	t.Helper()
	cols, _ := r.JSON["columns"].([]any)
	for i, c := range cols {
		if c.(map[string]any)["name"] == name {
			return i
		}
	}
	t.Fatalf("no column %s in %s", name, r.Body)
	return -1
}

func rowsOf(r *response) [][]any {
	var out [][]any
	rows, _ := r.JSON["rows"].([]any)
	for _, row := range rows {
		out = append(out, row.([]any))
	}
	return out
}

// TestE2EGenieGovernedAnswersDifferByPerson: west sales and finance ask
// the same question and get different rows; the masked margin is null for
// sales and a real number for finance; rows are capped honestly and bad
// input is refused (issue 6, acceptance 1).
func TestE2EGenieGovernedAnswersDifferByPerson(t *testing.T) {
	s := startGenieStack(t, nil)
	q := map[string]any{"question": "What is the average margin by region?"}

	wendy := s.ask(s.token(wendyWest), q)
	fiona := s.ask(s.token(fionaFinance), q)
	for name, r := range map[string]*response{"wendy": wendy, "fiona": fiona} {
		if r.Status != 200 || r.JSON["status"] != "COMPLETED" || r.JSON["clarification"] != false || r.JSON["pending"] != false {
			t.Fatalf("%s: %d %s", name, r.Status, r.Body)
		}
		for _, k := range []string{"conversation_id", "message_id", "sql", "description", "text"} {
			if v, _ := r.JSON[k].(string); v == "" {
				t.Fatalf("%s: answer lacks %s: %s", name, k, r.Body)
			}
		}
		if int(r.JSON["row_count"].(float64)) != len(rowsOf(r)) || r.JSON["truncated"] != false || len(r.JSON["suggested_questions"].([]any)) == 0 {
			t.Fatalf("%s: row_count/truncated/suggestions: %s", name, r.Body)
		}
	}
	if wendy.JSON["sql"] != fiona.JSON["sql"] {
		t.Fatalf("the same question planned different SQL:\n%s\n%s", wendy.JSON["sql"], fiona.JSON["sql"])
	}
	region, margin := column(t, wendy, "region"), column(t, wendy, "avg_margin_pct")
	wr := rowsOf(wendy)
	if len(wr) != 1 || wr[0][region] != "WEST" || wr[0][margin] != nil {
		t.Fatalf("west sales should see WEST only with a null (masked) margin: %v", wr)
	}
	fr := rowsOf(fiona)
	admin, err := s.r.Databricks.QueryAsAdmin(context.Background(), "SELECT COUNT(DISTINCT region) FROM main.sales.deals WHERE stage = 'Closed Won'")
	if err != nil {
		t.Fatal(err)
	}
	if regions := *admin.Rows[0][0]; len(fr) < 2 || strconv.Itoa(len(fr)) != regions {
		t.Fatalf("finance should see every region (%s): %v", regions, fr)
	}
	for _, row := range fr {
		if m, ok := row[column(t, fiona, "avg_margin_pct")].(float64); !ok || m <= 0 {
			t.Fatalf("finance should see real margins: %v", fr)
		}
	}

	// Rows are capped at BEHALF_GENIE_MAX_ROWS (50) and say so.
	top := s.ask(s.token(fionaFinance), map[string]any{"question": "What are the top 60 deals?"})
	if top.Status != 200 || int(top.JSON["row_count"].(float64)) != 50 || top.JSON["total_rows"].(float64) != 60 || top.JSON["truncated"] != true {
		t.Fatalf("row cap: %d row_count=%v total_rows=%v truncated=%v", top.Status, top.JSON["row_count"], top.JSON["total_rows"], top.JSON["truncated"])
	}

	// Errors are mapped, and bad input changes nothing.
	before := s.r.Databricks.Counters().GenieMessages
	for _, tc := range []struct {
		who    string
		body   map[string]any
		status int
		code   string
	}{
		{ninaNoGrants, q, http.StatusForbidden, "SPACE_ACCESS_DENIED"},
		{wendyWest, map[string]any{"question": "  "}, http.StatusBadRequest, "BAD_REQUEST"},
		{wendyWest, map[string]any{"question": strings.Repeat("revenue ", 1000)}, http.StatusBadRequest, "BAD_REQUEST"},
		{wendyWest, map[string]any{"question": "What is the revenue?", "space_id": dbxemu.PartnerSpaceID}, http.StatusForbidden, "SPACE_NOT_ALLOWED"},
		{wendyWest, map[string]any{"question": "What is the revenue?", "unknown": 1}, http.StatusBadRequest, "INVALID_JSON"},
	} {
		r := s.ask(s.token(tc.who), tc.body)
		if r.Status != tc.status || r.errorCode() != tc.code {
			t.Errorf("%s %v: %d %s, want %d %s", tc.who, tc.body["question"], r.Status, r.Body, tc.status, tc.code)
		}
	}
	if n := s.r.Databricks.Counters().GenieMessages; n != before {
		t.Fatalf("refused questions created %d Genie messages", n-before)
	}
}

// TestE2EGenieFollowUpAndOwnership: a follow-up in the same conversation
// refines the previous question; another person presenting that
// conversation id gets 404 for follow-ups and polls, before Genie is
// asked (issue 6, acceptance 2).
func TestE2EGenieFollowUpAndOwnership(t *testing.T) {
	s := startGenieStack(t, nil)
	fiona := s.token(fionaFinance)
	first := s.ask(fiona, map[string]any{"question": "What is the revenue by region?"})
	if first.Status != 200 || len(rowsOf(first)) < 2 {
		t.Fatalf("first question: %d %s", first.Status, first.Body)
	}
	conv := first.JSON["conversation_id"].(string)
	follow := s.ask(fiona, map[string]any{"question": "Only the EAST region", "conversation_id": conv})
	if follow.Status != 200 || follow.JSON["conversation_id"] != conv || follow.JSON["message_id"] == first.JSON["message_id"] {
		t.Fatalf("follow-up: %d %s", follow.Status, follow.Body)
	}
	fr := rowsOf(follow)
	if len(fr) != 1 || fr[0][column(t, follow, "region")] != "EAST" || !strings.Contains(follow.JSON["sql"].(string), "EAST") {
		t.Fatalf("the follow-up did not refine the conversation's query: %s", follow.Body)
	}
	// The owner may read a message again.
	msgPath := "/api/genie-query/" + conv + "/" + follow.JSON["message_id"].(string)
	if r := s.call(http.MethodGet, msgPath, fiona, nil); r.Status != 200 || len(rowsOf(r)) != 1 {
		t.Fatalf("owner poll: %d %s", r.Status, r.Body)
	}

	c := s.r.Databricks.Counters()
	eli := s.token(eliEast)
	if r := s.ask(eli, map[string]any{"question": "Only the WEST region", "conversation_id": conv}); r.Status != http.StatusNotFound || r.errorCode() != "NOT_FOUND" {
		t.Fatalf("another person's follow-up: %d %s", r.Status, r.Body)
	}
	if r := s.call(http.MethodGet, msgPath, eli, nil); r.Status != http.StatusNotFound {
		t.Fatalf("another person's poll: %d %s", r.Status, r.Body)
	}
	forged := conv[:len(conv)-2] + "xx"
	if r := s.ask(fiona, map[string]any{"question": "Only the WEST region", "conversation_id": forged}); r.Status != http.StatusNotFound {
		t.Fatalf("forged conversation id: %d %s", r.Status, r.Body)
	}
	after := s.r.Databricks.Counters()
	for _, ep := range []dbxemu.Endpoint{dbxemu.EndpointGenieMessage, dbxemu.EndpointGenieGetMessage, dbxemu.EndpointGenieOther} {
		if after.Requests[ep] != c.Requests[ep] {
			t.Fatalf("a refused conversation id reached Genie (%s: %d → %d)", ep, c.Requests[ep], after.Requests[ep])
		}
	}
	if after.GenieMessages != c.GenieMessages {
		t.Fatal("a refused follow-up created a message")
	}
}

// TestE2EGenieTerminalStatuses: clarification, FAILED, CANCELLED and
// QUERY_RESULT_EXPIRED each end with their own answer, well before the
// deadline (a 202 would mean the waiter missed the status) (issue 6,
// acceptance 3).
func TestE2EGenieTerminalStatuses(t *testing.T) {
	s := startGenieStack(t, nil)
	tok := s.token(wendyWest)

	clar := s.ask(tok, map[string]any{"question": "What is the weather on Mars?"})
	if clar.Status != 200 || clar.JSON["clarification"] != true || clar.JSON["status"] != "COMPLETED" || clar.JSON["text"] == "" ||
		len(rowsOf(clar)) != 0 || len(clar.JSON["suggested_questions"].([]any)) == 0 {
		t.Fatalf("clarification: %d %s", clar.Status, clar.Body)
	}
	for _, tc := range []struct {
		marker, code string
		status       int
	}{
		{"#fail", "GENIE_FAILED", http.StatusBadGateway},
		{"#cancel", "CANCELLED", http.StatusConflict},
	} {
		r := s.ask(tok, map[string]any{"question": "What is the revenue by region? " + tc.marker})
		if r.Status != tc.status || r.errorCode() != tc.code {
			t.Fatalf("%s: %d %s, want %d %s", tc.marker, r.Status, r.Body, tc.status, tc.code)
		}
		if msg, _ := r.JSON["error"].(map[string]any)["message"].(string); msg == "" {
			t.Fatalf("%s: no message: %s", tc.marker, r.Body)
		}
	}

	// A result expires after the message completed: the poll that comes
	// after says so instead of failing obscurely or waiting.
	r := s.ask(tok, map[string]any{"question": "What is the revenue by region? #expire", "wait": false})
	if r.Status != http.StatusAccepted {
		t.Fatalf("wait=false: %d %s", r.Status, r.Body)
	}
	path := "/api/genie-query/" + r.JSON["conversation_id"].(string) + "/" + r.JSON["message_id"].(string)
	var last *response
	for i := 0; i < 200; i++ {
		last = s.call(http.MethodGet, path, tok, nil)
		if last.Status != http.StatusOK {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if last.Status != http.StatusGone || last.errorCode() != "QUERY_RESULT_EXPIRED" {
		t.Fatalf("expired result: %d %s", last.Status, last.Body)
	}
}

// conversationMessages lists every Genie message of a person in the sales
// space, straight from the workspace (their own Databricks token).
func (s *devStack) conversationMessages(t *testing.T, upn string) map[string][]dashboards.GenieMessage {
	t.Helper()
	r := s.call(http.MethodPost, "/api/obo-exchange", s.token(upn), nil)
	if r.Status != 200 {
		t.Fatalf("obo-exchange: %d %s", r.Status, r.Body)
	}
	w := s.workspace(r.JSON["access_token"].(string))
	ctx := context.Background()
	convs, err := w.Genie.ListConversationsBySpaceId(ctx, dbxemu.SalesSpaceID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]dashboards.GenieMessage{}
	for _, c := range convs.Conversations {
		msgs, err := w.Genie.ListConversationMessages(ctx, dashboards.GenieListConversationMessagesRequest{SpaceId: dbxemu.SalesSpaceID, ConversationId: c.ConversationId})
		if err != nil {
			t.Fatal(err)
		}
		out[c.ConversationId] = msgs.Messages
	}
	return out
}

// TestE2EGenieUnderInjectedFaults: with 30% 503s on every workspace call,
// 429s on the create calls and create answers lost after the message was
// made, every question either succeeds within its deadline or fails with a
// clear, retryable error — and no question ever becomes two Genie
// messages (issue 6, acceptance 4).
func TestE2EGenieUnderInjectedFaults(t *testing.T) {
	s := startGenieStack(t, nil)
	tok := s.token(wendyWest)
	emu := s.r.Databricks
	emu.SetFault(dbxemu.AllEndpoints, dbxemu.Fault{Rate503: 0.3})
	emu.SetFault(dbxemu.EndpointGenieStart, dbxemu.Fault{Next429: 1, NextLost: 1, RetryAfter: time.Second})
	emu.SetFault(dbxemu.EndpointGenieMessage, dbxemu.Fault{Next429: 1, NextLost: 2, RetryAfter: time.Second})

	type asked struct {
		text string
		resp *response
	}
	var all []asked
	succeeded := 0
	for i := 0; i < 4; i++ {
		q := "What are the top " + strconv.Itoa(i+2) + " deals?"
		r := s.ask(tok, map[string]any{"question": q})
		all = append(all, asked{q, r})
		if r.Status != 200 {
			continue
		}
		f := "Only the top " + strconv.Itoa(i+1)
		all = append(all, asked{f, s.ask(tok, map[string]any{"question": f, "conversation_id": r.JSON["conversation_id"]})})
	}
	for _, a := range all {
		t.Logf("%q: %d %s", a.text, a.resp.Status, a.resp.errorCode())
	}
	for _, a := range all {
		r := a.resp
		switch {
		case r.Status == 200:
			if r.JSON["status"] != "COMPLETED" || len(rowsOf(r)) == 0 {
				t.Errorf("%q: %s", a.text, r.Body)
			}
			succeeded++
		case r.Status == http.StatusServiceUnavailable || r.Status == http.StatusTooManyRequests || r.Status == http.StatusBadGateway:
			code := r.errorCode()
			msg, _ := r.JSON["error"].(map[string]any)["message"].(string)
			if (code != "UPSTREAM_UNAVAILABLE" && code != "RATE_LIMITED" && code != "UPSTREAM_OUTCOME_UNKNOWN") || msg == "" {
				t.Errorf("%q: unclear failure %d %s", a.text, r.Status, r.Body)
			}
		default:
			t.Errorf("%q: %d %s", a.text, r.Status, r.Body)
		}
	}
	c := emu.Counters()
	injected := int64(0)
	for _, n := range c.FaultsInjected {
		injected += n
	}
	if injected < 8 || c.FaultsInjected[dbxemu.EndpointGenieMessage] < 3 || c.FaultsInjected[dbxemu.EndpointGenieStart] < 2 {
		t.Fatalf("too few faults injected to prove anything: %v", c.FaultsInjected)
	}
	if succeeded < len(all)/2 {
		t.Fatalf("only %d of %d questions succeeded", succeeded, len(all))
	}

	// No question became two messages, even where the create's answer was
	// lost after Genie made the message.
	emu.ClearFaults()
	total := 0
	for conv, msgs := range s.conversationMessages(t, wendyWest) {
		seen := map[string]bool{}
		for _, m := range msgs {
			if seen[m.Content] {
				t.Errorf("conversation %s holds %q twice", conv, m.Content)
			}
			seen[m.Content] = true
			total++
		}
	}
	if int64(total) != c.GenieMessages || total > len(all) {
		t.Fatalf("%d messages in Genie for %d questions (emulator counted %d)", total, len(all), c.GenieMessages)
	}
}

// TestE2EGenieRateLimit: the 6th question in a minute gets 429 with
// retry_after_ms, without reaching Genie; polls do not count (issue 6,
// acceptance 5).
func TestE2EGenieRateLimit(t *testing.T) {
	s := startGenieStack(t, map[string]string{"BEHALF_GENIE_QUESTIONS_PER_MINUTE": "5"})
	tok := s.token(wendyWest)
	var first *response
	for i := 0; i < 5; i++ {
		r := s.ask(tok, map[string]any{"question": "How many deals are there?", "wait": false})
		if r.Status != http.StatusAccepted {
			t.Fatalf("question %d: %d %s", i+1, r.Status, r.Body)
		}
		if first == nil {
			first = r
		}
	}
	// Polling an answer is not a question.
	path := "/api/genie-query/" + first.JSON["conversation_id"].(string) + "/" + first.JSON["message_id"].(string)
	for i := 0; i < 3; i++ {
		if r := s.call(http.MethodGet, path, tok, nil); r.Status != 200 {
			t.Fatalf("poll %d: %d %s", i, r.Status, r.Body)
		}
	}
	before := s.r.Databricks.Counters().Requests[dbxemu.EndpointGenieStart]
	for _, who := range []string{wendyWest, fionaFinance} { // the limit is per workspace
		r := s.ask(s.token(who), map[string]any{"question": "How many deals are there?"})
		if r.Status != http.StatusTooManyRequests || r.errorCode() != "RATE_LIMITED" {
			t.Fatalf("6th question by %s: %d %s", who, r.Status, r.Body)
		}
		ms, _ := r.JSON["error"].(map[string]any)["retry_after_ms"].(float64)
		if ms <= 0 || ms > 60_000 || r.Header.Get("Retry-After") == "" {
			t.Fatalf("retry_after_ms %v, Retry-After %q", r.JSON["error"], r.Header.Get("Retry-After"))
		}
	}
	if n := s.r.Databricks.Counters().Requests[dbxemu.EndpointGenieStart]; n != before {
		t.Fatal("a rate-limited question reached Genie")
	}
}

// TestE2EGenieSlowAnswerIsPolled: when Genie takes longer than the
// deadline the answer is 202 with the ids and a Location to poll, and the
// poll returns the final answer; wait=false answers 202 at once (issue 6,
// acceptance 6).
func TestE2EGenieSlowAnswerIsPolled(t *testing.T) {
	s := startGenieStack(t, map[string]string{"BEHALF_GENIE_DEADLINE": "1s", "BEHALF_GENIE_FOLLOWUP_DEADLINE": "10s"})
	// Three steps of 400 ms: Genie answers 1.2 s after the question
	// arrived, always after the 1 s deadline that started before it.
	s.r.Databricks.SetGenieBehaviour("", dbxemu.GenieBehaviour{StepDelay: 400 * time.Millisecond})
	tok := s.token(fionaFinance)

	r := s.ask(tok, map[string]any{"question": "What is the revenue by region?"})
	if r.Status != http.StatusAccepted || r.JSON["pending"] != true {
		t.Fatalf("slow Genie: %d %s", r.Status, r.Body)
	}
	if st := r.JSON["status"].(string); st == "COMPLETED" || st == "FAILED" || st == "CANCELLED" {
		t.Fatalf("pending answer with a terminal status %s", st)
	}
	loc := r.Header.Get("Location")
	want := "/api/genie-query/" + r.JSON["conversation_id"].(string) + "/" + r.JSON["message_id"].(string)
	if loc != want {
		t.Fatalf("Location %q, want %q", loc, want)
	}
	done := s.call(http.MethodGet, loc, tok, nil)
	if done.Status != 200 || done.JSON["status"] != "COMPLETED" || len(rowsOf(done)) < 2 || done.JSON["message_id"] != r.JSON["message_id"] {
		t.Fatalf("poll: %d %s", done.Status, done.Body)
	}

	s.r.Databricks.SetGenieBehaviour("", dbxemu.GenieBehaviour{StepDelay: 10 * time.Millisecond})
	now := s.ask(tok, map[string]any{"question": "How many deals are there?", "wait": false})
	if now.Status != http.StatusAccepted || now.JSON["status"] != "SUBMITTED" || now.Header.Get("Location") == "" {
		t.Fatalf("wait=false: %d %s", now.Status, now.Body)
	}
	if r := s.call(http.MethodGet, now.Header.Get("Location"), tok, nil); r.Status != 200 || len(rowsOf(r)) != 1 {
		t.Fatalf("poll after wait=false: %d %s", r.Status, r.Body)
	}
	if n := s.r.Databricks.Counters().GenieMessages; n != 2 {
		t.Fatalf("%d Genie messages for two questions (polls must not create any)", n)
	}
}
