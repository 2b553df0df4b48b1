// Package audittest is the contract suite every audit.Store must pass,
// and event builders for tests. The embedded store runs it in every `go
// test`; the Databricks store runs it against the workspace emulator (dev
// stack tests) and against a real workspace when its variables are set.
package audittest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/behalf-dev/behalf/shared/audit"
)

// Options configure Run.
type Options struct {
	// New returns an empty store for one case; Run closes it.
	New func(t *testing.T) audit.Store
	// Second, when set, opens another handle on the same store (as another
	// process would); the concurrency cases write through both.
	Second func(t *testing.T, first audit.Store) audit.Store
	// Writers and BatchesPerWriter size the concurrency case (defaults 4
	// and 5, batches of 5 events).
	Writers, BatchesPerWriter int
	// LargeBatch is the size of the one-big-batch case (default 250).
	LargeBatch int
}

// Base is the time of Event(0).
var Base = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

// Actors used by Event.
var Actors = []audit.Actor{
	{OID: "b0000000-0000-4000-8000-000000000001", UPN: "wendy.west@contoso.example", TenantID: "7d3e2a10-5b1c-4c8e-9f00-0000000d3e10",
		Issuer: "https://login.microsoftonline.com/7d3e2a10-5b1c-4c8e-9f00-0000000d3e10/v2.0", ClientAppID: "e0000000-0000-4000-8000-0000000000a1"},
	{OID: "b0000000-0000-4000-8000-000000000002", UPN: "Eli.East@contoso.example", TenantID: "7d3e2a10-5b1c-4c8e-9f00-0000000d3e10"},
	{OID: "c0000000-0000-4000-8000-000000000001", UPN: "paula@partner.example", Role: "d0000000-0000-4000-8000-0000000000d1"},
}

var statuses = []audit.Status{audit.StatusSuccess, audit.StatusAccessDenied, audit.StatusPending, audit.StatusExecuted, audit.StatusError}

// Event returns the i-th test event: a fresh id, time Base + i minutes,
// actors and statuses cycling, some with statements, tables and rows.
func Event(i int) audit.Event {
	ev := audit.Event{
		ID: audit.NewID(), Time: Base.Add(time.Duration(i) * time.Minute), RequestID: fmt.Sprintf("req-%04d", i),
		Function: "sql-propose", Action: "sql.propose", Actor: Actors[i%len(Actors)], OnBehalfOf: audit.ModeEntraOBO,
		Status: statuses[i%len(statuses)], LatencyMS: int64(10 + i), ClientAddress: "203.0.113.7",
		Target: audit.Target{WarehouseID: "dev-warehouse", Catalog: "main", Schema: "sales"},
	}
	if i%3 == 0 {
		stmt := fmt.Sprintf("DELETE FROM main.sales.deals WHERE deal_id = 'D-%05d'", i)
		ev.Statement, ev.StatementSHA256 = stmt, audit.StatementSHA256(stmt)
		ev.Target.Tables = []string{"main.sales.deals"}
		ev.Class, ev.Risk, ev.Policy = "write", "medium", "self"
		ev.Rows = audit.Int64(int64(i % 2))
	}
	if i%4 == 1 {
		ev.Function, ev.Action = "genie-query", "genie.ask"
		ev.Target = audit.Target{SpaceID: "01f0aaaa0000000000000000000000aa", ConversationID: fmt.Sprintf("c%031d", i)}
		ev.Truncated = true
	}
	return ev
}

// Events returns Event(from) .. Event(from+n-1).
func Events(from, n int) []audit.Event {
	out := make([]audit.Event, n)
	for i := range out {
		out[i] = Event(from + i)
	}
	return out
}

// Run runs every case against fresh stores.
func Run(t *testing.T, o Options) {
	if o.New == nil {
		t.Fatal("audittest: Options.New is required")
	}
	if o.Writers <= 0 {
		o.Writers = 4
	}
	if o.BatchesPerWriter <= 0 {
		o.BatchesPerWriter = 5
	}
	if o.LargeBatch <= 0 {
		o.LargeBatch = 250
	}
	cases := []struct {
		name string
		fn   func(*testing.T, Options)
	}{
		{"EmptyStore", testEmpty},
		{"AppendRangeRoundTrip", testAppendRange},
		{"DuplicatesAreSkippedNotRechained", testDuplicates},
		{"InvalidBatchChangesNothing", testInvalid},
		{"RangePaging", testRangePaging},
		{"QueryFiltersAndPages", testQuery},
		{"ConcurrentWritersKeepOneChain", testConcurrent},
		{"SameBatchTwiceAtOnce", testSameBatchRace},
		{"LargeBatch", testLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, o) })
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func open(t *testing.T, o Options) audit.Store {
	t.Helper()
	s := o.New(t)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func mustAppend(t *testing.T, s audit.Appender, evs []audit.Event) audit.AppendResult {
	t.Helper()
	res, err := s.Append(ctx(t), evs)
	if err != nil {
		t.Fatalf("append %d events: %v", len(evs), err)
	}
	return res
}

// MustVerify verifies a whole store and returns its records.
func MustVerify(t *testing.T, s audit.Reader) []audit.Record {
	t.Helper()
	sum, err := audit.VerifyStore(ctx(t), s)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	recs, err := audit.ReadAll(ctx(t), s)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(recs)) != sum.Records {
		t.Fatalf("verify counted %d records, read %d", sum.Records, len(recs))
	}
	return recs
}

func testEmpty(t *testing.T, o Options) {
	s := open(t, o)
	h, err := s.Head(ctx(t))
	if err != nil || h != audit.EmptyHead() {
		t.Fatalf("head of an empty store: %+v, %v", h, err)
	}
	recs, err := s.Range(ctx(t), 1, 10)
	if err != nil || len(recs) != 0 {
		t.Fatalf("range of an empty store: %d records, %v", len(recs), err)
	}
	p, err := s.Query(ctx(t), audit.Query{})
	if err != nil || len(p.Records) != 0 || p.NextPageToken != "" {
		t.Fatalf("query of an empty store: %+v, %v", p, err)
	}
}

func testAppendRange(t *testing.T, o Options) {
	s := open(t, o)
	evs := Events(0, 7)
	res := mustAppend(t, s, evs)
	if res.Appended != 7 || res.Duplicates != 0 || res.Head.Seq != 7 {
		t.Fatalf("append result %+v", res)
	}
	recs := MustVerify(t, s)
	if len(recs) != 7 {
		t.Fatalf("%d records", len(recs))
	}
	prev := audit.GenesisHash
	for i, r := range recs {
		want := audit.Normalize(evs[i])
		if r.Seq != int64(i+1) || r.PrevHash != prev || !reflect.DeepEqual(r.Event, want) {
			t.Fatalf("record %d: seq %d prev %s\n got %+v\nwant %+v", i, r.Seq, r.PrevHash, r.Event, want)
		}
		prev = r.Hash
	}
	h, err := s.Head(ctx(t))
	if err != nil || h != res.Head || h.Hash != prev {
		t.Fatalf("head %+v (append said %+v), %v", h, res.Head, err)
	}
}

func testDuplicates(t *testing.T, o Options) {
	s := open(t, o)
	a, b, c := Event(1), Event(2), Event(3)
	mustAppend(t, s, []audit.Event{a, b})
	before := MustVerify(t, s)
	res := mustAppend(t, s, []audit.Event{b, c, c, a})
	if res.Appended != 1 || res.Duplicates != 3 || res.Head.Seq != 3 {
		t.Fatalf("append with duplicates: %+v", res)
	}
	after := MustVerify(t, s)
	if len(after) != 3 || after[1].Hash != before[1].Hash || after[1].Event.ID != b.ID || after[2].Event.ID != c.ID {
		t.Fatalf("duplicates were re-chained: %+v", after)
	}
	// A redelivered batch changes nothing at all.
	res = mustAppend(t, s, []audit.Event{a, b, c})
	if res.Appended != 0 || res.Duplicates != 3 || res.Head != after[2].HeadAfter() {
		t.Fatalf("redelivery: %+v", res)
	}
}

func testInvalid(t *testing.T, o Options) {
	s := open(t, o)
	mustAppend(t, s, Events(0, 2))
	before, _ := s.Head(ctx(t))
	bad := Event(5)
	bad.Status = "done"
	withToken := Event(6)
	withToken.Actor.UPN = "Bearer abcdefghijklmnopqrstuvwxyz"
	for name, evs := range map[string][]audit.Event{
		"unknown status": {Event(3), bad},
		"bearer token":   {Event(4), withToken},
		"no id":          {{Time: Base, Function: "x", Action: "y", Status: audit.StatusSuccess}},
	} {
		_, err := s.Append(ctx(t), evs)
		if !errors.Is(err, audit.ErrInvalidEvent) {
			t.Errorf("%s: %v", name, err)
		}
	}
	after, _ := s.Head(ctx(t))
	if after != before {
		t.Fatalf("a refused batch changed the store: %+v -> %+v", before, after)
	}
}

func testRangePaging(t *testing.T, o Options) {
	s := open(t, o)
	mustAppend(t, s, Events(0, 12))
	recs, err := s.Range(ctx(t), 5, 3)
	if err != nil || len(recs) != 3 || recs[0].Seq != 5 || recs[2].Seq != 7 {
		t.Fatalf("range 5+3: %v %v", seqs(recs), err)
	}
	recs, err = s.Range(ctx(t), 11, 10)
	if err != nil || len(recs) != 2 || recs[1].Seq != 12 {
		t.Fatalf("range 11+10: %v %v", seqs(recs), err)
	}
	if recs, err = s.Range(ctx(t), 13, 10); err != nil || len(recs) != 0 {
		t.Fatalf("range past the head: %v %v", seqs(recs), err)
	}
	for _, limit := range []int{0, -1, audit.MaxRange + 1} {
		if _, err := s.Range(ctx(t), 1, limit); err == nil {
			t.Errorf("range limit %d accepted", limit)
		}
	}
}

func seqs(recs []audit.Record) []int64 {
	out := make([]int64, len(recs))
	for i, r := range recs {
		out[i] = r.Seq
	}
	return out
}

func testQuery(t *testing.T, o Options) {
	s := open(t, o)
	mustAppend(t, s, Events(0, 40))
	all := MustVerify(t, s)
	queries := map[string]audit.Query{
		"everything":          {Limit: 7},
		"actor by oid":        {Actor: Actors[0].OID, Limit: 4},
		"actor by upn, case":  {Actor: "eli.east@CONTOSO.example", Limit: 5},
		"status":              {Status: audit.StatusAccessDenied, Limit: 3},
		"time window":         {From: Base.Add(10 * time.Minute), To: Base.Add(25 * time.Minute), Limit: 4},
		"all filters":         {Actor: Actors[2].UPN, Status: audit.StatusPending, From: Base, To: Base.Add(time.Hour), Limit: 1},
		"from only":           {From: Base.Add(35 * time.Minute)},
		"nothing matches":     {Actor: "nobody@contoso.example"},
		"default page size":   {},
		"to is exclusive (0)": {To: Base},
	}
	for name, q := range queries {
		t.Run(name, func(t *testing.T) {
			r, err := q.Resolve()
			if err != nil {
				t.Fatal(err)
			}
			var want []int64
			for i := len(all) - 1; i >= 0; i-- {
				if r.Matches(all[i]) {
					want = append(want, all[i].Seq)
				}
			}
			if empty := name == "nothing matches" || name == "to is exclusive (0)"; empty != (len(want) == 0) {
				t.Fatalf("the test data should make %q match %v records", name, map[bool]string{true: "no", false: "some"}[empty])
			}
			var got []int64
			for pages := 0; ; pages++ {
				if pages > 50 {
					t.Fatal("paging does not end")
				}
				p, err := s.Query(ctx(t), q)
				if err != nil {
					t.Fatal(err)
				}
				if len(p.Records) > r.Limit {
					t.Fatalf("page of %d records for limit %d", len(p.Records), r.Limit)
				}
				got = append(got, seqs(p.Records)...)
				if p.NextPageToken == "" {
					break
				}
				q.PageToken = p.NextPageToken
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got seqs %v, want %v", got, want)
			}
		})
	}
	p, err := s.Query(ctx(t), audit.Query{Limit: 2})
	if err != nil || p.NextPageToken == "" {
		t.Fatalf("first page: %v", err)
	}
	for name, q := range map[string]audit.Query{
		"token of another query": {Status: audit.StatusSuccess, PageToken: p.NextPageToken},
		"forged token":           {PageToken: "AAAAAAAAAAA"},
		"limit too large":        {Limit: audit.MaxQueryLimit + 1},
		"unknown status":         {Status: "done"},
		"from after to":          {From: Base.Add(time.Hour), To: Base},
	} {
		if _, err := s.Query(ctx(t), q); !errors.Is(err, audit.ErrInvalidQuery) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func testConcurrent(t *testing.T, o Options) {
	s := open(t, o)
	handles := []audit.Store{s}
	if o.Second != nil {
		s2 := o.Second(t, s)
		t.Cleanup(func() { _ = s2.Close() })
		handles = append(handles, s2)
	}
	var wg sync.WaitGroup
	errs := make(chan error, o.Writers*o.BatchesPerWriter)
	ids := sync.Map{}
	for w := range o.Writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := handles[w%len(handles)]
			for b := range o.BatchesPerWriter {
				evs := Events((w*o.BatchesPerWriter+b)*5, 5)
				for _, ev := range evs {
					ids.Store(ev.ID, true)
				}
				if _, err := h.Append(ctx(t), evs); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	recs := MustVerify(t, s)
	if len(recs) != o.Writers*o.BatchesPerWriter*5 {
		t.Fatalf("%d records, want %d", len(recs), o.Writers*o.BatchesPerWriter*5)
	}
	for _, r := range recs {
		if _, ok := ids.LoadAndDelete(r.Event.ID); !ok {
			t.Fatalf("seq %d: unexpected or repeated event %s", r.Seq, r.Event.ID)
		}
	}
}

func testSameBatchRace(t *testing.T, o Options) {
	s := open(t, o)
	other := s
	if o.Second != nil {
		other = o.Second(t, s)
		t.Cleanup(func() { _ = other.Close() })
	}
	evs := Events(0, 6)
	var wg sync.WaitGroup
	results := make([]audit.AppendResult, 2)
	errs := make([]error, 2)
	for i, h := range []audit.Store{s, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = h.Append(ctx(t), evs)
		}()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("appends: %v, %v", errs[0], errs[1])
	}
	if results[0].Appended+results[1].Appended != 6 {
		t.Fatalf("the same batch appended twice: %+v", results)
	}
	if recs := MustVerify(t, s); len(recs) != 6 {
		t.Fatalf("%d records", len(recs))
	}
}

func testLarge(t *testing.T, o Options) {
	s := open(t, o)
	mustAppend(t, s, Events(0, 3))
	res := mustAppend(t, s, Events(3, o.LargeBatch))
	if res.Appended != o.LargeBatch || res.Head.Seq != int64(o.LargeBatch+3) {
		t.Fatalf("large batch: %+v", res)
	}
	if recs := MustVerify(t, s); len(recs) != o.LargeBatch+3 {
		t.Fatalf("%d records", len(recs))
	}
}
