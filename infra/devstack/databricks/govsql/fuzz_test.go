package govsql

import (
	"context"
	"testing"
	"time"
)

func FuzzLexRoundTrip(f *testing.F) {
	for _, s := range []string{"SELECT 'a''b', `x`.\"y\" FROM [t] -- c\n/* d */ WHERE a <=> :p", "x'00' 1.5e3 ?1 @a $b ::int"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		toks, err := lex(s)
		if err != nil {
			return
		}
		if got := render(toks); got != s {
			t.Fatalf("round trip %q → %q", s, got)
		}
	})
}

// FuzzGovernance runs arbitrary statements as west sales and checks the
// rows west sales may not see or change are exactly as before.
func FuzzGovernance(f *testing.F) {
	for _, s := range []string{
		"UPDATE main.sales.deals SET amount = 0 WHERE 1=1) OR rowid > 0 --",
		"DELETE FROM deals WHERE region = 'EAST'",
		"MERGE INTO main.sales.deals d USING (SELECT 'D3' AS deal_id) s ON d.deal_id = s.deal_id WHEN MATCHED THEN DELETE",
		"UPDATE deals SET region = 'WEST' WHERE deal_id IN (SELECT deal_id FROM main.finance.forecasts)",
		"INSERT INTO main.sales.deals SELECT * FROM main.sales.deals",
		"WITH x AS (SELECT 1) SELECT * FROM x",
	} {
		f.Add(s)
	}
	e := newFixtureF(f)
	ctx := context.Background()
	const others = "SELECT group_concat(deal_id || region || amount || rep, ',') FROM (SELECT * FROM main.sales.deals WHERE region <> 'WEST' ORDER BY deal_id)"
	before, err := e.Execute(ctx, AdminPrincipal(), Request{SQL: others})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Endless statements (WITH RECURSIVE ...) are cut short, as a
		// canceled statement would be.
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_, _ = e.Execute(sctx, west, Request{SQL: s, Catalog: "main", Schema: "sales"})
		after, err := e.Execute(ctx, AdminPrincipal(), Request{SQL: others})
		if err != nil {
			t.Fatal(err)
		}
		if *after.Rows[0][0] != *before.Rows[0][0] {
			t.Fatalf("%q changed rows west sales cannot see", s)
		}
	})
}
