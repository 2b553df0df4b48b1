package databricks

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go/apierr"
	"github.com/databricks/databricks-sdk-go/service/sql"
)

func execute(t *testing.T, v *env, who, statement string, mutate func(*sql.ExecuteStatementRequest)) *sql.StatementResponse {
	t.Helper()
	req := sql.ExecuteStatementRequest{WarehouseId: DevWarehouseID, Statement: statement, WaitTimeout: "30s"}
	if mutate != nil {
		mutate(&req)
	}
	resp, err := v.as(t, who).StatementExecution.ExecuteStatement(t.Context(), req)
	if err != nil {
		t.Fatalf("%s: %v", who, err)
	}
	return resp
}

func adminCount(t *testing.T, v *env, sql string) string {
	t.Helper()
	r, err := v.e.QueryAsAdmin(t.Context(), sql)
	if err != nil {
		t.Fatal(err)
	}
	return *r.Rows[0][0]
}

// TestSameSelectDifferentPeople is acceptance 2: one statement, run as west
// sales, east sales and finance, returns each person's rows, with margins
// masked for sales.
func TestSameSelectDifferentPeople(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	const q = "SELECT region, COUNT(*) AS deals, MAX(margin_pct) AS max_margin FROM main.sales.deals GROUP BY region ORDER BY region"
	for _, tc := range []struct {
		who     string
		regions []string
		masked  bool
	}{
		{wendy, []string{"WEST"}, true},
		{eli, []string{"EAST"}, true},
		{maya, []string{"CENTRAL", "EAST", "SOUTH", "WEST"}, true},
		{fiona, []string{"CENTRAL", "EAST", "SOUTH", "WEST"}, false},
		{xavier, []string{"CENTRAL", "EAST", "SOUTH", "WEST"}, false},
	} {
		t.Run(tc.who, func(t *testing.T) {
			resp := execute(t, v, tc.who, q, nil)
			if resp.Status.State != sql.StatementStateSucceeded {
				t.Fatalf("state %s: %+v", resp.Status.State, resp.Status.Error)
			}
			var regions []string
			for _, row := range resp.Result.DataArray {
				regions = append(regions, row[0])
				if want := adminCount(t, v, "SELECT COUNT(*) FROM main.sales.deals WHERE region = '"+row[0]+"'"); row[1] != want {
					t.Errorf("%s: %s deals, admin counts %s", row[0], row[1], want)
				}
				if masked := row[2] == ""; masked != tc.masked {
					t.Errorf("%s: max margin %q, masked=%v", row[0], row[2], tc.masked)
				}
			}
			if !slices.Equal(regions, tc.regions) {
				t.Errorf("regions %v, want %v", regions, tc.regions)
			}
			if cols := resp.Manifest.Schema.Columns; len(cols) != 3 || cols[0].TypeName != sql.ColumnInfoTypeNameString || cols[1].TypeName != sql.ColumnInfoTypeNameLong {
				t.Errorf("schema %+v", cols)
			}
			// A masked column keeps its declared type.
			resp = execute(t, v, tc.who, "SELECT margin_pct FROM main.sales.deals LIMIT 1", nil)
			if c := resp.Manifest.Schema.Columns[0]; c.TypeName != sql.ColumnInfoTypeNameDecimal || c.TypeText != "DECIMAL(5,2)" || c.TypePrecision != 5 || c.TypeScale != 2 {
				t.Errorf("margin_pct column %+v", c)
			}
		})
	}
	if c := v.e.Counters(); c.StatementsByPrincipal[wendy] != 2 || c.StatementsByPrincipal[fiona] != 2 || c.StatementsTotal != 10 {
		t.Errorf("counters %+v", c)
	}
}

func TestPermissionDenied(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	t.Run("no SELECT fails the statement", func(t *testing.T) {
		resp := execute(t, v, wendy, "SELECT * FROM main.finance.forecasts", nil)
		if resp.Status.State != sql.StatementStateFailed || resp.Status.Error.ErrorCode != sql.ServiceErrorCodeBadRequest || resp.Status.SqlState != "42501" {
			t.Fatalf("status %+v", resp.Status)
		}
		want := "[INSUFFICIENT_PERMISSIONS] Insufficient privileges:\nUser does not have SELECT on Table 'main.finance.forecasts'. SQLSTATE: 42501"
		if resp.Status.Error.Message != want {
			t.Errorf("message %q", resp.Status.Error.Message)
		}
	})
	t.Run("auditor reads events but not deals", func(t *testing.T) {
		if resp := execute(t, v, carl, "SELECT COUNT(*) FROM main.sales.deal_events", nil); resp.Status.State != sql.StatementStateSucceeded {
			t.Fatalf("events: %+v", resp.Status)
		}
		resp := execute(t, v, carl, "SELECT * FROM deals", func(r *sql.ExecuteStatementRequest) { r.Catalog, r.Schema = "main", "sales" })
		if resp.Status.State != sql.StatementStateFailed || !strings.Contains(resp.Status.Error.Message, "User does not have SELECT on Table 'main.sales.deals'.") {
			t.Fatalf("deals: %+v", resp.Status)
		}
	})
	t.Run("no CAN USE on the warehouse", func(t *testing.T) {
		for who, wh := range map[string]string{nina: DevWarehouseID, wendy: LockedWarehouseID} {
			_, err := v.as(t, who).StatementExecution.ExecuteStatement(t.Context(), sql.ExecuteStatementRequest{WarehouseId: wh, Statement: "SELECT 1"})
			var ae *apierr.APIError
			if !errors.Is(err, apierr.ErrPermissionDenied) || !errors.As(err, &ae) || ae.ErrorCode != "PERMISSION_DENIED" ||
				ae.Message != "User does not have CAN USE permission on SQL warehouse "+wh+"." {
				t.Errorf("%s on %s: %v", who, wh, err)
			}
		}
	})
	t.Run("unknown warehouse", func(t *testing.T) {
		_, err := v.as(t, wendy).StatementExecution.ExecuteStatement(t.Context(), sql.ExecuteStatementRequest{WarehouseId: "nope", Statement: "SELECT 1"})
		if !errors.Is(err, apierr.ErrNotFound) {
			t.Errorf("err = %v", err)
		}
	})
}

// TestUpdateOnlyVisibleRows: west sales may change only WEST deals;
// managers have no MODIFY.
func TestUpdateOnlyVisibleRows(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	westTraining := adminCount(t, v, "SELECT COUNT(*) FROM main.sales.deals WHERE product = 'Training' AND region = 'WEST'")
	allTraining := adminCount(t, v, "SELECT COUNT(*) FROM main.sales.deals WHERE product = 'Training'")
	if westTraining == allTraining || westTraining == "0" {
		t.Fatalf("fixture: %s WEST of %s", westTraining, allTraining)
	}
	resp := execute(t, v, wendy, "UPDATE main.sales.deals SET product = 'Training (renamed)' WHERE product = 'Training'", nil)
	if resp.Status.State != sql.StatementStateSucceeded || resp.Result.DataArray[0][0] != westTraining || resp.Manifest.Schema.Columns[0].Name != "num_affected_rows" {
		t.Fatalf("update: %+v %+v", resp.Status, resp.Result)
	}
	if got := adminCount(t, v, "SELECT COUNT(*) FROM main.sales.deals WHERE product = 'Training (renamed)' AND region <> 'WEST'"); got != "0" {
		t.Errorf("%s non-WEST rows changed", got)
	}
	if got := adminCount(t, v, "SELECT COUNT(*) FROM main.sales.deals WHERE product = 'Training (renamed)'"); got != westTraining {
		t.Errorf("renamed %s, want %s", got, westTraining)
	}
	resp = execute(t, v, maya, "UPDATE main.sales.deals SET product = 'x'", nil)
	if resp.Status.State != sql.StatementStateFailed || !strings.Contains(resp.Status.Error.Message, "User does not have MODIFY on Table 'main.sales.deals'.") {
		t.Errorf("manager update: %+v", resp.Status)
	}
	resp = execute(t, v, eli, "DELETE FROM main.sales.deals WHERE region = 'WEST'", nil)
	if resp.Status.State != sql.StatementStateSucceeded || resp.Result.DataArray[0][0] != "0" {
		t.Errorf("east deleting WEST rows: %+v %+v", resp.Status, resp.Result)
	}
}

func TestAsyncLifecycleAndCancel(t *testing.T) {
	t.Parallel()
	v := newEnv(t, func(c *Config) {
		c.StatementDelays = StatementDelays{Pending: 150 * time.Millisecond, Running: 150 * time.Millisecond}
	})
	w := v.as(t, wendy)
	ctx := t.Context()
	resp, err := w.StatementExecution.ExecuteStatement(ctx, sql.ExecuteStatementRequest{WarehouseId: DevWarehouseID, Statement: "SELECT COUNT(*) FROM main.sales.deals", WaitTimeout: "0s"})
	if err != nil || resp.Status.State != sql.StatementStatePending || resp.StatementId == "" {
		t.Fatalf("async submit: %+v %v", resp, err)
	}
	seen := map[sql.StatementState]bool{}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		got, err := w.StatementExecution.GetStatementByStatementId(ctx, resp.StatementId)
		if err != nil {
			t.Fatal(err)
		}
		seen[got.Status.State] = true
		if got.Status.State == sql.StatementStateSucceeded {
			if got.Result.DataArray[0][0] != adminCount(t, v, "SELECT COUNT(*) FROM main.sales.deals WHERE region = 'WEST'") {
				t.Errorf("result %v", got.Result.DataArray)
			}
			break
		}
	}
	if !seen[sql.StatementStatePending] || !seen[sql.StatementStateRunning] || !seen[sql.StatementStateSucceeded] {
		t.Errorf("states seen %v", seen)
	}
	// Another person cannot read the statement.
	if _, err := v.as(t, eli).StatementExecution.GetStatementByStatementId(ctx, resp.StatementId); !errors.Is(err, apierr.ErrNotFound) {
		t.Errorf("eli reading wendy's statement: %v", err)
	}

	v.e.SetStatementDelays(StatementDelays{Running: time.Minute})
	slow, err := w.StatementExecution.ExecuteStatement(ctx, sql.ExecuteStatementRequest{WarehouseId: DevWarehouseID, Statement: "DELETE FROM main.sales.deals", WaitTimeout: "0s"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.StatementExecution.CancelExecution(ctx, sql.CancelExecutionRequest{StatementId: slow.StatementId}); err != nil {
		t.Fatal(err)
	}
	got := waitState(t, w.StatementExecution, slow.StatementId)
	if got.Status.State != sql.StatementStateCanceled {
		t.Errorf("after cancel: %+v", got.Status)
	}
	if adminCount(t, v, "SELECT COUNT(*) FROM main.sales.deals WHERE region = 'WEST'") == "0" {
		t.Error("the canceled DELETE ran")
	}
	if v.e.Counters().StatementsByPrincipal[wendy] != 1 {
		t.Errorf("canceled statement counted as executed: %+v", v.e.Counters().StatementsByPrincipal)
	}
}

func waitState(t *testing.T, w interface {
	GetStatementByStatementId(context.Context, string) (*sql.StatementResponse, error)
}, id string) *sql.StatementResponse {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		got, err := w.GetStatementByStatementId(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		switch got.Status.State {
		case sql.StatementStatePending, sql.StatementStateRunning:
			continue
		}
		return got
	}
	t.Fatal("statement did not finish")
	return nil
}

// TestOnWaitTimeoutCancel waits the minimum synchronous time (5 s) once.
func TestOnWaitTimeoutCancel(t *testing.T) {
	t.Parallel()
	v := newEnv(t, func(c *Config) { c.StatementDelays = StatementDelays{Running: time.Minute} })
	resp := execute(t, v, wendy, "SELECT 1", func(r *sql.ExecuteStatementRequest) {
		r.WaitTimeout, r.OnWaitTimeout = "5s", sql.ExecuteStatementRequestOnWaitTimeoutCancel
	})
	if resp.Status.State != sql.StatementStateCanceled {
		t.Errorf("state %s", resp.Status.State)
	}
}

func TestChunksLimitsAndParameters(t *testing.T) {
	t.Parallel()
	v := newEnv(t, func(c *Config) { c.ResultChunkRows = 500 })
	w := v.as(t, fiona)
	resp := execute(t, v, fiona, "SELECT deal_id, amount, close_date FROM main.sales.deals ORDER BY deal_id", nil)
	m := resp.Manifest
	if m.TotalRowCount != 1200 || m.TotalChunkCount != 3 || len(m.Chunks) != 3 || m.Chunks[2].RowOffset != 1000 || resp.Result.NextChunkIndex != 1 {
		t.Fatalf("manifest %+v / result next %d", m, resp.Result.NextChunkIndex)
	}
	if !strings.HasSuffix(resp.Result.NextChunkInternalLink, "/result/chunks/1") || len(resp.Result.DataArray) != 500 {
		t.Errorf("first chunk: link %q, %d rows", resp.Result.NextChunkInternalLink, len(resp.Result.DataArray))
	}
	var ids []string
	for i := range m.TotalChunkCount {
		chunk := resp.Result
		if i > 0 {
			var err error
			if chunk, err = w.StatementExecution.GetStatementResultChunkN(t.Context(), sql.GetStatementResultChunkNRequest{StatementId: resp.StatementId, ChunkIndex: i}); err != nil {
				t.Fatal(err)
			}
		}
		for _, row := range chunk.DataArray {
			ids = append(ids, row[0])
		}
	}
	if len(ids) != 1200 || !sort.StringsAreSorted(ids) || ids[0] != "D-00001" {
		t.Errorf("assembled %d ids, first %q", len(ids), ids[0])
	}
	if d := resp.Result.DataArray[0][2]; len(d) != 10 || d[4] != '-' {
		t.Errorf("DATE rendered as %q", d)
	}

	resp = execute(t, v, fiona, "SELECT deal_id FROM main.sales.deals", func(r *sql.ExecuteStatementRequest) { r.RowLimit = 7 })
	if !resp.Manifest.Truncated || resp.Manifest.TotalRowCount != 7 {
		t.Errorf("row_limit: %+v", resp.Manifest)
	}

	resp = execute(t, v, eli, "SELECT COUNT(*) FROM deals WHERE region = :region AND amount >= :min AND close_date <= :until", func(r *sql.ExecuteStatementRequest) {
		r.Catalog, r.Schema = "main", "sales"
		r.Parameters = []sql.StatementParameterListItem{{Name: "region", Value: "WEST"}, {Name: "min", Type: "DECIMAL(12,2)", Value: "0"}, {Name: "until", Type: "DATE", Value: "2030-01-01"}}
	})
	if resp.Status.State != sql.StatementStateSucceeded || resp.Result.DataArray[0][0] != "0" {
		t.Errorf("east asking for WEST by parameter: %+v %+v", resp.Status, resp.Result)
	}
}

func TestRequestValidation(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	w := v.as(t, wendy)
	for name, req := range map[string]sql.ExecuteStatementRequest{
		"external links":   {WarehouseId: DevWarehouseID, Statement: "SELECT 1", Disposition: sql.DispositionExternalLinks},
		"arrow inline":     {WarehouseId: DevWarehouseID, Statement: "SELECT 1", Format: sql.FormatArrowStream},
		"wait 3s":          {WarehouseId: DevWarehouseID, Statement: "SELECT 1", WaitTimeout: "3s"},
		"wait 51s":         {WarehouseId: DevWarehouseID, Statement: "SELECT 1", WaitTimeout: "51s"},
		"no statement":     {WarehouseId: DevWarehouseID},
		"no warehouse":     {Statement: "SELECT 1"},
		"bad wait timeout": {WarehouseId: DevWarehouseID, Statement: "SELECT 1", OnWaitTimeout: "LATER"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := w.StatementExecution.ExecuteStatement(t.Context(), req)
			if !errors.Is(err, apierr.ErrBadRequest) {
				t.Errorf("err = %v", err)
			}
		})
	}
	resp := execute(t, v, wendy, "SELEC 1", nil)
	if resp.Status.State != sql.StatementStateFailed || !strings.HasPrefix(resp.Status.Error.Message, "[PARSE_SYNTAX_ERROR]") {
		t.Errorf("syntax error: %+v", resp.Status)
	}
	resp = execute(t, v, wendy, "SELECT * FROM sqlite_master", nil)
	if resp.Status.State != sql.StatementStateFailed || resp.Status.SqlState != "42501" {
		t.Errorf("sqlite_master: %+v", resp.Status)
	}
}
