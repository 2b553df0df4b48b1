package govsql

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestRowFiltersAndMasksPerPerson(t *testing.T) {
	e := newFixture(t)
	q := "SELECT deal_id, margin_pct FROM main.sales.deals ORDER BY deal_id"
	for _, tc := range []struct {
		who     Principal
		ids     []string
		margins []string
	}{
		{west, []string{"D1", "D2"}, []string{"NULL", "NULL"}},
		{east, []string{"D3", "D4"}, []string{"NULL", "NULL"}},
		{manager, []string{"D1", "D2", "D3", "D4", "D5"}, []string{"NULL", "NULL", "NULL", "NULL", "NULL"}},
		{finance, []string{"D1", "D2", "D3", "D4", "D5"}, []string{"10.50", "20.00", "30.00", "40.00", "50.00"}},
		{AdminPrincipal(), []string{"D1", "D2", "D3", "D4", "D5"}, []string{"10.50", "20.00", "30.00", "40.00", "50.00"}},
	} {
		t.Run(tc.who.Name, func(t *testing.T) {
			r := mustRun(t, e, tc.who, q)
			if got := col(r, 0); !slices.Equal(got, tc.ids) {
				t.Errorf("deal ids = %v, want %v", got, tc.ids)
			}
			if got := col(r, 1); !slices.Equal(got, tc.margins) {
				t.Errorf("margins = %v, want %v", got, tc.margins)
			}
			if r.Columns[1].TypeName != "DECIMAL" || r.Columns[1].TypeText != "DECIMAL(5,2)" {
				t.Errorf("margin column type = %+v", r.Columns[1])
			}
		})
	}
}

// TestNameForms checks that every way of naming a governed table, and the
// SQL shapes around it, go through the person's filtered view.
func TestNameForms(t *testing.T) {
	e := newFixture(t)
	cases := []struct {
		name, sql string
		want      []string // deal ids seen by west
	}{
		{"three part", "SELECT deal_id FROM main.sales.deals ORDER BY 1", []string{"D1", "D2"}},
		{"backticks", "SELECT deal_id FROM `main`.`sales`.`deals` ORDER BY 1", []string{"D1", "D2"}},
		{"mixed quoting and spaces", "SELECT deal_id FROM main . `sales` . deals ORDER BY 1", []string{"D1", "D2"}},
		{"upper case", "SELECT DEAL_ID FROM MAIN.SALES.DEALS ORDER BY 1", []string{"D1", "D2"}},
		{"two part", "SELECT deal_id FROM sales.deals ORDER BY 1", []string{"D1", "D2"}},
		{"bare after schema", "SELECT deal_id FROM deals ORDER BY 1", []string{"D1", "D2"}},
		{"implicit alias", "SELECT deals.deal_id FROM main.sales.deals WHERE deals.region = 'WEST' ORDER BY 1", []string{"D1", "D2"}},
		{"explicit alias", "SELECT d.deal_id FROM main.sales.deals AS d ORDER BY 1", []string{"D1", "D2"}},
		{"bare alias", "SELECT d.deal_id FROM main.sales.deals d ORDER BY 1", []string{"D1", "D2"}},
		{"four part column", "SELECT main.sales.deals.deal_id FROM main.sales.deals ORDER BY 1", []string{"D1", "D2"}},
		{"subquery", "SELECT deal_id FROM (SELECT * FROM main.sales.deals) x ORDER BY 1", []string{"D1", "D2"}},
		{"in subquery", "SELECT deal_id FROM main.sales.events WHERE deal_id IN (SELECT deal_id FROM `main`.sales.deals) GROUP BY deal_id ORDER BY 1", []string{"D1"}},
		{"join", "SELECT d.deal_id FROM main.sales.deals d JOIN main.sales.events e ON e.deal_id = d.deal_id WHERE e.kind = 'won' ORDER BY 1", []string{"D1"}},
		{"comma join", "SELECT d.deal_id FROM main.sales.deals d, main.sales.events e WHERE e.deal_id = d.deal_id AND e.kind = 'created' ORDER BY 1", []string{"D1"}},
		{"cte", "WITH w AS (SELECT * FROM main.sales.deals) SELECT deal_id FROM w ORDER BY 1", []string{"D1", "D2"}},
		{"cte shadowing the table name", "WITH deals AS (SELECT 'X' AS deal_id) SELECT deal_id FROM deals", []string{"X"}},
		{"union", "SELECT deal_id FROM main.sales.deals UNION ALL SELECT deal_id FROM sales.deals ORDER BY 1", []string{"D1", "D1", "D2", "D2"}},
		{"exists", "SELECT 'yes' FROM main.sales.events e WHERE EXISTS (SELECT 1 FROM deals d WHERE d.deal_id = e.deal_id AND d.region = 'SOUTH')", nil},
		{"scalar subquery", "SELECT (SELECT COUNT(*) FROM main.sales.deals)", []string{"2"}},
		{"comments and strings", "SELECT deal_id /* main.sales.deals */ FROM main.sales.deals -- main.finance.forecasts\n WHERE rep <> 'main.finance.forecasts' ORDER BY 1", []string{"D1", "D2"}},
		{"double quoted string", `SELECT deal_id FROM main.sales.deals WHERE region = "WEST" ORDER BY 1`, []string{"D1", "D2"}},
		{"window", "SELECT deal_id FROM (SELECT deal_id, ROW_NUMBER() OVER (ORDER BY amount DESC) rn FROM main.sales.deals) WHERE rn = 1", []string{"D2"}},
		{"trailing semicolon", "SELECT deal_id FROM deals ORDER BY 1;", []string{"D1", "D2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRun(t, e, west, tc.sql)
			if got := col(r, 0); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPermissionErrors(t *testing.T) {
	e := newFixture(t)
	cases := []struct {
		name string
		who  Principal
		sql  string
		want string
	}{
		{"no select three part", west, "SELECT * FROM main.finance.forecasts", "User does not have SELECT on Table 'main.finance.forecasts'."},
		{"no select backticks", west, "SELECT * FROM `main`.`finance`.`forecasts`", "User does not have SELECT on Table 'main.finance.forecasts'."},
		{"no select in subquery", west, "SELECT * FROM main.sales.deals WHERE region IN (SELECT region FROM main.finance.forecasts)", "User does not have SELECT on Table 'main.finance.forecasts'."},
		{"no select two part", west, "SELECT * FROM finance.forecasts", "User does not have SELECT on Table 'main.finance.forecasts'."},
		{"no use catalog", nobody, "SELECT * FROM main.sales.deals", "User does not have USE CATALOG on Catalog 'main'."},
		{"partner has view only", partner, "SELECT * FROM main.sales.deals", "User does not have SELECT on Table 'main.sales.deals'."},
		{"no modify", manager, "UPDATE main.sales.deals SET amount = 1", "User does not have MODIFY on Table 'main.sales.deals'."},
		{"no modify delete", finance, "DELETE FROM main.sales.deals", "User does not have MODIFY on Table 'main.sales.deals'."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(t, e, tc.who, tc.sql)
			if !IsPermission(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want INSUFFICIENT_PERMISSIONS with %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "[INSUFFICIENT_PERMISSIONS] Insufficient privileges:") || !strings.HasSuffix(err.Error(), "SQLSTATE: 42501") {
				t.Errorf("message shape: %q", err.Error())
			}
		})
	}
	t.Run("bare name in another schema", func(t *testing.T) {
		_, err := e.Execute(t.Context(), west, Request{SQL: "SELECT * FROM forecasts", Catalog: "main", Schema: "finance"})
		if !IsPermission(err) || !strings.Contains(err.Error(), "'main.finance.forecasts'") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unknown table", func(t *testing.T) {
		_, err := run(t, e, west, "SELECT * FROM main.sales.nope")
		var ge *Error
		if !errors.As(err, &ge) || ge.Class != "TABLE_OR_VIEW_NOT_FOUND" || ge.SQLState != "42P01" {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestBypassAttempts: nothing but the person's views is reachable.
func TestBypassAttempts(t *testing.T) {
	e := newFixture(t)
	deals, _ := e.Table("main.sales.deals")
	hidden := e.newSession(west, e.snapshot(), "main", "sales", nil, nil).hidden["main.sales.deals"]
	for _, sql := range []string{
		"SELECT * FROM " + deals.raw + " -- " + deals.raw,
		"SELECT * FROM main." + deals.raw,
		"SELECT * FROM `" + strings.ToUpper(deals.raw) + "`",
		"SELECT * FROM '" + deals.raw + "'",
		"SELECT * FROM " + hidden,
		"SELECT * FROM temp." + hidden,
		"SELECT * FROM sqlite_master",
		"SELECT * FROM main.sqlite_master",
		"SELECT * FROM sqlite_schema",
		"SELECT sql FROM sqlite_temp_master",
		"SELECT * FROM temp.sqlite_master",
		"SELECT * FROM pragma_table_info('deals')",
		"SELECT * FROM pragma_database_list",
		"PRAGMA table_info(deals)",
		"ATTACH DATABASE '/tmp/x.db' AS x",
		"DETACH DATABASE main",
		"VACUUM INTO '/tmp/copy.db'",
		"SELECT load_extension('x')",
		"SELECT 1; SELECT * FROM main.finance.forecasts",
		"SELECT * FROM main.sales.deals; DELETE FROM main.sales.deals",
		"CREATE TEMP VIEW x AS SELECT 1",
		"DROP VIEW deals",
		"ALTER TABLE deals ADD COLUMN x",
		"CREATE TRIGGER t AFTER INSERT ON deals BEGIN SELECT 1; END",
		"WITH x AS (SELECT 1) DELETE FROM main.sales.deals",
		"INSERT OR REPLACE INTO main.sales.deals (deal_id) VALUES ('D3')",
		"INSERT INTO main.sales.deals (deal_id) VALUES ('D9') ON CONFLICT DO NOTHING",
		"UPDATE main.sales.deals SET amount = 0 RETURNING *",
		"SELECT * FROM dbstat",
		"UPDATE main.sales.deals SET amount = 0 WHERE 1=1) OR rowid > 0 --",
		"UPDATE main.sales.deals SET amount = 0 WHERE 1=1) OR (rowid > 0",
		"DELETE FROM main.sales.deals WHERE 1=1) OR 1=1 /*",
		"MERGE INTO main.sales.deals d USING (SELECT 'D3' AS deal_id) s ON d.deal_id = s.deal_id) OR (1=1 WHEN MATCHED THEN DELETE",
		"SELECT * FROM sqlite_dbpage",
	} {
		t.Run(sql, func(t *testing.T) {
			r, err := run(t, e, west, sql)
			if err == nil {
				t.Fatalf("ran: %v", r.Rows)
			}
		})
	}
	// A comment holding a parenthesis is harmless: it is dropped.
	if got := col(mustRun(t, e, west, "DELETE FROM main.sales.deals WHERE region <> 'EAST' -- )"), 0); got[0] != "2" {
		t.Errorf("deleted %v", got)
	}
	// and nothing else changed
	if got := col(mustRun(t, e, AdminPrincipal(), "SELECT deal_id FROM main.sales.deals WHERE amount > 0 AND region <> 'WEST' ORDER BY 1"), 0); !slices.Equal(got, []string{"D3", "D4", "D5"}) {
		t.Errorf("rows left %v", got)
	}
}

func TestFunctionsAndDialect(t *testing.T) {
	e := newFixture(t)
	cases := []struct {
		who  Principal
		sql  string
		want []string
	}{
		{west, "SELECT current_user()", []string{"wendy@x.example"}},
		{west, "SELECT current_user", []string{"wendy@x.example"}},
		{west, "SELECT is_member('sales-west'), is_account_group_member('finance')", []string{"1"}},
		{west, "SELECT current_catalog() || '.' || current_schema()", []string{"main.sales"}},
		{west, "SELECT current_date()", []string{"2025-11-20"}},
		{west, "SELECT date_trunc('QUARTER', current_date())", []string{"2025-10-01"}},
		{west, "SELECT date_trunc('MONTH', '2025-11-20 10:11:12')", []string{"2025-11-01"}},
		{west, "SELECT COUNT(*) FROM deals WHERE close_date >= date_trunc('quarter', current_date())", []string{"1"}},
		{west, "SELECT year(close_date) FROM deals WHERE deal_id = 'D1'", []string{"2025"}},
		{west, "SELECT quarter('2025-08-01')", []string{"3"}},
		{west, "SELECT CAST('00123' AS STRING)", []string{"00123"}},
		{west, "SELECT CAST('2025-01-02 03:04:05' AS DATE)", []string{"2025-01-02"}},
		{west, "SELECT CAST(amount AS INT) FROM deals WHERE deal_id = 'D2'", []string{"200"}},
		{west, "SELECT CAST(1.005 AS DECIMAL(10,2))", []string{"1"}},
		{west, "SELECT NULL <=> NULL", []string{"1"}},
		{west, "SELECT datediff('2025-01-10', '2025-01-01')", []string{"9"}},
		{west, "SELECT date_add('2025-01-30', 3)", []string{"2025-02-02"}},
		{west, `SELECT COUNT(*) FROM deals WHERE rep = "wendy@x.example"`, []string{"1"}},
		{west, "SELECT SUM(amount) FROM deals", []string{"300"}},
		{west, "SELECT ROUND(AVG(amount), 2) FROM main.sales.deals", []string{"150"}},
	}
	for _, tc := range cases {
		t.Run(tc.sql, func(t *testing.T) {
			r := mustRun(t, e, tc.who, tc.sql)
			if got := col(r, 0); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParams(t *testing.T) {
	e := newFixture(t)
	r := mustRun(t, e, finance, "SELECT deal_id FROM deals WHERE region = :region AND amount >= :min AND close_date >= :since ORDER BY 1",
		Param{Name: "region", Value: str("EAST")}, Param{Name: "min", Type: "INT", Value: str("300")}, Param{Name: "since", Type: "DATE", Value: str("2025-01-01")})
	if got := col(r, 0); !slices.Equal(got, []string{"D3"}) {
		t.Errorf("got %v", got)
	}
	if _, err := run(t, e, finance, "SELECT :missing"); err == nil || !strings.Contains(err.Error(), "UNBOUND_SQL_PARAMETER") {
		t.Errorf("unbound: %v", err)
	}
	if _, err := run(t, e, finance, "SELECT :n", Param{Name: "n", Type: "INT", Value: str("abc")}); err == nil || !strings.Contains(err.Error(), "CAST_INVALID_INPUT") {
		t.Errorf("bad int: %v", err)
	}
	if got := col(mustRun(t, e, finance, "SELECT :v IS NULL", Param{Name: "v"}), 0); got[0] != "1" {
		t.Errorf("null param: %v", got)
	}
	if _, err := run(t, e, finance, "SELECT ?"); err == nil {
		t.Error("positional parameter accepted")
	}
}

func TestViewWithDefinerRightsAndOwnFilter(t *testing.T) {
	e := newFixture(t)
	r := mustRun(t, e, partner, "SELECT deal_id FROM main.sales.partner_deals ORDER BY 1")
	if got := col(r, 0); !slices.Equal(got, []string{"D1", "D2"}) {
		t.Errorf("partner sees %v", got)
	}
	if _, err := run(t, e, west, "SELECT * FROM main.sales.partner_deals"); !IsPermission(err) {
		t.Errorf("west on partner view: %v", err)
	}
}

func TestFilterReferencingAnotherTable(t *testing.T) {
	e := newFixture(t)
	for who, want := range map[*Principal][]string{&west: {"1", "4"}, &east: {"2"}, &finance: {"1", "2", "3", "4"}} {
		r := mustRun(t, e, *who, "SELECT event_id FROM main.sales.events ORDER BY 1")
		if got := col(r, 0); !slices.Equal(got, want) {
			t.Errorf("%s sees events %v, want %v", who.Name, got, want)
		}
	}
}
