package teams

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// UpdateKind is what happened to an operation after it was proposed.
type UpdateKind string

// Update kinds: decisions, then outcomes.
const (
	UpdateApproved  UpdateKind = "approved"  // an approver approved (four-eyes); the proposer may now confirm
	UpdateRejected  UpdateKind = "rejected"  // an approver rejected it; nothing ran
	UpdateCancelled UpdateKind = "cancelled" // the proposer cancelled it; nothing ran
	UpdateExecuted  UpdateKind = "executed"  // it ran as the proposer
	UpdateFailed    UpdateKind = "failed"    // it ran and failed; nothing changed
	UpdateUnknown   UpdateKind = "unknown"   // it was sent but the outcome is unknown; it will not run again
	UpdateExpired   UpdateKind = "expired"   // the approval window passed; nothing ran
)

// UpdateKinds lists every kind, in life-cycle order.
func UpdateKinds() []UpdateKind {
	return []UpdateKind{UpdateApproved, UpdateRejected, UpdateCancelled, UpdateExecuted, UpdateFailed, UpdateUnknown, UpdateExpired}
}

// Update is a follow-up about an operation already announced.
type Update struct {
	Kind UpdateKind
	OpID string
	// Statement is the operation's statement (required); the card shows
	// its first lines.
	Statement string
	// Proposer is who proposed it (optional, shown as a fact).
	Proposer Person
	// By is who decided (approved, rejected, cancelled); required for
	// approved and rejected.
	By Person
	// Reason is the rejection reason or the failure message (optional).
	Reason string
	// RowsAffected is set for executed statements that reported a count.
	RowsAffected *int64
	// At is when it happened (optional).
	At time.Time
	// ReviewURL is the operation's approval page.
	ReviewURL string
}

type updateText struct {
	title, style, fallback string
}

var updateTexts = map[UpdateKind]updateText{
	UpdateApproved:  {"SQL change approved", "good", "approved; waiting for the proposer to confirm"},
	UpdateRejected:  {"SQL change rejected", "attention", "rejected; nothing ran"},
	UpdateCancelled: {"SQL change cancelled", "emphasis", "cancelled; nothing ran"},
	UpdateExecuted:  {"SQL change executed", "good", "executed"},
	UpdateFailed:    {"SQL change failed", "attention", "failed; nothing was changed"},
	UpdateUnknown:   {"SQL change outcome unknown", "warning", "outcome unknown; it will not be run again"},
	UpdateExpired:   {"SQL change expired", "emphasis", "expired; nothing ran"},
}

// UpdateCard is the follow-up card for a decision or an outcome. An
// unknown kind, a missing operation id, a missing decider for approved or
// rejected, or an invalid review URL gives an invalid card.
func UpdateCard(u Update) Card {
	txt, ok := updateTexts[u.Kind]
	if !ok {
		return invalid("unknown update kind %q", single(string(u.Kind), 32))
	}
	if err := checkOpID(u.OpID); err != nil {
		return invalid("%v", err)
	}
	if strings.TrimSpace(u.Statement) == "" {
		return invalid("the statement is empty")
	}
	if (u.Kind == UpdateApproved || u.Kind == UpdateRejected) && strings.TrimSpace(u.By.Name) == "" && strings.TrimSpace(u.By.UPN) == "" {
		return invalid("a %s update needs who decided", u.Kind)
	}
	review, err := checkReviewURL(u.ReviewURL)
	if err != nil {
		return invalid("%v", err)
	}

	head := []element{heading(txt.title)}
	if line := updateLine(u); len(line) > 0 {
		head = append(head, rich(line...))
	}
	body := []element{container{Type: "Container", Style: txt.style, Bleed: true, Items: head}}

	if u.Kind == UpdateRejected || u.Kind == UpdateFailed || u.Kind == UpdateUnknown {
		if reason := single(u.Reason, maxReason); reason != "" {
			label := "Reason: "
			if u.Kind != UpdateRejected {
				label = "Error: "
			}
			body = append(body, rich(bold(label), run(reason)))
		}
	}
	body = append(body, statementBlock(shorten(u.Statement, maxSummaryLines, maxSummaryRunes))...)

	var facts []fact
	if u.Proposer.Name != "" || u.Proposer.UPN != "" {
		facts = append(facts, fact{"Proposed by", personRuns(u.Proposer)})
	}
	if !u.At.IsZero() {
		facts = append(facts, fact{"When", []textRun{run(utc(u.At))}})
	}
	facts = append(facts, fact{"Operation", []textRun{run(single(u.OpID, maxOpID))}})
	body = append(body, factRows(facts)...)

	fallback := "SQL change " + txt.fallback
	if id := safeID(u.OpID); id != "" {
		fallback = "SQL change " + id + " " + txt.fallback
	}
	if u.Kind == UpdateExecuted && u.RowsAffected != nil {
		fallback += fmt.Sprintf(" (%s affected)", rows(*u.RowsAffected))
	}
	return Card{c: newCard(fallback+".", body, review, "Open approval page")}
}

// updateLine is the sentence under the title: who did what, or what the
// outcome means for the reader.
func updateLine(u Update) []textRun {
	by := personRuns(u.By)
	switch u.Kind {
	case UpdateApproved:
		return append(append([]textRun{run("Approved by ")}, by...), run(". The proposer can now confirm it on the approval page; it will run as the proposer."))
	case UpdateRejected:
		return append(append([]textRun{run("Rejected by ")}, by...), run(". Nothing ran."))
	case UpdateCancelled:
		if u.By.Name == "" && u.By.UPN == "" {
			return []textRun{run("Cancelled by the proposer. Nothing ran.")}
		}
		return append(append([]textRun{run("Cancelled by ")}, by...), run(". Nothing ran."))
	case UpdateExecuted:
		if u.RowsAffected == nil {
			return []textRun{run("The statement ran as the proposer. Databricks reported no row count.")}
		}
		return []textRun{run("The statement ran as the proposer: "), bold(rows(*u.RowsAffected)), run(" affected.")}
	case UpdateFailed:
		return []textRun{run("The statement ran as the proposer and failed; nothing was changed.")}
	case UpdateUnknown:
		return []textRun{run("The statement was sent, but its outcome is unknown. It will not be run again: check the data before proposing it anew.")}
	case UpdateExpired:
		return []textRun{run("Nobody completed the approval before the window closed. Nothing ran.")}
	}
	return nil
}

func rows(n int64) string {
	if n == 1 {
		return "1 row"
	}
	return groupDigits(n) + " rows"
}

// groupDigits writes 1234567 as 1,234,567.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
