//go:build devstack

package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// countWhere counts deals matching a condition, per region, as the admin
// (who sees every row): the ground truth behind governed answers.
func (s *devStack) countWhere(cond string) map[string]int64 {
	s.t.Helper()
	res, err := s.r.Databricks.QueryAsAdmin(context.Background(), "SELECT region, count(*) FROM main.sales.deals WHERE "+cond+" GROUP BY region")
	if err != nil {
		s.t.Fatal(err)
	}
	out := map[string]int64{}
	for _, row := range res.Rows {
		if row[0] != nil && row[1] != nil {
			out[*row[0]] = toInt64(*row[1])
		}
	}
	return out
}

func toInt64(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case float64:
		return int64(n)
	}
	var x int64
	fmt.Sscan(fmt.Sprint(v), &x)
	return x
}

func (s *devStack) executions(upn string) int64 {
	return s.r.Databricks.Counters().StatementsByPrincipal[upn]
}

func (s *devStack) propose(token, statement string) *response {
	s.t.Helper()
	r := s.call(http.MethodPost, "/api/sql-propose", token, map[string]any{"statement": statement})
	if r.Status != http.StatusAccepted {
		s.t.Fatalf("propose %q: %d %s", statement, r.Status, r.Body)
	}
	return r
}

func (s *devStack) decide(token, opID, decision string, extra map[string]any) *response {
	s.t.Helper()
	body := map[string]any{"decision": decision}
	for k, v := range extra {
		body[k] = v
	}
	return s.call(http.MethodPost, "/api/sql-approve/"+opID, token, body)
}

// TestReadRunsAsThePersonAndChangesWait is issue 7, acceptance 2: a
// read-only statement runs at once with the person's token (governance in
// the results), and a DELETE answers 202 while the workspace runs nothing.
func TestReadRunsAsThePersonAndChangesWait(t *testing.T) {
	s := startDevStack(t, nil)
	read := "SELECT region, margin_pct FROM main.sales.deals ORDER BY deal_id LIMIT 200"
	seen := map[string]map[string]bool{}
	for _, who := range []string{wendyWest, eliEast, fionaFinance} {
		r := s.call(http.MethodPost, "/api/sql-propose", s.token(who), map[string]any{"statement": read})
		if r.Status != http.StatusOK || r.JSON["read_only"] != true {
			t.Fatalf("%s read: %d %s", who, r.Status, r.Body)
		}
		seen[who] = map[string]bool{}
		for _, row := range r.JSON["rows"].([]any) {
			cells := row.([]any)
			seen[who][fmt.Sprint(cells[0])] = true
			if masked := cells[1] == nil; masked != (who != fionaFinance) {
				t.Fatalf("%s: margin_pct %v (masked %v)", who, cells[1], masked)
			}
		}
	}
	if len(seen[wendyWest]) != 1 || !seen[wendyWest]["WEST"] || len(seen[eliEast]) != 1 || !seen[eliEast]["EAST"] || len(seen[fionaFinance]) < 3 {
		t.Fatalf("regions seen: %v", seen)
	}
	if r := s.call(http.MethodPost, "/api/sql-propose", s.token(ninaNoGrants), map[string]any{"statement": read}); r.Status != http.StatusForbidden || r.errorCode() != "WAREHOUSE_ACCESS_DENIED" {
		t.Fatalf("nina: %d %s", r.Status, r.Body)
	}

	before := s.r.Databricks.Counters().StatementsTotal
	cards := len(s.r.Teams.Cards())
	r := s.propose(s.token(wendyWest), "DELETE FROM main.sales.deals WHERE stage = 'Closed Lost'")
	op, _ := r.JSON["op_id"].(string)
	if r.JSON["status"] != "pending" || r.JSON["class"] != "write" || r.JSON["policy"] != "self" || op == "" ||
		!strings.HasSuffix(r.Header.Get("Location"), "/api/sql-approve/"+op) || r.JSON["notification"].(map[string]any)["sent"] != true {
		t.Fatalf("pending answer: %s", r.Body)
	}
	if got := s.r.Databricks.Counters().StatementsTotal; got != before {
		t.Fatalf("the workspace ran %d statement(s) for a pending DELETE", got-before)
	}
	if got := s.r.Teams.Cards(); len(got) != cards+1 || !strings.Contains(string(got[len(got)-1].Card), op) {
		t.Fatalf("no approval card for %s among %d cards", op, len(got))
	}
	if r := s.call(http.MethodPost, "/api/sql-propose", s.token(wendyWest), map[string]any{"statement": "SELECT 1; DELETE FROM main.sales.deals"}); r.Status != http.StatusBadRequest || r.errorCode() != "MULTIPLE_STATEMENTS" {
		t.Fatalf("two statements: %d %s", r.Status, r.Body)
	}
}

// TestSelfPolicyRunsAsTheProposer is issue 8, acceptance 1: a DELETE
// proposed by west sales and confirmed by her deletes only WEST rows.
func TestSelfPolicyRunsAsTheProposer(t *testing.T) {
	s := startDevStack(t, nil)
	cond := "stage = 'Closed Lost'"
	before := s.countWhere(cond)
	if before["WEST"] == 0 || before["EAST"] == 0 {
		t.Fatalf("demo data has no such rows: %v", before)
	}
	tok := s.token(wendyWest)
	op := s.propose(tok, "DELETE FROM main.sales.deals WHERE "+cond).JSON["op_id"].(string)
	if got := s.countWhere(cond); got["WEST"] != before["WEST"] {
		t.Fatal("rows went before the confirmation")
	}
	r := s.decide(tok, op, "confirm", nil)
	if r.Status != http.StatusOK || r.JSON["status"] != "executed" {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	out := r.JSON["outcome"].(map[string]any)
	after := s.countWhere(cond)
	if after["WEST"] != 0 || after["EAST"] != before["EAST"] || after["CENTRAL"] != before["CENTRAL"] {
		t.Fatalf("before %v after %v", before, after)
	}
	if toInt64(out["rows_affected"]) != before["WEST"] {
		t.Fatalf("rows_affected %v, want %d", out["rows_affected"], before["WEST"])
	}
	if r := s.decide(tok, op, "confirm", nil); r.Status != http.StatusConflict {
		t.Fatalf("second confirm: %d %s", r.Status, r.Body)
	}
}

// TestFourEyes is issue 8, acceptance 2: the proposer cannot approve, a
// non-approver cannot either, and an approver's approval followed by the
// proposer's confirm runs the statement once, as the proposer.
func TestFourEyes(t *testing.T) {
	s := startDevStack(t, nil)
	wendy, april, eli := s.token(wendyWest), s.token(aprilApprove), s.token(eliEast)
	before := s.countWhere("1 = 1")
	r := s.propose(wendy, "DELETE FROM main.sales.deals")
	op := r.JSON["op_id"].(string)
	if r.JSON["policy"] != "four-eyes" || r.JSON["risk"] != "high" {
		t.Fatalf("a DELETE without WHERE: %s", r.Body)
	}
	for _, c := range []struct {
		who, token, decision string
		status               int
	}{
		{"proposer approves", wendy, "approve", http.StatusForbidden},
		{"non-approver approves", eli, "approve", http.StatusForbidden},
		{"proposer confirms before approval", wendy, "confirm", http.StatusConflict},
		{"approver confirms", april, "confirm", http.StatusForbidden},
	} {
		if r := s.decide(c.token, op, c.decision, nil); r.Status != c.status {
			t.Fatalf("%s: %d %s", c.who, r.Status, r.Body)
		}
	}
	if r := s.call(http.MethodGet, "/api/sql-approve/"+op, eli, nil); r.Status != http.StatusForbidden {
		t.Fatalf("a stranger reads the operation: %d", r.Status)
	}
	wendyRuns, aprilRuns := s.executions(wendyWest), s.executions(aprilApprove)
	if r := s.decide(april, op, "approve", map[string]any{"reason": "test rows only"}); r.Status != http.StatusOK || r.JSON["status"] != "approved" {
		t.Fatalf("approver approves: %d %s", r.Status, r.Body)
	}
	r = s.decide(wendy, op, "confirm", nil)
	if r.Status != http.StatusOK || r.JSON["status"] != "executed" {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	if d := s.executions(wendyWest) - wendyRuns; d != 1 {
		t.Fatalf("%d executions as the proposer", d)
	}
	if d := s.executions(aprilApprove) - aprilRuns; d != 0 {
		t.Fatalf("%d executions as the approver", d)
	}
	after := s.countWhere("1 = 1")
	if after["WEST"] != 0 || after["EAST"] != before["EAST"] {
		t.Fatalf("ran with someone else's rights: before %v after %v", before, after)
	}
	decisions := r.JSON["decisions"].([]any)
	if len(decisions) != 2 || decisions[0].(map[string]any)["by"].(map[string]any)["upn"] != aprilApprove {
		t.Fatalf("decisions: %v", decisions)
	}
	// The channel hears of the approval and of the outcome (posted in the
	// background: wait a little).
	s.waitForCard(op, "SQL change approved")
	s.waitForCard(op, "SQL change executed")
}

// waitForCard waits until the Teams recorder holds a card about op with
// the given title.
func (s *devStack) waitForCard(op, title string) {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, c := range s.r.Teams.Cards() {
			if c.Title == title && strings.Contains(string(c.Card), op) {
				return
			}
		}
		if time.Now().After(deadline) {
			var titles []string
			for _, c := range s.r.Teams.Cards() {
				titles = append(titles, c.Title)
			}
			s.t.Fatalf("no %q card for %s; cards: %v", title, op, titles)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestConcurrentConfirmsRunOnce is issue 8, acceptance 3: 20 confirms at
// once of one operation run it exactly once; everyone gets a clear answer.
func TestConcurrentConfirmsRunOnce(t *testing.T) {
	s := startDevStack(t, nil)
	tok := s.token(wendyWest)
	op := s.propose(tok, "UPDATE main.sales.deals SET stage = 'Qualification' WHERE stage = 'Proposal'").JSON["op_id"].(string)
	runs := s.executions(wendyWest)
	var wg sync.WaitGroup
	var mu sync.Mutex
	answers := map[string]int{}
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := s.decide(tok, op, "confirm", nil)
			key := fmt.Sprintf("%d %s %v", r.Status, r.errorCode(), r.JSON["status"])
			mu.Lock()
			answers[key]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if d := s.executions(wendyWest) - runs; d != 1 {
		t.Fatalf("%d executions for 20 confirms: %v", d, answers)
	}
	if answers["200  executed"] != 1 {
		t.Fatalf("answers: %v", answers)
	}
	for k, n := range answers {
		if k != "200  executed" && !strings.HasPrefix(k, "409 BUSY") && !strings.HasPrefix(k, "409 CONFLICT") {
			t.Fatalf("unclear answer %q (%d times): %v", k, n, answers)
		}
	}
}

// TestTamperingChangesNothing is issue 8, acceptance 5.
func TestTamperingChangesNothing(t *testing.T) {
	s := startDevStack(t, map[string]string{"BEHALF_APPROVAL_WINDOW": "10s"})
	wendy, april := s.token(wendyWest), s.token(aprilApprove)
	op := s.propose(wendy, "DELETE FROM main.sales.deals").JSON["op_id"].(string)
	view := func() *response { return s.call(http.MethodGet, "/api/sql-approve/"+op, wendy, nil) }
	runs := s.r.Databricks.Counters().StatementsTotal
	cases := []struct {
		name   string
		token  string
		path   string
		body   map[string]any
		status int
	}{
		{"changed statement", april, op, map[string]any{"decision": "approve", "statement": "DELETE FROM main.sales.deals WHERE 1 = 0"}, http.StatusConflict},
		{"wrong hash", april, op, map[string]any{"decision": "approve", "statement_sha256": strings.Repeat("0", 64)}, http.StatusConflict},
		{"other op id", april, "00000000-0000-4000-8000-000000000000", map[string]any{"decision": "approve"}, http.StatusNotFound},
		{"not an op id", april, "..%2f..%2fhealth", map[string]any{"decision": "approve"}, http.StatusNotFound},
		{"unknown decision", april, op, map[string]any{"decision": "run"}, http.StatusBadRequest},
		{"unknown field", april, op, map[string]any{"decision": "approve", "as": wendyWest}, http.StatusBadRequest},
	}
	for _, c := range cases {
		if r := s.call(http.MethodPost, "/api/sql-approve/"+c.path, c.token, c.body); r.Status != c.status {
			t.Fatalf("%s: %d %s", c.name, r.Status, r.Body)
		}
		if v := view(); v.JSON["status"] != "pending" || len(v.JSON["decisions"].([]any)) != 0 {
			t.Fatalf("%s changed the operation: %s", c.name, v.Body)
		}
	}
	if r := s.decide(april, op, "approve", nil); r.Status != http.StatusOK {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	if r := s.decide(april, op, "approve", nil); r.Status != http.StatusConflict {
		t.Fatalf("replayed approve: %d %s", r.Status, r.Body)
	}
	time.Sleep(time.Until(parseTime(t, view().JSON["expires_at"])) + 200*time.Millisecond)
	if r := s.decide(wendy, op, "confirm", nil); r.Status != http.StatusGone || r.errorCode() != "EXPIRED" {
		t.Fatalf("confirm after expiry: %d %s", r.Status, r.Body)
	}
	if v := view(); v.JSON["status"] != "expired" {
		t.Fatalf("after expiry: %s", v.Body)
	}
	if got := s.r.Databricks.Counters().StatementsTotal; got != runs {
		t.Fatalf("%d statement(s) ran", got-runs)
	}
}

func parseTime(t *testing.T, v any) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, fmt.Sprint(v))
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// TestUntouchedOperationExpires is issue 8, acceptance 6: nobody decides,
// the window passes, and the sweep (the sql-expire timer, fired through
// the invocation protocol) ends it as expired, with a Teams update.
func TestUntouchedOperationExpires(t *testing.T) {
	s := startDevStack(t, map[string]string{"BEHALF_APPROVAL_WINDOW": "10s"})
	wendy := s.token(wendyWest)
	r := s.propose(wendy, "DELETE FROM main.sales.deals WHERE stage = 'Proposal'")
	op := r.JSON["op_id"].(string)
	time.Sleep(time.Until(parseTime(t, r.JSON["expires_at"])) + time.Second)
	if err := s.r.Driver.Fire(context.Background(), "sql-expire"); err != nil {
		t.Fatal(err)
	}
	s.waitForCard(op, "SQL change expired")
	if v := s.call(http.MethodGet, "/api/sql-approve/"+op, wendy, nil); v.JSON["status"] != "expired" {
		t.Fatalf("after the sweep: %s", v.Body)
	}
	// Reported: its one terminal audit record, from the sweep.
	deadline := time.Now().Add(20 * time.Second)
	for {
		found := 0
		for _, r := range s.auditRecords(1) {
			if r.Event.Target.OpID == op && r.Event.Status == "expired" && r.Event.Function == "sql-expire" && r.Event.Actor.UPN == wendyWest {
				found++
			}
		}
		if found == 1 {
			break
		}
		if found > 1 || time.Now().After(deadline) {
			t.Fatalf("%d expiry records for %s", found, op)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
