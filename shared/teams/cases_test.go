package teams

import (
	"fmt"
	"strings"
	"time"
)

// Fixtures shared by the content, golden, size and node validation tests:
// every kind of card the package can produce, with ordinary and hostile
// input.

var (
	testExpiry = time.Date(2026, 11, 22, 18, 0, 0, 0, time.UTC)
	testAt     = time.Date(2026, 11, 22, 14, 2, 0, 0, time.UTC)
)

const (
	testOpID   = "0b6f4d1e-7a55-4c1b-9a7e-3f0c2d9e8b11"
	testReview = "https://behalf.example.net/api/sql-approve/0b6f4d1e-7a55-4c1b-9a7e-3f0c2d9e8b11"
	shortSQL   = "DELETE FROM main.sales.orders WHERE region = 'WEST' AND order_date < '2020-01-01'"
)

var (
	alice = Person{Name: "Alice West", UPN: "alice@contoso.example"}
	bob   = Person{Name: "Bob Approver", UPN: "bob@contoso.example"}
)

func baseProposal() Proposal {
	return Proposal{
		OpID:      testOpID,
		Proposer:  alice,
		Statement: shortSQL,
		Class:     "write",
		Risk:      "medium",
		Policy:    "self",
		Tables:    []string{"main.sales.orders"},
		Warehouse: "4b9b953939869799",
		Catalog:   "main",
		Schema:    "sales",
		ExpiresAt: testExpiry,
		ReviewURL: testReview,
	}
}

// longSQL is a statement far over the card's line and character bounds.
func longSQL(lines int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO main.sales.archive\nSELECT *\nFROM main.sales.orders\nWHERE id IN (\n")
	for i := range lines {
		fmt.Fprintf(&b, "    %d, -- row %d of the list\n", 100000+i, i)
	}
	b.WriteString(")")
	return b.String()
}

// hostileSQL tries markdown links, mentions, HTML, bidi reordering,
// invisible characters, stacked combining marks and invalid UTF-8.
const hostileSQL = "DELETE FROM t WHERE note = '[click me](https://evil.example/steal) **URGENT** _x_ `code` <at>Bob</at> <b>bold</b> &amp; # heading'\n" +
	"-- \u202eSELECT 1\u202c \u2066isolate\u2069 zero\u200bwidth \ufeffbom \u00adsoft\n" +
	"AND name = 'Z\u0351\u0352\u0353\u0354\u0355\u0356\u0357\u0358\u0359a' -- zalgo\n" +
	"AND city = '東京' AND who = 'مرحبا' AND e = '🙂👍🏽👨‍👩‍👧' AND bad = '\xff\xfe' AND nul = '\x00\x07'\n" +
	"\tAND tab = 1\r\n  AND indent = 2\u2028AND sep = 3"

type cardCase struct {
	name   string
	card   Card
	golden bool
}

func proposalCases() []cardCase {
	var cs []cardCase
	add := func(name string, golden bool, edit func(*Proposal)) {
		p := baseProposal()
		edit(&p)
		cs = append(cs, cardCase{"proposal-" + name, ProposalCard(p), golden})
	}
	add("short", true, func(*Proposal) {})
	add("long", true, func(p *Proposal) {
		p.Statement = longSQL(500)
		p.Class, p.Risk, p.Policy = "write", "high", "four-eyes"
	})
	add("long-line", false, func(p *Proposal) {
		p.Statement = "UPDATE main.sales.orders SET note = '" + strings.Repeat("x", 5000) + "'"
	})
	add("hostile", true, func(p *Proposal) {
		p.Statement = hostileSQL
		p.Proposer = Person{Name: "[Mallory](https://evil.example) <at>All</at> **boss**", UPN: "m_a_l@evil.example"}
		p.Tables = []string{"main.`odd*table`", "[x](https://evil.example)", "t\u202eable"}
		p.Warehouse = "<b>wh</b>"
		p.Catalog, p.Schema = "cat_*_", "sch\nema"
		p.Class, p.Risk, p.Policy = "bogus", "bogus", "bogus"
		p.OpID = "op_[x](y)"
	})
	for _, risk := range []string{"low", "medium", "high", "critical", ""} {
		for _, policy := range []string{"self", "four-eyes"} {
			add(fmt.Sprintf("risk-%s-%s", orDash(risk), policy), false, func(p *Proposal) {
				p.Risk, p.Policy = risk, policy
			})
		}
	}
	for _, class := range []string{"write", "ddl", "dcl", "session", "unknown"} {
		add("class-"+class, false, func(p *Proposal) { p.Class = class })
	}
	add("no-tables-no-namespace", true, func(p *Proposal) {
		p.Statement = "DROP TABLE IF EXISTS old_stuff"
		p.Class, p.Risk, p.Policy = "ddl", "high", "four-eyes"
		p.Tables, p.Catalog, p.Schema, p.Warehouse = nil, "", "", ""
		p.Proposer = Person{UPN: "svc-reporting@contoso.example"}
	})
	add("many-tables", false, func(p *Proposal) {
		p.Tables = nil
		for i := range 200 {
			p.Tables = append(p.Tables, fmt.Sprintf("main.schema_%03d.table_with_a_fairly_long_name_%03d", i, i))
		}
	})
	add("dev-review-url", false, func(p *Proposal) { p.ReviewURL = "http://127.0.0.1:7071/api/sql-approve/" + testOpID })
	cs = append(cs, cardCase{"proposal-worst-case", ProposalCard(worstCaseProposal()), false})
	return cs
}

func updateCases() []cardCase {
	rows := int64(1234567)
	one := int64(1)
	var cs []cardCase
	add := func(name string, golden bool, u Update) {
		if u.OpID == "" {
			u.OpID = testOpID
		}
		if u.ReviewURL == "" {
			u.ReviewURL = testReview
		}
		if u.Statement == "" {
			u.Statement = shortSQL
		}
		cs = append(cs, cardCase{"update-" + name, UpdateCard(u), golden})
	}
	add("approved", true, Update{Kind: UpdateApproved, By: bob, Proposer: alice, At: testAt})
	add("rejected", true, Update{Kind: UpdateRejected, By: bob, Proposer: alice, At: testAt, Reason: "Not during quarter close; try again on Monday."})
	add("rejected-no-reason", false, Update{Kind: UpdateRejected, By: Person{UPN: "bob@contoso.example"}})
	add("cancelled", true, Update{Kind: UpdateCancelled, Proposer: alice, At: testAt})
	add("cancelled-by", false, Update{Kind: UpdateCancelled, By: alice})
	add("executed", true, Update{Kind: UpdateExecuted, Proposer: alice, At: testAt, RowsAffected: &rows})
	add("executed-one-row", false, Update{Kind: UpdateExecuted, RowsAffected: &one})
	add("executed-no-count", false, Update{Kind: UpdateExecuted})
	add("failed", true, Update{Kind: UpdateFailed, Proposer: alice, At: testAt, Reason: "PERMISSION_DENIED: User does not have MODIFY on Table 'main.sales.orders'."})
	add("unknown", true, Update{Kind: UpdateUnknown, Proposer: alice, At: testAt, Reason: "the connection closed while the statement was running"})
	add("expired", true, Update{Kind: UpdateExpired, Proposer: alice, At: testExpiry})
	add("long-hostile", false, Update{Kind: UpdateRejected, By: Person{Name: "<at>x</at> [y](z)"}, Statement: longSQL(300) + hostileSQL,
		Reason: strings.Repeat("[no](https://evil.example) ", 200)})
	add("worst-case", false, worstCaseUpdate())
	return cs
}

func allCases() []cardCase { return append(proposalCases(), updateCases()...) }

// Worst case: every field far over its bound, made of the characters that
// cost the most bytes per shown character (4-byte emoji), with markers for
// invisible characters and JSON-escaped quotes mixed in.
func worstText(n int) string {
	var b strings.Builder
	for i := range n {
		switch i % 50 {
		case 0:
			b.WriteString("\u202e")
		case 1:
			b.WriteString(`"`)
		default:
			b.WriteString("🙂")
		}
	}
	return b.String()
}

func worstCaseProposal() Proposal {
	w := worstText(3000)
	var stmt strings.Builder
	for range 200 {
		stmt.WriteString(worstText(200))
		stmt.WriteString("\n")
	}
	tables := make([]string, 500)
	for i := range tables {
		tables[i] = worstText(1000)
	}
	return Proposal{
		OpID:      strings.Repeat("o", maxOpID),
		Proposer:  Person{Name: w, UPN: w},
		Statement: stmt.String(),
		Class:     w, Risk: w, Policy: w,
		Tables:    tables,
		Warehouse: w, Catalog: w, Schema: w,
		ExpiresAt: testExpiry,
		ReviewURL: "https://behalf.example.net/" + strings.Repeat("p", maxURLBytes-len("https://behalf.example.net/")),
	}
}

func worstCaseUpdate() Update {
	w := worstText(3000)
	n := int64(-9223372036854775808)
	return Update{
		Kind: UpdateExecuted, OpID: strings.Repeat("o", maxOpID), Statement: worstCaseProposal().Statement,
		Proposer: Person{Name: w, UPN: w}, By: Person{Name: w, UPN: w}, Reason: w, RowsAffected: &n, At: testAt,
		ReviewURL: "https://behalf.example.net/" + strings.Repeat("p", maxURLBytes-len("https://behalf.example.net/")),
	}
}

func orDash(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
