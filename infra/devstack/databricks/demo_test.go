package databricks

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/behalf-dev/behalf/infra/devstack/directory"
)

// TestDemoDataset checks the default demo world: thousands of deals from a
// fixed seed, "this quarter" populated, and every example question of every
// space valid SQL for an admin and for west sales.
func TestDemoDataset(t *testing.T) {
	t.Parallel()
	anchor := time.Date(2025, 11, 20, 0, 0, 0, 0, time.UTC)
	newDemo := func() *Emulator {
		e, err := New(Config{Directory: directory.Demo(), DataDate: anchor, DataDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = e.Close(context.Background()) })
		return e
	}
	e := newDemo()
	ctx := t.Context()
	count := func(e *Emulator, q string) int {
		t.Helper()
		r, err := e.QueryAsAdmin(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(*r.Rows[0][0])
		return n
	}
	if n := count(e, "SELECT COUNT(*) FROM main.sales.deals"); n != 3000 {
		t.Errorf("%d deals", n)
	}
	for _, region := range []string{"WEST", "EAST", "CENTRAL", "SOUTH"} {
		if n := count(e, "SELECT COUNT(*) FROM main.sales.deals WHERE region = '"+region+"'"); n < 300 {
			t.Errorf("%s: %d deals", region, n)
		}
	}
	if n := count(e, "SELECT COUNT(*) FROM main.sales.deals WHERE stage = 'Closed Won' AND close_date >= date_trunc('QUARTER', current_date())"); n < 20 {
		t.Errorf("%d deals closed this quarter", n)
	}
	if n := count(e, "SELECT COUNT(*) FROM main.sales.deal_events"); n < 3000 {
		t.Errorf("%d events", n)
	}
	if n := count(e, "SELECT COUNT(*) FROM main.finance.forecasts"); n != 28 {
		t.Errorf("%d forecasts", n)
	}
	// Deterministic: a second emulator with the same seed has the same data.
	sum := "SELECT SUM(amount) || '/' || SUM(margin_pct) || '/' || MAX(close_date) FROM main.sales.deals"
	r1, _ := e.QueryAsAdmin(ctx, sum)
	r2, _ := newDemo().QueryAsAdmin(ctx, sum)
	if *r1.Rows[0][0] != *r2.Rows[0][0] {
		t.Errorf("not deterministic: %s vs %s", *r1.Rows[0][0], *r2.Rows[0][0])
	}
	for _, sp := range e.cfg.GenieSpaces {
		for _, ex := range sp.Examples {
			q := ex.render(modifiers{Limit: 3, Region: "WEST"})
			if _, err := e.QueryAsAdmin(ctx, q); err != nil {
				t.Errorf("%s %q: %v", sp.Title, ex.Question, err)
			}
		}
	}
	if _, err := e.QueryAs(ctx, wendy, sumNoMargin); err != nil {
		t.Errorf("wendy: %v", err)
	}
}

const sumNoMargin = "SELECT SUM(amount) FROM main.sales.deals"
