package teams

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Field bounds. They are chosen so that a proposal card with every field
// at its bound, made of 4-byte characters, still fits MaxMessageBytes
// (TestWorstCaseFits proves it); the approval page shows everything.
const (
	maxStatementLines = 30
	maxStatementRunes = 1500
	maxSummaryLines   = 5
	maxSummaryRunes   = 300
	maxName           = 128
	maxUPN            = 256
	maxWarehouse      = 128
	maxNamespace      = 128 // catalog, schema
	maxTables         = 20
	maxTableRunes     = 800 // all table names together
	maxReason         = 600
	maxOpID           = 128
	maxURLBytes       = 2048
)

// Person is who proposed or decided, as shown on a card.
type Person struct {
	Name string // display name
	UPN  string // user principal name (sign-in name)
}

// Proposal is a new pending operation, as the approvers' channel sees it.
type Proposal struct {
	OpID      string
	Proposer  Person
	Statement string
	// Class is the sqlguard statement class (write, ddl, dcl, session,
	// unknown); Risk its risk (low, medium, high, critical); Policy the
	// approval policy (self, four-eyes). Unknown values are shown as
	// "unknown" and styled as high risk.
	Class  string
	Risk   string
	Policy string
	Tables []string
	// Warehouse is the SQL warehouse id (or name).
	Warehouse string
	Catalog   string
	Schema    string
	ExpiresAt time.Time
	// ReviewURL is the approval page of this operation (https, or http on
	// a loopback host for the dev stack).
	ReviewURL string
}

var knownClasses = map[string]bool{"read": true, "write": true, "ddl": true, "dcl": true, "session": true, "unknown": true}

// riskStyle maps a risk to a container style; unknown risks get the
// loudest one.
func riskStyle(risk string) (name, style, color string) {
	switch risk {
	case "low":
		return "low", "emphasis", ""
	case "medium":
		return "medium", "warning", "Warning"
	case "high", "critical":
		return risk, "attention", "Attention"
	}
	return "unknown", "attention", "Attention"
}

func policyText(policy string) string {
	switch policy {
	case "self":
		return "Self-approval: the proposer confirms on the approval page, and the statement then runs as the proposer."
	case "four-eyes":
		return "Four-eyes: an approver other than the proposer must approve first; the proposer then confirms, and the statement runs as the proposer."
	}
	return "Unknown policy: the approval page shows what is needed before it can run."
}

// ProposalCard is the card announcing a new pending operation. Check
// Card.Err (or let Envelope do it): a proposal without an operation id,
// statement, proposer, expiry or valid review URL gives an invalid card.
func ProposalCard(p Proposal) Card {
	if err := checkOpID(p.OpID); err != nil {
		return invalid("%v", err)
	}
	if strings.TrimSpace(p.Statement) == "" {
		return invalid("the statement is empty")
	}
	if strings.TrimSpace(p.Proposer.Name) == "" && strings.TrimSpace(p.Proposer.UPN) == "" {
		return invalid("the proposer has neither a name nor a UPN")
	}
	if p.ExpiresAt.IsZero() {
		return invalid("the expiry is not set")
	}
	review, err := checkReviewURL(p.ReviewURL)
	if err != nil {
		return invalid("%v", err)
	}

	class := p.Class
	if !knownClasses[class] {
		class = "unknown"
	}
	risk, style, color := riskStyle(p.Risk)
	st := shorten(p.Statement, maxStatementLines, maxStatementRunes)

	body := []element{
		container{Type: "Container", Style: style, Bleed: true, Items: []element{
			heading("SQL change awaiting approval"),
			textBlock{Type: "TextBlock", Text: fmt.Sprintf("%s risk · %s statement", upperFirst(risk), class), Color: color, Weight: "Bolder", Wrap: true, Spacing: "None"},
		}},
		rich(append([]textRun{run("Proposed by ")}, personRuns(p.Proposer)...)...),
	}
	body = append(body, statementBlock(st)...)

	riskRun := bold(risk)
	riskRun.Color = color
	facts := []fact{
		{"Class", []textRun{run(class)}},
		{"Risk", []textRun{riskRun}},
		{"Tables", tableRuns(p.Tables)},
		{"Warehouse", []textRun{orDefault(single(p.Warehouse, maxWarehouse), "workspace default")}},
		{"Catalog / schema", []textRun{namespaceRun(p.Catalog, p.Schema)}},
		{"Policy", []textRun{run(policyText(p.Policy))}},
		{"Expires", []textRun{run(utc(p.ExpiresAt))}},
		{"Operation", []textRun{run(single(p.OpID, maxOpID))}},
	}
	body = append(body, factRows(facts)...)

	fallback := fmt.Sprintf("SQL change awaiting approval: %s statement, %s risk", class, risk)
	if id := safeID(p.OpID); id != "" {
		fallback += ", operation " + id
	}
	fallback += ". Open the approval page to review it."
	return Card{c: newCard(fallback, body, review, "Review")}
}

// personRuns shows "Name (upn)" literally, or whichever part is set.
func personRuns(p Person) []textRun {
	name, upn := single(p.Name, maxName), single(p.UPN, maxUPN)
	switch {
	case name != "" && upn != "":
		return []textRun{bold(name), run(" (" + upn + ")")}
	case name != "":
		return []textRun{bold(name)}
	case upn != "":
		return []textRun{bold(upn)}
	}
	return []textRun{run("someone")}
}

func tableRuns(tables []string) []textRun {
	if len(tables) == 0 {
		return []textRun{textRun{Type: "TextRun", Text: "none named in the statement", IsSubtle: true}}
	}
	shown := make([]string, 0, min(len(tables), maxTables))
	budget := maxTableRunes
	for _, t := range tables {
		name := single(t, maxNamespace*3)
		n := utf8.RuneCountInString(name)
		if len(shown) == maxTables || n > budget {
			break
		}
		budget -= n + 2
		shown = append(shown, name)
	}
	text := strings.Join(shown, ", ")
	if rest := len(tables) - len(shown); rest > 0 {
		if len(shown) > 0 {
			text += fmt.Sprintf(" and %d more", rest)
		} else {
			text = fmt.Sprintf("%d tables (names too long to show)", rest)
		}
	}
	return []textRun{run(text)}
}

func namespaceRun(catalog, schema string) textRun {
	c, s := single(catalog, maxNamespace), single(schema, maxNamespace)
	switch {
	case c == "" && s == "":
		return textRun{Type: "TextRun", Text: "workspace default", IsSubtle: true}
	case c == "":
		c = "(default)"
	case s == "":
		s = "(default)"
	}
	return run(c + " / " + s)
}

func orDefault(s, def string) textRun {
	if s == "" {
		return textRun{Type: "TextRun", Text: def, IsSubtle: true}
	}
	return run(s)
}

func utc(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func checkOpID(id string) error {
	switch {
	case strings.TrimSpace(id) == "":
		return fmt.Errorf("the operation id is empty")
	case len(id) > maxOpID:
		return fmt.Errorf("the operation id is longer than %d bytes", maxOpID)
	}
	return nil
}

// checkReviewURL accepts an absolute https URL without credentials, or
// plain http on a loopback host (the dev stack). The URL is ours (built
// by behalf from its own base URL), but a card must never carry a
// javascript: or credential-bearing link, whatever a caller passes.
func checkReviewURL(raw string) (string, error) {
	if raw == "" {
		return "", fmt.Errorf("the review URL is empty")
	}
	if len(raw) > maxURLBytes {
		return "", fmt.Errorf("the review URL is longer than %d bytes", maxURLBytes)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("the review URL is not an absolute URL")
	}
	if u.User != nil {
		return "", fmt.Errorf("the review URL must not carry credentials")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return "", fmt.Errorf("the review URL must use https (http only on 127.0.0.1 or localhost), not %q", u.Scheme)
	}
	return u.String(), nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
