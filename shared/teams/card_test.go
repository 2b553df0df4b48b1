package teams

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

// parsed is a card taken apart the way a reader sees it.
type parsed struct {
	raw        map[string]any
	textBlocks []string // markdown-rendering text (TextBlock.text)
	runs       []string // literal text (TextRun.text)
	monospace  []string // monospace runs: the statement lines
	styles     []string // container styles, outermost first
	facts      map[string]string
	actions    []map[string]any
}

func parseCard(t testing.TB, c Card) parsed {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("card is not JSON: %v", err)
	}
	p := parsed{raw: raw, facts: map[string]string{}}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			switch x["type"] {
			case "TextBlock":
				p.textBlocks = append(p.textBlocks, x["text"].(string))
			case "TextRun":
				p.runs = append(p.runs, x["text"].(string))
				if x["fontType"] == "Monospace" {
					p.monospace = append(p.monospace, x["text"].(string))
				}
			case "Container":
				if s, ok := x["style"].(string); ok {
					p.styles = append(p.styles, s)
				}
			case "ColumnSet":
				cols := x["columns"].([]any)
				title := cols[0].(map[string]any)["items"].([]any)[0].(map[string]any)["text"].(string)
				var value strings.Builder
				for _, in := range cols[1].(map[string]any)["items"].([]any)[0].(map[string]any)["inlines"].([]any) {
					value.WriteString(in.(map[string]any)["text"].(string))
				}
				p.facts[title] = value.String()
			}
			if typ, _ := x["type"].(string); strings.HasPrefix(typ, "Action.") {
				p.actions = append(p.actions, x)
			}
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(raw)
	return p
}

func (p parsed) allText() string {
	return strings.Join(p.textBlocks, "\n") + "\n" + strings.Join(p.runs, "")
}

func TestProposalCardFields(t *testing.T) {
	p := parseCard(t, ProposalCard(baseProposal()))
	for k, want := range map[string]any{
		"type": "AdaptiveCard", "version": "1.5", "$schema": CardSchema,
		"msteams": map[string]any{"width": "Full"},
	} {
		if got, _ := json.Marshal(p.raw[k]); string(got) != mustJSON(t, want) {
			t.Errorf("%s = %s, want %s", k, got, mustJSON(t, want))
		}
	}
	if fb, _ := p.raw["fallbackText"].(string); !strings.Contains(fb, testOpID) || !strings.Contains(fb, "write statement, medium risk") {
		t.Errorf("fallbackText = %q", fb)
	}
	wantFacts := map[string]string{
		"Class":            "write",
		"Risk":             "medium",
		"Tables":           "main.sales.orders",
		"Warehouse":        "4b9b953939869799",
		"Catalog / schema": "main / sales",
		"Policy":           policyText("self"),
		"Expires":          "2026-11-22 18:00 UTC",
		"Operation":        testOpID,
	}
	for title, want := range wantFacts {
		if got, ok := p.facts[title]; !ok || got != want {
			t.Errorf("fact %q = %q (present %v), want %q", title, got, ok, want)
		}
	}
	if len(p.facts) != len(wantFacts) {
		t.Errorf("facts = %v", p.facts)
	}
	if got := strings.Join(p.monospace, "\n"); got != shortSQL {
		t.Errorf("statement = %q, want %q", got, shortSQL)
	}
	text := p.allText()
	for _, want := range []string{"SQL change awaiting approval", "Alice West", "(alice@contoso.example)"} {
		if !strings.Contains(text, want) {
			t.Errorf("card text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "full text on the approval page") {
		t.Error("a short statement is marked as shortened")
	}
	if len(p.actions) != 1 || p.actions[0]["type"] != "Action.OpenUrl" || p.actions[0]["title"] != "Review" || p.actions[0]["url"] != testReview {
		t.Errorf("actions = %v", p.actions)
	}
}

func TestProposalRiskAndPolicy(t *testing.T) {
	tests := []struct {
		risk, policy   string
		style, showAs  string
		policyContains string
	}{
		{"low", "self", "emphasis", "low", "proposer confirms"},
		{"medium", "self", "warning", "medium", "proposer confirms"},
		{"high", "four-eyes", "attention", "high", "approver other than the proposer"},
		{"critical", "four-eyes", "attention", "critical", "approver other than the proposer"},
		{"", "", "attention", "unknown", "Unknown policy"},
		{"HIGH", "FOUR-EYES", "attention", "unknown", "Unknown policy"},
	}
	for _, tt := range tests {
		t.Run(tt.risk+"/"+tt.policy, func(t *testing.T) {
			in := baseProposal()
			in.Risk, in.Policy = tt.risk, tt.policy
			p := parseCard(t, ProposalCard(in))
			if p.styles[0] != tt.style {
				t.Errorf("banner style = %q, want %q", p.styles[0], tt.style)
			}
			if p.facts["Risk"] != tt.showAs {
				t.Errorf("risk fact = %q, want %q", p.facts["Risk"], tt.showAs)
			}
			if !strings.Contains(p.facts["Policy"], tt.policyContains) {
				t.Errorf("policy fact = %q, want it to contain %q", p.facts["Policy"], tt.policyContains)
			}
		})
	}
}

func TestProposalLongStatementShortened(t *testing.T) {
	in := baseProposal()
	in.Statement = longSQL(500)
	p := parseCard(t, ProposalCard(in))
	if len(p.monospace) != maxStatementLines {
		t.Errorf("%d statement lines shown, want %d", len(p.monospace), maxStatementLines)
	}
	if !strings.HasPrefix(p.monospace[0], "INSERT INTO main.sales.archive") {
		t.Errorf("first line = %q", p.monospace[0])
	}
	var noted bool
	for _, tb := range p.textBlocks {
		if strings.HasPrefix(tb, "… (full text on the approval page) — 30 of 505 lines") {
			noted = true
		}
	}
	if !noted {
		t.Errorf("no shortening note in %q", p.textBlocks)
	}

	in.Statement = "UPDATE t SET x = '" + strings.Repeat("y", 10000) + "'"
	p = parseCard(t, ProposalCard(in))
	if n := len([]rune(strings.Join(p.monospace, ""))); n != maxStatementRunes {
		t.Errorf("one long line shown as %d characters, want %d", n, maxStatementRunes)
	}
	if !strings.HasSuffix(p.monospace[len(p.monospace)-1], "…") {
		t.Error("cut line does not end in …")
	}
}

// safeTextBlock is the wording TextBlocks may carry: letters, digits and
// punctuation markdown does not interpret. User text never reaches one.
var safeTextBlock = regexp.MustCompile(`^[\p{L}\p{N} ,.:;()'·—…⟨⟩+/-]+$`)

func TestNoUserTextInMarkdown(t *testing.T) {
	for _, c := range allCases() {
		t.Run(c.name, func(t *testing.T) {
			p := parseCard(t, c.card)
			for _, tb := range p.textBlocks {
				if !safeTextBlock.MatchString(tb) {
					t.Errorf("TextBlock text %q has characters markdown may interpret", tb)
				}
				for _, bad := range []string{"Mallory", "evil", "Bob</at>", "odd*table", "<b>"} {
					if strings.Contains(tb, bad) {
						t.Errorf("user text %q in a TextBlock: %q", bad, tb)
					}
				}
			}
			fb := p.raw["fallbackText"].(string)
			if !safeTextBlock.MatchString(fb) {
				t.Errorf("fallbackText %q has characters markdown may interpret", fb)
			}
			for _, a := range p.actions {
				if a["type"] != "Action.OpenUrl" {
					t.Errorf("action %v: only Action.OpenUrl works without a bot", a)
				}
			}
		})
	}
}

func TestHostileTextShownLiterally(t *testing.T) {
	in := baseProposal()
	in.Statement = hostileSQL
	in.Proposer = Person{Name: "[Mallory](https://evil.example) <at>All</at>", UPN: "m@evil.example"}
	p := parseCard(t, ProposalCard(in))
	stmt := strings.Join(p.monospace, "\n")
	for _, want := range []string{
		"[click me](https://evil.example/steal) **URGENT** _x_ `code` <at>Bob</at> <b>bold</b> &amp; # heading", // literal, unescaped
		"⟨U+202E⟩SELECT 1⟨U+202C⟩", "⟨U+2066⟩isolate⟨U+2069⟩", "zero⟨U+200B⟩width", "⟨U+FEFF⟩bom", "⟨U+00AD⟩soft",
		"⟨U+FFFD⟩⟨U+FFFD⟩", "⟨U+0000⟩⟨U+0007⟩", "東京", "مرحبا", "🙂👍🏽",
		"\u00a0\u00a0\u00a0\u00a0AND tab = 1", "\u00a0\u00a0AND indent = 2⟨U+2028⟩AND sep = 3",
		"Z\u0351\u0352\u0353\u0354⟨U+0355⟩",
	} {
		if !strings.Contains(stmt, want) {
			t.Errorf("statement lacks %q:\n%s", want, stmt)
		}
	}
	if strings.ContainsAny(stmt, "\u202e\u202c\u2066\u2069\u200b\ufeff\u00ad\x00\x07\u2028\r\t") {
		t.Errorf("an invisible character survived: %q", stmt)
	}
	var warned bool
	for _, tb := range p.textBlocks {
		warned = warned || strings.Contains(tb, "invisible, control or stacked combining characters")
	}
	if !warned {
		t.Error("no warning about hidden characters")
	}
	if !strings.Contains(strings.Join(p.runs, ""), "[Mallory](https://evil.example) <at>All</at>") {
		t.Errorf("proposer name not shown literally: %q", p.runs)
	}
}

func TestInvalidInputs(t *testing.T) {
	tests := []struct {
		name string
		card Card
	}{
		{"zero card", Card{}},
		{"no op id", ProposalCard(edit(func(p *Proposal) { p.OpID = " " }))},
		{"long op id", ProposalCard(edit(func(p *Proposal) { p.OpID = strings.Repeat("x", maxOpID+1) }))},
		{"empty statement", ProposalCard(edit(func(p *Proposal) { p.Statement = " \n\t" }))},
		{"no proposer", ProposalCard(edit(func(p *Proposal) { p.Proposer = Person{} }))},
		{"no expiry", ProposalCard(edit(func(p *Proposal) { p.ExpiresAt = time.Time{} }))},
		{"no review URL", ProposalCard(edit(func(p *Proposal) { p.ReviewURL = "" }))},
		{"javascript URL", ProposalCard(edit(func(p *Proposal) { p.ReviewURL = "javascript:alert(1)" }))},
		{"relative URL", ProposalCard(edit(func(p *Proposal) { p.ReviewURL = "/api/sql-approve/x" }))},
		{"http URL", ProposalCard(edit(func(p *Proposal) { p.ReviewURL = "http://behalf.example.net/x" }))},
		{"URL with credentials", ProposalCard(edit(func(p *Proposal) { p.ReviewURL = "https://u:p@behalf.example.net/x" }))},
		{"URL too long", ProposalCard(edit(func(p *Proposal) { p.ReviewURL = "https://h/" + strings.Repeat("a", maxURLBytes) }))},
		{"unknown update kind", UpdateCard(Update{Kind: "deleted", OpID: testOpID, Statement: shortSQL, ReviewURL: testReview})},
		{"update without statement", UpdateCard(Update{Kind: UpdateExpired, OpID: testOpID, ReviewURL: testReview})},
		{"approved by nobody", UpdateCard(Update{Kind: UpdateApproved, OpID: testOpID, Statement: shortSQL, ReviewURL: testReview})},
		{"rejected by nobody", UpdateCard(Update{Kind: UpdateRejected, OpID: testOpID, Statement: shortSQL, ReviewURL: testReview})},
		{"update without op id", UpdateCard(Update{Kind: UpdateExpired, Statement: shortSQL, ReviewURL: testReview})},
		{"update with bad URL", UpdateCard(Update{Kind: UpdateExpired, OpID: testOpID, Statement: shortSQL, ReviewURL: "ftp://x/y"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.card.Err(); !errors.Is(err, ErrInvalidCard) {
				t.Fatalf("Err() = %v, want ErrInvalidCard", err)
			}
			if _, err := json.Marshal(tt.card); err == nil {
				t.Error("an invalid card marshals")
			}
			if b, err := Envelope(tt.card); !errors.Is(err, ErrInvalidCard) || b != nil {
				t.Errorf("Envelope = %q, %v; want ErrInvalidCard", b, err)
			}
		})
	}
}

func edit(f func(*Proposal)) Proposal {
	p := baseProposal()
	f(&p)
	return p
}

func TestUpdateCards(t *testing.T) {
	rows := int64(1234567)
	tests := []struct {
		u            Update
		title, style string
		wants        []string
	}{
		{Update{Kind: UpdateApproved, By: bob}, "SQL change approved", "good", []string{"Approved by Bob Approver (bob@contoso.example)", "run as the proposer"}},
		{Update{Kind: UpdateRejected, By: bob, Reason: "not now"}, "SQL change rejected", "attention", []string{"Rejected by Bob Approver", "Reason: not now", "Nothing ran"}},
		{Update{Kind: UpdateCancelled}, "SQL change cancelled", "emphasis", []string{"Cancelled by the proposer. Nothing ran."}},
		{Update{Kind: UpdateCancelled, By: alice}, "SQL change cancelled", "emphasis", []string{"Cancelled by Alice West"}},
		{Update{Kind: UpdateExecuted, RowsAffected: &rows}, "SQL change executed", "good", []string{"ran as the proposer: 1,234,567 rows affected."}},
		{Update{Kind: UpdateExecuted}, "SQL change executed", "good", []string{"reported no row count"}},
		{Update{Kind: UpdateFailed, Reason: "PERMISSION_DENIED: no MODIFY"}, "SQL change failed", "attention", []string{"Error: PERMISSION_DENIED: no MODIFY", "nothing was changed"}},
		{Update{Kind: UpdateUnknown, Reason: "connection reset"}, "SQL change outcome unknown", "warning", []string{"outcome is unknown", "will not be run again", "Error: connection reset"}},
		{Update{Kind: UpdateExpired}, "SQL change expired", "emphasis", []string{"window closed. Nothing ran."}},
	}
	seen := map[UpdateKind]bool{}
	for _, tt := range tests {
		t.Run(string(tt.u.Kind), func(t *testing.T) {
			seen[tt.u.Kind] = true
			tt.u.OpID, tt.u.Statement, tt.u.ReviewURL, tt.u.At = testOpID, longSQL(20), testReview, testAt
			p := parseCard(t, UpdateCard(tt.u))
			if p.textBlocks[0] != tt.title {
				t.Errorf("title = %q, want %q", p.textBlocks[0], tt.title)
			}
			if p.styles[0] != tt.style {
				t.Errorf("style = %q, want %q", p.styles[0], tt.style)
			}
			text := p.allText()
			for _, w := range append(tt.wants, "… (full text on the approval page)") {
				if !strings.Contains(text, w) {
					t.Errorf("card lacks %q:\n%s", w, text)
				}
			}
			if len(p.monospace) != maxSummaryLines {
				t.Errorf("summary has %d lines, want %d", len(p.monospace), maxSummaryLines)
			}
			if p.facts["Operation"] != testOpID || p.facts["When"] != "2026-11-22 14:02 UTC" {
				t.Errorf("facts = %v", p.facts)
			}
			if len(p.actions) != 1 || p.actions[0]["url"] != testReview || p.actions[0]["type"] != "Action.OpenUrl" {
				t.Errorf("actions = %v", p.actions)
			}
			if fb := UpdateCard(tt.u).FallbackText(); !strings.Contains(fb, testOpID) || !strings.Contains(fb, string(tt.u.Kind)) && tt.u.Kind != UpdateUnknown {
				t.Errorf("fallbackText = %q", fb)
			}
		})
	}
	for _, k := range UpdateKinds() {
		if !seen[k] {
			t.Errorf("update kind %q is not tested", k)
		}
	}
}

func TestEnvelope(t *testing.T) {
	c := ProposalCard(baseProposal())
	b, err := Envelope(c)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Type        string `json:"type"`
		Attachments []struct {
			ContentType string          `json:"contentType"`
			ContentURL  *string         `json:"contentUrl"`
			Content     json.RawMessage `json:"content"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Type != "message" || len(m.Attachments) != 1 || m.Attachments[0].ContentType != CardContentType || m.Attachments[0].ContentURL != nil {
		t.Fatalf("envelope = %s", b)
	}
	if !strings.Contains(string(b), `"contentUrl":null`) {
		t.Error("contentUrl is not an explicit null")
	}
	want, _ := encodeJSON(c)
	if string(m.Attachments[0].Content) != string(want) {
		t.Error("attachment content is not the card")
	}
	if strings.Contains(string(b), `\u003c`) {
		t.Error("HTML escaping wastes the size budget")
	}

	if _, err := Envelope(); !errors.Is(err, ErrInvalidCard) {
		t.Errorf("no cards: %v", err)
	}
	eleven := make([]Card, maxAttachments+1)
	for i := range eleven {
		eleven[i] = c
	}
	if _, err := Envelope(eleven...); !errors.Is(err, ErrInvalidCard) {
		t.Errorf("11 cards: %v", err)
	}
	if _, err := Envelope(c, Card{}); !errors.Is(err, ErrInvalidCard) {
		t.Errorf("one invalid card among good ones: %v", err)
	}
}

func TestWorstCaseFits(t *testing.T) {
	for _, c := range []Card{ProposalCard(worstCaseProposal()), UpdateCard(worstCaseUpdate())} {
		b, err := Envelope(c)
		if err != nil {
			t.Fatalf("worst-case card does not fit: %v", err)
		}
		t.Logf("worst case: %d of %d bytes", len(b), MaxMessageBytes)
	}
	many := make([]Card, maxAttachments)
	for i := range many {
		many[i] = ProposalCard(worstCaseProposal())
	}
	_, err := Envelope(many...)
	var tooLarge *TooLargeError
	if !errors.As(err, &tooLarge) || tooLarge.Limit != MaxMessageBytes || tooLarge.Bytes <= MaxMessageBytes {
		t.Fatalf("%d worst-case cards: %v, want *TooLargeError", len(many), err)
	}
	if !strings.Contains(err.Error(), "over the 28000-byte Teams limit") {
		t.Errorf("error = %q", err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
