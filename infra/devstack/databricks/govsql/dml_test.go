package govsql

import (
	"slices"
	"strings"
	"testing"
)

func regions(t *testing.T, e *Engine, where string) []string {
	t.Helper()
	return col(mustRun(t, e, AdminPrincipal(), "SELECT deal_id FROM main.sales.deals WHERE "+where+" ORDER BY 1"), 0)
}

func TestUpdateTouchesOnlyVisibleRows(t *testing.T) {
	e := newFixture(t)
	r := mustRun(t, e, west, "UPDATE main.sales.deals SET amount = amount + 1")
	if got := col(r, 0); !slices.Equal(got, []string{"2"}) || r.Columns[0].Name != "num_affected_rows" {
		t.Fatalf("affected = %v %+v", got, r.Columns)
	}
	if got := regions(t, e, "amount IN (101, 201)"); !slices.Equal(got, []string{"D1", "D2"}) {
		t.Errorf("updated = %v", got)
	}
	if got := regions(t, e, "amount IN (300, 400, 500)"); !slices.Equal(got, []string{"D3", "D4", "D5"}) {
		t.Errorf("others changed: %v", got)
	}
	// A WHERE naming another region's rows matches nothing for west sales.
	r = mustRun(t, e, west, "UPDATE deals AS d SET amount = 0 WHERE d.region = 'EAST'")
	if got := col(r, 0); got[0] != "0" {
		t.Errorf("cross-region update affected %v", got)
	}
	// The WHERE sees masked values: margin_pct is NULL for west sales.
	r = mustRun(t, e, west, "UPDATE deals SET amount = 0 WHERE margin_pct > 0")
	if got := col(r, 0); got[0] != "0" {
		t.Errorf("update by masked column affected %v", got)
	}
	// Reading a masked column in SET is refused.
	if _, err := run(t, e, west, "UPDATE deals SET amount = margin_pct"); !IsPermission(err) {
		t.Errorf("SET from masked column: %v", err)
	}
	// Subqueries in SET go through views too.
	mustRun(t, e, west, "UPDATE deals SET rep = (SELECT MAX(rep) FROM main.sales.deals) WHERE deal_id = 'D1'")
	if got := col(mustRun(t, e, AdminPrincipal(), "SELECT rep FROM main.sales.deals WHERE deal_id = 'D1'"), 0); got[0] != "wendy@x.example" {
		t.Errorf("rep = %v (max over visible rows is wendy's)", got)
	}
}

func TestDeleteAndInsert(t *testing.T) {
	e := newFixture(t)
	r := mustRun(t, e, east, "DELETE FROM main.sales.deals WHERE amount > 0")
	if got := col(r, 0); got[0] != "2" {
		t.Fatalf("deleted %v", got)
	}
	if got := regions(t, e, "1=1"); !slices.Equal(got, []string{"D1", "D2", "D5"}) {
		t.Errorf("left %v", got)
	}
	r = mustRun(t, e, east, "INSERT INTO main.sales.deals (deal_id, region, amount) VALUES ('D9', 'EAST', 9), (:id, 'WEST', 10)", Param{Name: "id", Value: str("D10")})
	if got := col(r, 1); got[0] != "2" || r.Columns[1].Name != "num_inserted_rows" {
		t.Fatalf("inserted %v", got)
	}
	// Rows outside the filter can be inserted but are then invisible.
	if got := col(mustRun(t, e, east, "SELECT deal_id FROM deals ORDER BY 1"), 0); !slices.Equal(got, []string{"D9"}) {
		t.Errorf("east sees %v", got)
	}
	if _, err := run(t, e, manager, "INSERT INTO main.sales.deals (deal_id) VALUES ('X')"); !IsPermission(err) {
		t.Errorf("manager insert: %v", err)
	}
	if _, err := run(t, e, partner, "DELETE FROM main.sales.partner_deals"); err == nil || !strings.Contains(err.Error(), "view") {
		t.Errorf("delete from view: %v", err)
	}
}

func TestCreateTableAndMergeForAuditStore(t *testing.T) {
	e := newFixture(t)
	writer := Principal{Name: "writer-sp"}
	ddl := "CREATE TABLE IF NOT EXISTS main.behalf.audit_events (id STRING NOT NULL, seq BIGINT, ts TIMESTAMP, actor STRING, payload STRING, CONSTRAINT pk PRIMARY KEY (id)) USING DELTA TBLPROPERTIES ('delta.appendOnly' = 'true')"
	mustRun(t, e, writer, ddl)
	mustRun(t, e, writer, ddl) // idempotent
	if _, err := run(t, e, writer, strings.Replace(ddl, "IF NOT EXISTS ", "", 1)); err == nil || !strings.Contains(err.Error(), "TABLE_OR_VIEW_ALREADY_EXISTS") {
		t.Errorf("second CREATE without IF NOT EXISTS: %v", err)
	}
	if _, err := run(t, e, west, "CREATE TABLE main.behalf.x (a INT)"); !IsPermission(err) {
		t.Errorf("west create: %v", err)
	}
	merge := `MERGE INTO main.behalf.audit_events AS t
USING (SELECT :id AS id, :seq AS seq, :ts AS ts, :actor AS actor, :payload AS payload) AS s
ON t.id = s.id
WHEN NOT MATCHED THEN INSERT *`
	params := func(id string) []Param {
		return []Param{{Name: "id", Value: str(id)}, {Name: "seq", Type: "BIGINT", Value: str("7")}, {Name: "ts", Type: "TIMESTAMP", Value: str("2025-11-20T10:00:00Z")},
			{Name: "actor", Value: str("wendy@x.example")}, {Name: "payload", Value: str(`{"k":"v"}`)}}
	}
	r := mustRun(t, e, writer, merge, params("e1")...)
	if got := col(r, 3); got[0] != "1" || r.Columns[3].Name != "num_inserted_rows" {
		t.Fatalf("first merge inserted %v", got)
	}
	r = mustRun(t, e, writer, merge, params("e1")...)
	if got := col(r, 3); got[0] != "0" {
		t.Fatalf("replayed merge inserted %v", got)
	}
	values := `MERGE INTO main.behalf.audit_events t USING (VALUES (:a, 1), (:b, 2)) AS s(id, seq) ON t.id = s.id
WHEN MATCHED THEN UPDATE SET seq = s.seq + 100
WHEN NOT MATCHED THEN INSERT (id, seq) VALUES (s.id, s.seq)`
	r = mustRun(t, e, writer, values, Param{Name: "a", Value: str("e1")}, Param{Name: "b", Value: str("e2")})
	if got := col(r, 0); !slices.Equal(got, []string{"2"}) || *r.Rows[0][1] != "1" || *r.Rows[0][3] != "1" {
		t.Fatalf("values merge = %v", r.Rows)
	}
	got := mustRun(t, e, writer, "SELECT id, seq, ts, payload FROM main.behalf.audit_events ORDER BY id")
	want := [][]string{{"e1", "101", "2025-11-20T10:00:00.000Z", `{"k":"v"}`}, {"e2", "2", "NULL", "NULL"}}
	for i, row := range want {
		for j, v := range row {
			if c := col(got, j)[i]; c != v {
				t.Errorf("row %d col %d = %q, want %q", i, j, c, v)
			}
		}
	}
	if got.Columns[2].TypeName != "TIMESTAMP" || got.Columns[1].TypeName != "LONG" {
		t.Errorf("types %+v", got.Columns)
	}
	// MERGE into a filtered table only matches visible rows.
	r = mustRun(t, e, west, `MERGE INTO main.sales.deals d USING (SELECT 'D3' AS deal_id, 1 AS amount) s ON d.deal_id = s.deal_id
WHEN MATCHED THEN DELETE`)
	if got := col(r, 2); got[0] != "0" {
		t.Errorf("west deleted an EAST deal through MERGE: %v", got)
	}
	r = mustRun(t, e, west, `MERGE INTO main.sales.deals d USING (SELECT 'D1' AS deal_id) s ON d.deal_id = s.deal_id WHEN MATCHED THEN DELETE`)
	if got := col(r, 2); got[0] != "1" {
		t.Errorf("west delete own via MERGE: %v", got)
	}
	if _, err := run(t, e, manager, `MERGE INTO main.sales.deals d USING (SELECT 'D2' AS deal_id) s ON d.deal_id = s.deal_id WHEN MATCHED THEN DELETE`); !IsPermission(err) {
		t.Errorf("manager merge: %v", err)
	}
}

func TestCreateSchemaAndDrop(t *testing.T) {
	e := newFixture(t)
	if _, err := run(t, e, west, "CREATE SCHEMA IF NOT EXISTS main.scratch"); !IsPermission(err) {
		t.Errorf("west create schema: %v", err)
	}
	mustRun(t, e, west, "CREATE SCHEMA IF NOT EXISTS main.sales") // exists: no privilege needed
	if err := e.Grant(OnCatalog("main"), "sales-west", CreateSchema); err != nil {
		t.Fatal(err)
	}
	mustRun(t, e, west, "CREATE SCHEMA main.scratch")
	mustRun(t, e, west, "CREATE TABLE scratch.t (a INT, b DECIMAL(4,1))")
	mustRun(t, e, west, "INSERT INTO main.scratch.t VALUES (1, 2.5)")
	if got := col(mustRun(t, e, west, "SELECT b FROM main.scratch.t"), 0); got[0] != "2.5" {
		t.Errorf("owner reads %v", got)
	}
	if _, err := run(t, e, east, "DROP TABLE main.scratch.t"); err == nil {
		t.Error("east dropped west's table")
	}
	mustRun(t, e, west, "DROP TABLE main.scratch.t")
	mustRun(t, e, west, "DROP TABLE IF EXISTS main.scratch.t")
	if _, err := run(t, e, west, "SELECT * FROM main.scratch.t"); err == nil || !strings.Contains(err.Error(), "TABLE_OR_VIEW_NOT_FOUND") {
		t.Errorf("after drop: %v", err)
	}
}

func TestRowAndByteLimits(t *testing.T) {
	e := newFixture(t)
	r, err := e.Execute(t.Context(), finance, Request{SQL: "SELECT deal_id FROM main.sales.deals ORDER BY 1", RowLimit: 2})
	if err != nil || len(r.Rows) != 2 || !r.Truncated {
		t.Fatalf("row limit: %v %v", r, err)
	}
	r, err = e.Execute(t.Context(), finance, Request{SQL: "SELECT deal_id FROM main.sales.deals", RowLimit: 5})
	if err != nil || len(r.Rows) != 5 || r.Truncated {
		t.Fatalf("row limit equal to size: %v %v", r, err)
	}
	r, err = e.Execute(t.Context(), finance, Request{SQL: "SELECT deal_id FROM main.sales.deals", ByteLimit: 12})
	if err != nil || len(r.Rows) != 2 || !r.Truncated {
		t.Fatalf("byte limit: %d rows, %v", len(r.Rows), err)
	}
}
