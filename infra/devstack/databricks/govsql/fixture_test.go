package govsql

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

var (
	west    = Principal{Name: "wendy@x.example", Groups: []string{"sales-west"}}
	east    = Principal{Name: "eli@x.example", Groups: []string{"sales-east"}}
	finance = Principal{Name: "fiona@x.example", Groups: []string{"finance"}}
	manager = Principal{Name: "maya@x.example", Groups: []string{"sales-managers"}}
	nobody  = Principal{Name: "nina@x.example"}
	partner = Principal{Name: "d0000000-0000-4000-8000-0000000000d1", Groups: []string{"partner-analysts"}}
)

// newFixture builds a small governed world: main.sales.deals (row filter by
// region group, margin masked except for finance), main.sales.events
// (visible when the deal is), main.finance.forecasts (finance only) and a
// view for partners.
func newFixture(t *testing.T) *Engine {
	t.Helper()
	return newFixtureTB(t)
}

func newFixtureF(f *testing.F) *Engine { return newFixtureTB(f) }

func newFixtureTB(t testing.TB) *Engine {
	t.Helper()
	ctx := context.Background()
	e, err := Open(ctx, Config{Path: filepath.Join(t.TempDir(), "gov.db"), Now: func() time.Time {
		return time.Date(2025, 11, 20, 12, 0, 0, 0, time.UTC)
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.CreateCatalog("main", "admins"))
	must(e.CreateSchema("main.default", "admins"))
	must(e.CreateSchema("main.sales", "admins"))
	must(e.CreateSchema("main.finance", "admins"))
	must(e.CreateSchema("main.behalf", "admins"))
	must(e.CreateTable(ctx, TableSpec{Name: "main.sales.deals", Owner: "admins", Columns: []Column{
		{Name: "deal_id", Type: "STRING", NotNull: true}, {Name: "region", Type: "STRING"}, {Name: "rep", Type: "STRING"},
		{Name: "amount", Type: "DECIMAL(12,2)"}, {Name: "margin_pct", Type: "DECIMAL(5,2)"}, {Name: "close_date", Type: "DATE"},
	}}))
	must(e.CreateTable(ctx, TableSpec{Name: "main.sales.events", Owner: "admins", Columns: []Column{
		{Name: "event_id", Type: "BIGINT"}, {Name: "deal_id", Type: "STRING"}, {Name: "kind", Type: "STRING"},
	}}))
	must(e.CreateTable(ctx, TableSpec{Name: "main.finance.forecasts", Owner: "admins", Columns: []Column{
		{Name: "region", Type: "STRING"}, {Name: "forecast", Type: "DOUBLE"},
	}}))
	must(e.Insert(ctx, "main.sales.deals", []string{"deal_id", "region", "rep", "amount", "margin_pct", "close_date"}, [][]any{
		{"D1", "WEST", "wendy@x.example", 100.0, 10.5, "2025-10-01"},
		{"D2", "WEST", "walt@x.example", 200.0, 20.0, "2025-09-15"},
		{"D3", "EAST", "eli@x.example", 300.0, 30.0, "2025-11-02"},
		{"D4", "EAST", "eva@x.example", 400.0, 40.0, "2024-01-01"},
		{"D5", "SOUTH", "sam@x.example", 500.0, 50.0, "2025-11-10"},
	}))
	must(e.Insert(ctx, "main.sales.events", []string{"event_id", "deal_id", "kind"}, [][]any{
		{1, "D1", "created"}, {2, "D3", "created"}, {3, "D5", "created"}, {4, "D1", "won"},
	}))
	must(e.Insert(ctx, "main.finance.forecasts", []string{"region", "forecast"}, [][]any{{"WEST", 1000.0}, {"EAST", 2000.0}}))
	must(e.SetRowFilter("main.sales.deals", `is_member('finance') OR is_member('sales-managers') OR is_member('admins')
		OR (is_member('sales-west') AND region = 'WEST') OR (is_member('sales-east') AND region = 'EAST')
		OR (is_member('partner-analysts') AND region = 'WEST')`))
	must(e.SetColumnMask("main.sales.deals", "margin_pct", `CASE WHEN is_member('finance') OR is_member('admins') THEN margin_pct ELSE NULL END`))
	must(e.SetRowFilter("main.sales.events", `deal_id IN (SELECT deal_id FROM main.sales.deals)`))
	must(e.CreateView(ctx, "main.sales.partner_deals", `SELECT deal_id, region, amount FROM main.sales.deals WHERE region IN ('WEST', 'EAST')`, "admins"))
	must(e.SetRowFilter("main.sales.partner_deals", `is_member('admins') OR (is_member('partner-analysts') AND region = 'WEST')`))
	for _, g := range []string{"sales-west", "sales-east", "finance", "sales-managers", "partner-analysts"} {
		must(e.Grant(OnCatalog("main"), g, UseCatalog))
		must(e.Grant(OnSchema("main.sales"), g, UseSchema))
		must(e.Grant(OnSchema("main.finance"), g, UseSchema))
	}
	for _, g := range []string{"sales-west", "sales-east", "finance", "sales-managers"} {
		must(e.Grant(OnTable("main.sales.deals"), g, Select))
		must(e.Grant(OnTable("main.sales.events"), g, Select))
	}
	must(e.Grant(OnTable("main.sales.deals"), "sales-west", Modify))
	must(e.Grant(OnTable("main.sales.deals"), "sales-east", Modify))
	must(e.Grant(OnTable("main.finance.forecasts"), "finance", Select))
	must(e.Grant(OnTable("main.sales.partner_deals"), "partner-analysts", Select))
	must(e.Grant(OnSchema("main.behalf"), "writer-sp", UseSchema, CreateTable, Select, Modify))
	must(e.Grant(OnCatalog("main"), "writer-sp", UseCatalog))
	return e
}

func run(t *testing.T, e *Engine, p Principal, sql string, params ...Param) (*Result, error) {
	t.Helper()
	return e.Execute(context.Background(), p, Request{SQL: sql, Catalog: "main", Schema: "sales", Params: params})
}

func mustRun(t *testing.T, e *Engine, p Principal, sql string, params ...Param) *Result {
	t.Helper()
	r, err := run(t, e, p, sql, params...)
	if err != nil {
		t.Fatalf("%s as %s: %v", sql, p.Name, err)
	}
	return r
}

// col returns column c of every row ("NULL" for NULL).
func col(r *Result, c int) []string {
	var out []string
	for _, row := range r.Rows {
		if row[c] == nil {
			out = append(out, "NULL")
		} else {
			out = append(out, *row[c])
		}
	}
	return out
}

func str(s string) *string { return &s }
