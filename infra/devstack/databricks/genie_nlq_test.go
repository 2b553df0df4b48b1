package databricks

import "testing"

func TestMatcher(t *testing.T) {
	t.Parallel()
	m := newMatcher()
	sp := &demoSpaces()[0]
	title := func(p plan) string {
		if p.example < 0 {
			return "(clarify)"
		}
		return sp.Examples[p.example].Title
	}
	for _, tc := range []struct {
		q, want string
		limit   int
		region  string
	}{
		{"What is the revenue by region?", "Revenue by region", 0, ""},
		{"revenue per territory", "Revenue by region", 0, ""},
		{"Show me the top deals", "Top deals", 0, ""},
		{"top 5 deals in the west", "Top deals", 5, "WEST"},
		{"biggest three opportunities", "Top deals", 3, ""},
		{"Average margin by region", "Average margin by region", 0, ""},
		{"margins per region", "Average margin by region", 0, ""},
		{"Which deals closed this quarter?", "Deals closed this quarter", 0, ""},
		{"how many deals closed this quarter", "Deals closed this quarter", 0, ""},
		{"How many deals are there?", "Number of deals", 0, ""},
		{"revenue by sales rep", "Revenue by rep", 0, ""},
		{"monthly revenue", "Monthly revenue", 0, ""},
		{"pipeline by stage", "Pipeline by stage", 0, ""},
		{"who are our top 10 customers", "Top customers", 10, ""},
		{"recent deal activity", "Recent deal activity", 0, ""},
		{"What is our revenue?", "(clarify)", 0, ""},
		{"Tell me a joke", "(clarify)", 0, ""},
	} {
		p := m.match(sp, tc.q, nil)
		if title(p) != tc.want || p.mods.Limit != tc.limit || p.mods.Region != tc.region {
			t.Errorf("%q → %s %+v, want %s limit %d region %q", tc.q, title(p), p.mods, tc.want, tc.limit, tc.region)
		}
	}
	prev := m.match(sp, "revenue by region", nil)
	for _, tc := range []struct {
		q, want string
		limit   int
		region  string
	}{
		{"now only the top 2", "Revenue by region", 2, ""},
		{"only the EAST region", "Revenue by region", 0, "EAST"},
		{"and by rep?", "Revenue by rep", 0, ""},
		{"what about the weather", "(clarify)", 0, ""},
		{"top deals", "Top deals", 0, ""},
	} {
		p := m.match(sp, tc.q, &prev)
		if title(p) != tc.want || p.mods.Limit != tc.limit || p.mods.Region != tc.region {
			t.Errorf("follow-up %q → %s %+v, want %s limit %d region %q", tc.q, title(p), p.mods, tc.want, tc.limit, tc.region)
		}
	}
	ex := sp.Examples[0]
	if got := ex.render(modifiers{Limit: 2, Region: "WEST"}); got != "SELECT region, ROUND(SUM(amount), 2) AS revenue FROM main.sales.deals WHERE stage = 'Closed Won' AND region = 'WEST' GROUP BY region ORDER BY revenue DESC LIMIT 2" {
		t.Errorf("render: %s", got)
	}
}
