package teams

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Adaptive Card constants. Teams renders schema versions up to 1.5.
const (
	CardVersion     = "1.5"
	CardSchema      = "http://adaptivecards.io/schemas/adaptive-card.json"
	CardContentType = "application/vnd.microsoft.card.adaptive"
)

// ErrInvalidCard means a card could not be built from its input (a missing
// operation id, a review link that is not an absolute https URL, an
// unknown update kind, ...). Envelope and Notifier.Post refuse such a card
// before anything is sent.
var ErrInvalidCard = errors.New("teams: invalid card")

// Card is one Adaptive Card, ready to put in an Envelope. The zero Card is
// invalid. A Card built from bad input carries the reason (see Err) instead
// of content, so a caller that ignores it still cannot post it.
type Card struct {
	c   *adaptiveCard
	err error
}

// Err reports why the card cannot be posted, or nil.
func (c Card) Err() error {
	if c.err != nil {
		return c.err
	}
	if c.c == nil {
		return fmt.Errorf("%w: empty card", ErrInvalidCard)
	}
	return nil
}

// FallbackText is the plain summary clients show when they cannot render
// the card (and in notifications). It contains no text from users other
// than a sanitised operation id.
func (c Card) FallbackText() string {
	if c.c == nil {
		return ""
	}
	return c.c.FallbackText
}

// MarshalJSON encodes the card content (the attachment's "content").
// It fails for an invalid card.
func (c Card) MarshalJSON() ([]byte, error) {
	if err := c.Err(); err != nil {
		return nil, err
	}
	return encodeJSON(c.c)
}

func invalid(format string, args ...any) Card {
	return Card{err: fmt.Errorf("%w: %s", ErrInvalidCard, fmt.Sprintf(format, args...))}
}

// encodeJSON is json.Marshal without HTML escaping: the body is JSON for a
// webhook, not HTML, and escaping <, > and & as \u003c would waste bytes of
// the 28 KB budget.
func encodeJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// The element types below are the subset of the Adaptive Card schema the
// cards use; properties at their default value are omitted, which is also
// how the official library serialises them (the node validation test
// compares a round trip through it).

type adaptiveCard struct {
	Schema       string    `json:"$schema"`
	Type         string    `json:"type"`
	Version      string    `json:"version"`
	FallbackText string    `json:"fallbackText"`
	MSTeams      msteams   `json:"msteams"`
	Body         []element `json:"body"`
	Actions      []action  `json:"actions,omitempty"`
}

type msteams struct {
	Width string `json:"width"`
}

// element is any body element (textBlock, richTextBlock, container,
// columnSet).
type element any

type textBlock struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Size     string `json:"size,omitempty"`
	Weight   string `json:"weight,omitempty"`
	Color    string `json:"color,omitempty"`
	IsSubtle bool   `json:"isSubtle,omitempty"`
	Wrap     bool   `json:"wrap,omitempty"`
	Spacing  string `json:"spacing,omitempty"`
}

// richTextBlock and textRun carry every piece of user text: TextRun text
// is never interpreted as markdown.
type richTextBlock struct {
	Type    string    `json:"type"`
	Spacing string    `json:"spacing,omitempty"`
	Inlines []textRun `json:"inlines"`
}

type textRun struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Color    string `json:"color,omitempty"`
	IsSubtle bool   `json:"isSubtle,omitempty"`
	FontType string `json:"fontType,omitempty"`
	Weight   string `json:"weight,omitempty"`
	Italic   bool   `json:"italic,omitempty"`
}

type container struct {
	Type    string    `json:"type"`
	Spacing string    `json:"spacing,omitempty"`
	Style   string    `json:"style,omitempty"`
	Bleed   bool      `json:"bleed,omitempty"`
	Items   []element `json:"items"`
}

type columnSet struct {
	Type    string   `json:"type"`
	Spacing string   `json:"spacing,omitempty"`
	Columns []column `json:"columns"`
}

type column struct {
	Type  string    `json:"type"`
	Width int       `json:"width"`
	Items []element `json:"items"`
}

type action struct {
	Type  string `json:"type"`
	Title string `json:"title"`
	Style string `json:"style,omitempty"`
	URL   string `json:"url"`
}

// Builders. Only constant wording of this package (and numbers it formats)
// may be passed as the text of a textBlock; user text goes through run.

func heading(text string) textBlock {
	return textBlock{Type: "TextBlock", Text: text, Size: "Medium", Weight: "Bolder", Wrap: true}
}

func note(text string) textBlock {
	return textBlock{Type: "TextBlock", Text: text, IsSubtle: true, Wrap: true, Spacing: "Small"}
}

func warningNote(text string) textBlock {
	return textBlock{Type: "TextBlock", Text: text, Color: "Attention", Wrap: true, Spacing: "Small"}
}

func run(text string) textRun { return textRun{Type: "TextRun", Text: text} }

func bold(text string) textRun { return textRun{Type: "TextRun", Text: text, Weight: "Bolder"} }

func rich(runs ...textRun) richTextBlock {
	return richTextBlock{Type: "RichTextBlock", Inlines: runs}
}

// fact is one "title: value" row. A FactSet would look the same, but Teams
// renders markdown in Fact values, so the value is a RichTextBlock.
type fact struct {
	title string
	value []textRun
}

func factRows(facts []fact) []element {
	rows := make([]element, 0, len(facts))
	for i, f := range facts {
		spacing := "Small"
		if i == 0 {
			spacing = "Medium"
		}
		rows = append(rows, columnSet{
			Type:    "ColumnSet",
			Spacing: spacing,
			Columns: []column{
				{Type: "Column", Width: 2, Items: []element{textBlock{Type: "TextBlock", Text: f.title, Weight: "Bolder", Wrap: true}}},
				{Type: "Column", Width: 5, Items: []element{rich(f.value...)}},
			},
		})
	}
	return rows
}

// statementBlock shows a shortened statement in monospace, one
// RichTextBlock per line so line breaks survive every renderer.
func statementBlock(st shortened) []element {
	lines := make([]element, 0, len(st.lines))
	for _, l := range st.lines {
		b := rich(textRun{Type: "TextRun", Text: l, FontType: "Monospace"})
		b.Spacing = "None"
		lines = append(lines, b)
	}
	out := []element{container{Type: "Container", Style: "emphasis", Spacing: "Small", Items: lines}}
	if st.truncated {
		out = append(out, note(fmt.Sprintf("… (full text on the approval page) — %d of %d lines, %d of %d characters shown",
			st.shownLines, st.totalLines, st.shownRunes, st.totalRunes)))
	}
	if st.hidden > 0 {
		out = append(out, warningNote(fmt.Sprintf("The statement contains %d invisible, control or stacked combining %s, shown as ⟨U+XXXX⟩.",
			st.hidden, plural(st.hidden, "character", "characters"))))
	}
	return out
}

func newCard(fallback string, body []element, reviewURL, reviewTitle string) *adaptiveCard {
	return &adaptiveCard{
		Schema:       CardSchema,
		Type:         "AdaptiveCard",
		Version:      CardVersion,
		FallbackText: fallback,
		MSTeams:      msteams{Width: "Full"},
		Body:         body,
		Actions:      []action{{Type: "Action.OpenUrl", Title: reviewTitle, Style: "positive", URL: reviewURL}},
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
