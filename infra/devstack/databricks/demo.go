package databricks

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/behalf-dev/behalf/infra/devstack/databricks/govsql"
)

// Demo warehouse ids.
const (
	// DevWarehouseID: every demo role may use it (Nina, with no grants, may not).
	DevWarehouseID = "dev-warehouse"
	// LockedWarehouseID: only admins may use it.
	LockedWarehouseID = "locked-warehouse"
)

// demoRoleGroups are the directory groups that hold a demo role.
var demoRoleGroups = []string{"sales-west", "sales-east", "sales-managers", "executives", "finance", "admins", "approvers", "auditors", "partner-analysts"}

// Demo tables.
const (
	TableDeals     = "main.sales.deals"
	TableEvents    = "main.sales.deal_events"
	TableForecasts = "main.finance.forecasts"
	TablePartner   = "main.sales.partner_pipeline"
	SchemaAudit    = "main.behalf"
)

// Governance of the demo tables, as Unity Catalog row filters and masks.
const (
	dealsRowFilter = `is_member('sales-managers') OR is_member('executives') OR is_member('finance') OR is_member('admins')
 OR (is_member('sales-west') AND region = 'WEST') OR (is_member('sales-east') AND region = 'EAST')`
	marginMask    = `CASE WHEN is_member('finance') OR is_member('executives') OR is_member('admins') THEN margin_pct ELSE NULL END`
	eventsFilter  = `is_member('auditors') OR is_member('admins') OR deal_id IN (SELECT deal_id FROM main.sales.deals)`
	partnerView   = `SELECT deal_id, region, customer, product, amount, stage, close_date FROM main.sales.deals WHERE stage IN ('Proposal', 'Negotiation', 'Closed Won')`
	partnerFilter = `is_member('admins') OR (is_member('partner-analysts') AND region = 'WEST')`
)

// seedDemo creates the demo catalog, data and grants.
func seedDemo(ctx context.Context, g *govsql.Engine, cfg *Config, auditWriter string) error {
	steps := []func() error{
		func() error { return g.CreateCatalog("main", "admins") },
		func() error { return g.CreateSchema("main.default", "admins") },
		func() error { return g.CreateSchema("main.sales", "admins") },
		func() error { return g.CreateSchema("main.finance", "admins") },
		func() error { return g.CreateSchema(SchemaAudit, "admins") },
		func() error {
			return g.CreateTable(ctx, govsql.TableSpec{Name: TableDeals, Owner: "admins", Columns: []govsql.Column{
				{Name: "deal_id", Type: "STRING", NotNull: true}, {Name: "region", Type: "STRING"}, {Name: "rep", Type: "STRING"},
				{Name: "customer", Type: "STRING"}, {Name: "product", Type: "STRING"}, {Name: "amount", Type: "DECIMAL(12,2)"},
				{Name: "margin_pct", Type: "DECIMAL(5,2)"}, {Name: "stage", Type: "STRING"}, {Name: "created_date", Type: "DATE"},
				{Name: "close_date", Type: "DATE"}}})
		},
		func() error {
			return g.CreateTable(ctx, govsql.TableSpec{Name: TableEvents, Owner: "admins", Columns: []govsql.Column{
				{Name: "event_id", Type: "BIGINT", NotNull: true}, {Name: "deal_id", Type: "STRING"}, {Name: "event_type", Type: "STRING"},
				{Name: "actor", Type: "STRING"}, {Name: "event_time", Type: "TIMESTAMP"}, {Name: "detail", Type: "STRING"}}})
		},
		func() error {
			return g.CreateTable(ctx, govsql.TableSpec{Name: TableForecasts, Owner: "admins", Columns: []govsql.Column{
				{Name: "quarter", Type: "STRING"}, {Name: "region", Type: "STRING"}, {Name: "forecast_amount", Type: "DECIMAL(14,2)"},
				{Name: "committed_amount", Type: "DECIMAL(14,2)"}, {Name: "confidence", Type: "DOUBLE"}}})
		},
		func() error { return loadDemoData(ctx, g, cfg) },
		func() error { return g.CreateView(ctx, TablePartner, partnerView, "admins") },
		func() error { return g.SetRowFilter(TableDeals, dealsRowFilter) },
		func() error { return g.SetColumnMask(TableDeals, "margin_pct", marginMask) },
		func() error { return g.SetRowFilter(TableEvents, eventsFilter) },
		func() error { return g.SetRowFilter(TablePartner, partnerFilter) },
		func() error { return grantDemo(g, auditWriter) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return fmt.Errorf("databricks: demo data: %w", err)
		}
	}
	return nil
}

func grantDemo(g *govsql.Engine, auditWriter string) error {
	type grant struct {
		on    govsql.Securable
		who   []string
		privs []govsql.Privilege
	}
	readers := []string{"sales-west", "sales-east", "sales-managers", "executives", "finance"}
	grants := []grant{
		{govsql.OnCatalog("main"), demoRoleGroups, []govsql.Privilege{govsql.UseCatalog}},
		{govsql.OnSchema("main.sales"), demoRoleGroups, []govsql.Privilege{govsql.UseSchema}},
		{govsql.OnSchema("main.finance"), demoRoleGroups, []govsql.Privilege{govsql.UseSchema}},
		{govsql.OnTable(TableDeals), readers, []govsql.Privilege{govsql.Select}},
		{govsql.OnTable(TableDeals), []string{"sales-west", "sales-east"}, []govsql.Privilege{govsql.Modify}},
		{govsql.OnTable(TableEvents), append(readers, "auditors"), []govsql.Privilege{govsql.Select}},
		{govsql.OnTable(TableForecasts), []string{"finance", "executives"}, []govsql.Privilege{govsql.Select}},
		{govsql.OnTable(TablePartner), []string{"partner-analysts"}, []govsql.Privilege{govsql.Select}},
		{govsql.OnSchema(SchemaAudit), []string{"auditors"}, []govsql.Privilege{govsql.UseSchema, govsql.Select}},
	}
	if auditWriter != "" {
		grants = append(grants,
			grant{govsql.OnCatalog("main"), []string{auditWriter}, []govsql.Privilege{govsql.UseCatalog}},
			grant{govsql.OnSchema(SchemaAudit), []string{auditWriter}, []govsql.Privilege{govsql.UseSchema, govsql.CreateTable, govsql.Select, govsql.Modify}})
	}
	for _, gr := range grants {
		for _, who := range gr.who {
			if err := g.Grant(gr.on, who, gr.privs...); err != nil {
				return err
			}
		}
	}
	return nil
}

var (
	demoReps = map[string][]string{
		"WEST":    {"wendy.west@contoso.example", "mark.mfa@contoso.example", "walt.west@contoso.example", "wanda.west@contoso.example"},
		"EAST":    {"eli.east@contoso.example", "emma.east@contoso.example", "evan.east@contoso.example"},
		"CENTRAL": {"carla.central@contoso.example", "chris.central@contoso.example"},
		"SOUTH":   {"sam.south@contoso.example", "sofia.south@contoso.example"},
	}
	demoRegions   = []string{"WEST", "WEST", "WEST", "EAST", "EAST", "EAST", "CENTRAL", "CENTRAL", "SOUTH", "SOUTH"}
	demoCustomers = []string{"Adatum", "Alpine Ski House", "Bellows College", "Best For You Organics", "Blue Yonder Airlines", "City Power & Light",
		"Coho Winery", "Consolidated Messenger", "Contoso Pharmaceuticals", "Fabrikam Residences", "First Up Consultants", "Fourth Coffee",
		"Graphic Design Institute", "Humongous Insurance", "Lamna Healthcare", "Liberty Delightful Sinful Bakery", "Litware", "Lucerne Publishing",
		"Margie's Travel", "Munson's Pickles", "Nod Publishers", "Northwind Traders", "Proseware", "Relecloud", "School of Fine Art",
		"Southridge Video", "Tailspin Toys", "Trey Research", "VanArsdel", "Wide World Importers", "Wingtip Toys", "Woodgrove Bank"}
	demoProducts = []string{"Analytics Platform", "Data Pipelines", "ML Ops Suite", "Support Plan", "Training"}
)

// loadDemoData generates the deals, their events and the forecasts from a
// seeded generator, anchored at the configured data date so that "this
// quarter" always has deals.
func loadDemoData(ctx context.Context, g *govsql.Engine, cfg *Config) error {
	rnd := rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(cfg.Seed)^0x9e3779b97f4a7c15))
	today := time.Date(cfg.DataDate.Year(), cfg.DataDate.Month(), cfg.DataDate.Day(), 0, 0, 0, 0, time.UTC)
	var deals, events [][]any
	eventID := int64(0)
	for i := 1; i <= cfg.DealCount; i++ {
		region := demoRegions[rnd.IntN(len(demoRegions))]
		rep := demoReps[region][rnd.IntN(len(demoReps[region]))]
		created := today.AddDate(0, 0, -rnd.IntN(730))
		amount := math.Round(5000*math.Exp(rnd.Float64()*4.6)*100) / 100
		margin := math.Round((8+rnd.Float64()*37)*100) / 100
		var stage string
		var closeDate time.Time
		switch x := rnd.Float64(); {
		case x < 0.5 || created.Before(today.AddDate(0, 0, -200)) && x < 0.75:
			stage = "Closed Won"
		case x < 0.75 || created.Before(today.AddDate(0, 0, -200)):
			stage = "Closed Lost"
		case x < 0.85:
			stage = "Negotiation"
		case x < 0.93:
			stage = "Proposal"
		default:
			stage = "Qualification"
		}
		if stage == "Closed Won" || stage == "Closed Lost" {
			closeDate = created.AddDate(0, 0, 10+rnd.IntN(110))
			if closeDate.After(today) {
				closeDate = today.AddDate(0, 0, -rnd.IntN(5))
			}
		} else {
			closeDate = today.AddDate(0, 0, 5+rnd.IntN(120))
		}
		if closeDate.Before(created) {
			closeDate = created
		}
		id := fmt.Sprintf("D-%05d", i)
		deals = append(deals, []any{id, region, rep, demoCustomers[rnd.IntN(len(demoCustomers))], demoProducts[rnd.IntN(len(demoProducts))],
			amount, margin, stage, created.Format("2006-01-02"), closeDate.Format("2006-01-02")})
		at := func(d time.Time) string {
			return d.Add(time.Duration(8*60+rnd.IntN(10*60)) * time.Minute).Format("2006-01-02 15:04:05")
		}
		eventID++
		events = append(events, []any{eventID, id, "created", rep, at(created), "Deal created"})
		if rnd.IntN(2) == 0 {
			eventID++
			events = append(events, []any{eventID, id, "note", rep, at(created.AddDate(0, 0, 1+rnd.IntN(9))), "Customer call logged"})
		}
		if stage == "Closed Won" || stage == "Closed Lost" {
			eventID++
			events = append(events, []any{eventID, id, "stage_change", rep, at(closeDate), "Stage set to " + stage})
		}
	}
	var forecasts [][]any
	q0 := time.Date(today.Year(), (today.Month()-1)/3*3+1, 1, 0, 0, 0, 0, time.UTC)
	for k := -4; k <= 2; k++ {
		q := q0.AddDate(0, 3*k, 0)
		label := fmt.Sprintf("%d-Q%d", q.Year(), (q.Month()-1)/3+1)
		for _, region := range []string{"WEST", "EAST", "CENTRAL", "SOUTH"} {
			f := math.Round((1_500_000+rnd.Float64()*2_500_000)*100) / 100
			forecasts = append(forecasts, []any{label, region, f, math.Round(f*(0.4+rnd.Float64()*0.5)*100) / 100, math.Round(rnd.Float64()*100) / 100})
		}
	}
	if err := g.Insert(ctx, TableDeals, []string{"deal_id", "region", "rep", "customer", "product", "amount", "margin_pct", "stage", "created_date", "close_date"}, deals); err != nil {
		return err
	}
	if err := g.Insert(ctx, TableEvents, []string{"event_id", "deal_id", "event_type", "actor", "event_time", "detail"}, events); err != nil {
		return err
	}
	return g.Insert(ctx, TableForecasts, []string{"quarter", "region", "forecast_amount", "committed_amount", "confidence"}, forecasts)
}
