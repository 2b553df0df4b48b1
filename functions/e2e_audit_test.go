//go:build devstack

package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/behalf-dev/behalf/shared/audit"
	"github.com/behalf-dev/behalf/shared/audit/sqlitestore"
)

// auditRecords reads the dev stack's audit store once it holds at least
// want records (audit-writer stores them after the trigger driver delivers
// each batch from the audit queue).
func (s *devStack) auditRecords(want int) []audit.Record {
	s.t.Helper()
	path := filepath.Join(s.dataDir, "audit.db")
	deadline := time.Now().Add(30 * time.Second)
	for {
		var recs []audit.Record
		if _, err := os.Stat(path); err == nil {
			st, err := sqlitestore.Open(context.Background(), sqlitestore.Config{Path: path, ReadOnly: true})
			if err != nil {
				s.t.Fatal(err)
			}
			recs, err = audit.ReadAll(context.Background(), st)
			st.Close()
			if err != nil {
				s.t.Fatal(err)
			}
		}
		if len(recs) >= want || time.Now().After(deadline) {
			return recs
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestEveryActionIsAudited is the audit issue's acceptance 1 and 5: mixed
// requests through every kind of function — questions, reads, a proposal,
// decisions, a run, refused callers, the token broker, the admin query —
// each leave the audit records expected, with the right actor and status;
// the chain verifies; and no record holds any token that was used.
func TestEveryActionIsAudited(t *testing.T) {
	s := startDevStack(t, map[string]string{"BEHALF_AUDIT_FLUSH_INTERVAL": "50ms"})
	wendy, eli, fiona, nina, carl := s.token(wendyWest), s.token(eliEast), s.token(fionaFinance), s.token(ninaNoGrants), s.token(carlAuditor)
	rogue := s.tokenVia(wendyWest, rogueApp)
	secrets := []string{wendy, eli, fiona, nina, carl, rogue}

	type want struct {
		function, action, upn string
		status                audit.Status
	}
	var wants []want
	expect := func(r *response, okStatus int, w ...want) {
		t.Helper()
		if r.Status != okStatus {
			t.Fatalf("%v: got %d %s", w, r.Status, r.Body)
		}
		wants = append(wants, w...)
	}
	q := map[string]any{"question": "revenue by region"}
	expect(s.call(http.MethodPost, "/api/genie-query", wendy, q), http.StatusOK, want{"genie-query", "genie.ask", wendyWest, audit.StatusSuccess})
	expect(s.call(http.MethodPost, "/api/genie-query", nina, q), http.StatusForbidden, want{"genie-query", "genie.ask", ninaNoGrants, audit.StatusAccessDenied})
	expect(s.call(http.MethodPost, "/api/genie-query", "", q), http.StatusUnauthorized, want{"genie-query", "genie.ask", "", audit.StatusAccessDenied})
	read := map[string]any{"statement": "SELECT region, amount FROM main.sales.deals LIMIT 5"}
	expect(s.call(http.MethodPost, "/api/sql-propose", fiona, read), http.StatusOK, want{"sql-propose", "sql.read", fionaFinance, audit.StatusSuccess})
	expect(s.call(http.MethodPost, "/api/sql-propose", nina, read), http.StatusForbidden, want{"sql-propose", "sql.read", ninaNoGrants, audit.StatusAccessDenied})
	p := s.call(http.MethodPost, "/api/sql-propose", wendy, map[string]any{"statement": "DELETE FROM main.sales.deals WHERE stage = 'Closed Lost'"})
	expect(p, http.StatusAccepted, want{"sql-propose", "sql.propose", wendyWest, audit.StatusPending})
	op := p.JSON["op_id"].(string)
	expect(s.decide(eli, op, "confirm", nil), http.StatusForbidden, want{"sql-approve", "sql.decide", eliEast, audit.StatusAccessDenied})
	expect(s.decide(wendy, op, "confirm", nil), http.StatusOK,
		want{"sql-approve", "sql.decide", wendyWest, audit.StatusSuccess},
		want{"sql-approve", "sql.execute", wendyWest, audit.StatusExecuting},
		want{"sql-approve", "sql.execute", wendyWest, audit.StatusExecuted})
	expect(s.call(http.MethodGet, "/api/sql-approve/"+op, wendy, nil), http.StatusOK, want{"sql-approve", "sql.view", wendyWest, audit.StatusSuccess})
	expect(s.call(http.MethodPost, "/api/obo-exchange", rogue, nil), http.StatusForbidden, want{"obo-exchange", "obo.exchange", wendyWest, audit.StatusAccessDenied})
	broker := s.call(http.MethodPost, "/api/obo-exchange", wendy, nil)
	expect(broker, http.StatusOK, want{"obo-exchange", "obo.exchange", wendyWest, audit.StatusSuccess})
	secrets = append(secrets, broker.JSON["access_token"].(string))
	// The admin query comes last: it reads what is stored so far.
	expect(s.call(http.MethodGet, "/api/audit", wendy, nil), http.StatusForbidden, want{"audit-query", "audit.query", wendyWest, audit.StatusAccessDenied})
	expect(s.call(http.MethodGet, "/api/audit?actor="+wendyWest, carl, nil), http.StatusOK, want{"audit-query", "audit.query", carlAuditor, audit.StatusSuccess})

	recs := s.auditRecords(len(wants))
	left := append([]want(nil), wants...)
	for _, r := range recs {
		ev := r.Event
		for i, w := range left {
			if ev.Function == w.function && ev.Action == w.action && strings.EqualFold(ev.Actor.UPN, w.upn) && ev.Status == w.status {
				left = append(left[:i], left[i+1:]...)
				break
			}
		}
	}
	if len(left) > 0 {
		var got []string
		for _, r := range recs {
			got = append(got, r.Event.Function+" "+r.Event.Action+" "+r.Event.Actor.UPN+" "+string(r.Event.Status))
		}
		t.Fatalf("missing audit records %v among:\n%s", left, strings.Join(got, "\n"))
	}
	// The operation's records carry its id, the statement hash and how
	// behalf acted; exactly one of them is terminal.
	terminal := 0
	for _, r := range recs {
		ev := r.Event
		if ev.Target.OpID != op || ev.Action == "sql.decide" || ev.Action == "sql.view" {
			continue // the requests' own records; the lifecycle records follow
		}
		if ev.StatementSHA256 == "" {
			t.Errorf("operation record without the statement hash: %+v", ev)
		}
		switch ev.Status {
		case audit.StatusExecuted, audit.StatusFailed, audit.StatusUnknown, audit.StatusRejected, audit.StatusCancelled, audit.StatusExpired:
			terminal++
			if ev.OnBehalfOf != audit.ModeEntraOBO || ev.Rows == nil {
				t.Errorf("terminal record: %+v", ev)
			}
		}
	}
	if terminal != 1 {
		t.Errorf("%d terminal records for %s", terminal, op)
	}
	if sum, err := audit.VerifyStore(context.Background(), readOnlyStore(t, s)); err != nil {
		t.Fatalf("the chain does not verify: %v (%+v)", err, sum)
	}
	// Acceptance 5: no record holds a token.
	if err := audit.ScanRecords(recs); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		line, _ := r.MarshalJSON()
		for _, tok := range secrets {
			if strings.Contains(string(line), tok) {
				t.Fatalf("a token is in audit record %d", r.Seq)
			}
		}
	}
	for _, tok := range secrets {
		if strings.Contains(s.out.String(), tok) {
			t.Fatal("a token reached the logs")
		}
	}
}

func readOnlyStore(t *testing.T, s *devStack) audit.Reader {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), sqlitestore.Config{Path: filepath.Join(s.dataDir, "audit.db"), ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil && !errors.Is(err, context.Canceled) {
			t.Log(err)
		}
	})
	return st
}
