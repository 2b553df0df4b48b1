package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/behalf-dev/behalf/infra/devstack/databricks"
	"github.com/behalf-dev/behalf/infra/devstack/devca"
	"github.com/behalf-dev/behalf/infra/devstack/directory"
	"github.com/behalf-dev/behalf/shared/genie"
	"github.com/behalf-dev/behalf/shared/obo"
	"github.com/behalf-dev/behalf/shared/sqlexec"
	"github.com/behalf-dev/behalf/shared/workspace"
)

// workspaceFixture is a running workspace emulator and behalf's client
// factory trusting its CA.
type workspaceFixture struct {
	dbx     *databricks.Emulator
	factory *workspace.Factory
	ca      *devca.CA
}

func startWorkspace(t *testing.T, mod func(*databricks.Config)) *workspaceFixture {
	t.Helper()
	ca, err := devca.New(devca.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := databricks.Config{Directory: directory.Demo(), CA: ca, GenieStepDelay: 20 * time.Millisecond, GenieRateLimit: -1}
	if mod != nil {
		mod(&cfg)
	}
	dbx, err := databricks.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := dbx.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dbx.Close(context.Background()) })
	f, err := workspace.NewFactory(workspace.Config{Host: dbx.URL(), RootCAs: ca.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	return &workspaceFixture{dbx: dbx, factory: f, ca: ca}
}

func (w *workspaceFixture) tokenFor(t *testing.T, upn string) *obo.Token {
	t.Helper()
	tok, err := w.dbx.IssueToken(upn, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &obo.Token{AccessToken: tok, ExpiresAt: time.Now().Add(time.Hour)}
}

func (w *workspaceFixture) runner(t *testing.T, upn string) *sqlexec.Runner {
	t.Helper()
	c, err := w.factory.ForToken(w.tokenFor(t, upn).AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	r, err := sqlexec.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const (
	west    = "wendy.west@contoso.example"
	east    = "eli.east@contoso.example"
	finance = "fiona.finance@contoso.example"
	nina    = "nina.nogrants@contoso.example"
)

// TestStatementsRunAsThePerson runs the same read through sqlexec for three
// people: rows follow row filters and margin_pct is NULL (not "") when
// masked.
func TestStatementsRunAsThePerson(t *testing.T) {
	w := startWorkspace(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stmt := sqlexec.Statement{SQL: "SELECT region, margin_pct FROM main.sales.deals ORDER BY deal_id", WarehouseID: databricks.DevWarehouseID, MaxRows: 20}
	regions := map[string]map[any]bool{}
	for _, who := range []string{west, east, finance} {
		res, err := w.runner(t, who).Run(ctx, stmt, true)
		if err != nil {
			t.Fatalf("%s: %v", who, err)
		}
		regions[who] = map[any]bool{}
		for _, row := range res.Table.Rows {
			regions[who][row[0]] = true
			masked := row[1] == nil
			if who == finance && masked {
				t.Fatalf("finance sees a masked margin: %v", row)
			}
			if who != finance && !masked {
				t.Fatalf("%s sees margin_pct %v", who, row[1])
			}
		}
		if !res.Table.Truncated || res.Table.RowCount != 20 {
			t.Fatalf("%s: row cap not applied honestly: %+v", who, res.Table)
		}
	}
	if len(regions[west]) != 1 || !regions[west]["WEST"] || len(regions[east]) != 1 || !regions[east]["EAST"] || len(regions[finance]) < 2 {
		t.Fatalf("regions seen: %v", regions)
	}
	_, err := w.runner(t, nina).Run(ctx, stmt, true)
	var se *sqlexec.Error
	if !errors.As(err, &se) || se.Code != sqlexec.CodeWarehouseAccess {
		t.Fatalf("nina: %v", err)
	}
	_, err = w.runner(t, east).Run(ctx, sqlexec.Statement{SQL: "SELECT * FROM main.finance.forecasts", WarehouseID: databricks.DevWarehouseID}, true)
	if !errors.As(err, &se) || se.Code != sqlexec.CodeTableAccess {
		t.Fatalf("east on forecasts: %v", err)
	}
}

// TestGenieServiceAgainstWorkspace asks the same question as two people
// through shared/genie and databricks-sdk-go.
func TestGenieServiceAgainstWorkspace(t *testing.T) {
	w := startWorkspace(t, nil)
	h, _ := genie.NewHandles(make([]byte, 32))
	svc, err := genie.New(genie.Config{DefaultSpace: databricks.SalesSpaceID, Handles: h, PollInitial: 20 * time.Millisecond, PollMax: 100 * time.Millisecond, MaxRows: 50})
	if err != nil {
		t.Fatal(err)
	}
	ask := func(upn, q, conv string) *genie.Answer {
		t.Helper()
		c, err := w.factory.ForToken(w.tokenFor(t, upn).AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		api, err := genie.NewAPI(c)
		if err != nil {
			t.Fatal(err)
		}
		a, err := svc.Ask(context.Background(), api, upn, genie.Question{Text: q, ConversationID: conv})
		if err != nil {
			t.Fatalf("%s asks %q: %v", upn, q, err)
		}
		return a
	}
	a := ask(west, "revenue by region", "")
	b := ask(finance, "revenue by region", "")
	if a.Status != "COMPLETED" || a.SQL == "" || len(a.Rows) == 0 || len(b.Rows) <= len(a.Rows) {
		t.Fatalf("west %+v\nfinance %+v", a, b)
	}
	c := ask(west, "average margin by region", "")
	marginCols := 0
	for i, col := range c.Columns {
		if !strings.Contains(col.Name, "margin") {
			continue
		}
		marginCols++
		for _, row := range c.Rows {
			if row[i] != nil {
				t.Fatalf("west sees a margin value in %s: %v", col.Name, row)
			}
		}
	}
	if marginCols == 0 {
		t.Fatalf("no margin column in %+v", c.Columns)
	}
	f := ask(west, "now only the top 1", c.ConversationID)
	if f.Status != "COMPLETED" {
		t.Fatalf("follow-up %+v", f)
	}
	u := ask(west, "what is the meaning of life", "")
	if !u.Clarification || u.Text == "" {
		t.Fatalf("unmapped question %+v", u)
	}
}
