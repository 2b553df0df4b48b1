package teams

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// RecordedCard is one card as the recorder received it, with what a
// person would read on it pulled out for the page and for tests.
type RecordedCard struct {
	Seq          int       `json:"seq"`
	ReceivedAt   time.Time `json:"received_at"`
	Version      string    `json:"version"`
	FallbackText string    `json:"fallback_text"`
	// Title is the card's first text block.
	Title string `json:"title"`
	// Facts are title/value rows (FactSet facts, or two-column ColumnSets
	// whose first column is a single TextBlock).
	Facts []Fact `json:"facts,omitempty"`
	// Statement is the monospace text, one line per block, with no-break
	// spaces turned back into spaces.
	Statement string `json:"statement,omitempty"`
	// Text is every other piece of text, in order.
	Text []string `json:"text,omitempty"`
	// Links are the Action.OpenUrl actions.
	Links []Link `json:"links,omitempty"`
	// Card is the card JSON exactly as posted.
	Card json.RawMessage `json:"card"`
}

// Fact is one title/value row of a card.
type Fact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

// Link is an Action.OpenUrl.
type Link struct {
	Title string `json:"title"`
	URL   string `json:"url"`
}

// Fact returns the value of the fact with this title.
func (c RecordedCard) Fact(title string) (string, bool) {
	for _, f := range c.Facts {
		if f.Title == title {
			return f.Value, true
		}
	}
	return "", false
}

const (
	cardContentType = "application/vnd.microsoft.card.adaptive"
	maxAttachments  = 10
	maxDepth        = 32 // nesting; the real cards use 6
)

// parseEnvelope checks the Workflows webhook envelope and takes each
// attachment's card apart. The trigger's "post to a channel" template
// loops over attachments and posts each content as its own card.
func parseEnvelope(body []byte) ([]RecordedCard, error) {
	var msg struct {
		Type        string `json:"type"`
		Attachments []struct {
			ContentType string          `json:"contentType"`
			ContentURL  json.RawMessage `json:"contentUrl"`
			Content     json.RawMessage `json:"content"`
		} `json:"attachments"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&msg); err != nil {
		return nil, fmt.Errorf("the body is not a JSON message object: %v", err)
	}
	if dec.More() {
		return nil, errors.New("the body has data after the JSON object")
	}
	if msg.Type != "message" {
		return nil, fmt.Errorf(`"type" must be "message", got %q`, clip(msg.Type, 40))
	}
	if len(msg.Attachments) == 0 || len(msg.Attachments) > maxAttachments {
		return nil, fmt.Errorf(`"attachments" must hold 1 to %d cards, got %d`, maxAttachments, len(msg.Attachments))
	}
	cards := make([]RecordedCard, 0, len(msg.Attachments))
	for i, a := range msg.Attachments {
		if a.ContentType != cardContentType {
			return nil, fmt.Errorf("attachments[%d].contentType must be %q, got %q", i, cardContentType, clip(a.ContentType, 60))
		}
		if u := strings.TrimSpace(string(a.ContentURL)); u != "" && u != "null" {
			return nil, fmt.Errorf("attachments[%d].contentUrl must be null", i)
		}
		c, err := parseCard(a.Content)
		if err != nil {
			return nil, fmt.Errorf("attachments[%d].content: %w", i, err)
		}
		cards = append(cards, c)
	}
	return cards, nil
}

func parseCard(raw json.RawMessage) (RecordedCard, error) {
	var card map[string]any
	if err := json.Unmarshal(raw, &card); err != nil || card == nil {
		return RecordedCard{}, errors.New("must be an Adaptive Card object")
	}
	if card["type"] != "AdaptiveCard" {
		return RecordedCard{}, errors.New(`"type" must be "AdaptiveCard"`)
	}
	version, _ := card["version"].(string)
	if version == "" {
		return RecordedCard{}, errors.New(`"version" is required`)
	}
	body, ok := card["body"].([]any)
	if !ok && card["body"] != nil {
		return RecordedCard{}, errors.New(`"body" must be an array`)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return RecordedCard{}, err
	}
	rc := RecordedCard{Version: version, Card: compact.Bytes()}
	rc.FallbackText, _ = card["fallbackText"].(string)
	x := extractor{card: &rc}
	if err := x.elements(body, 0); err != nil {
		return RecordedCard{}, err
	}
	if actions, ok := card["actions"].([]any); ok {
		if err := x.actions(actions, 0); err != nil {
			return RecordedCard{}, err
		}
	}
	rc.Statement = strings.Join(x.statement, "\n")
	return rc, nil
}

// extractor walks a card body the way a reader reads it.
type extractor struct {
	card      *RecordedCard
	statement []string
}

func (x *extractor) elements(items []any, depth int) error {
	if depth > maxDepth {
		return errors.New("the card nests too deeply")
	}
	for _, it := range items {
		el, ok := it.(map[string]any)
		if !ok {
			return errors.New("a body element is not an object")
		}
		if err := x.element(el, depth); err != nil {
			return err
		}
	}
	return nil
}

func (x *extractor) element(el map[string]any, depth int) error {
	typ, _ := el["type"].(string)
	switch typ {
	case "TextBlock":
		text, _ := el["text"].(string)
		if el["fontType"] == "Monospace" {
			x.statement = append(x.statement, plain(text))
			return nil
		}
		x.text(text)
	case "RichTextBlock":
		text, mono := inlines(el["inlines"])
		if mono {
			x.statement = append(x.statement, plain(text))
			return nil
		}
		x.text(text)
	case "FactSet":
		facts, _ := el["facts"].([]any)
		for _, f := range facts {
			if m, ok := f.(map[string]any); ok {
				t, _ := m["title"].(string)
				v, _ := m["value"].(string)
				x.card.Facts = append(x.card.Facts, Fact{t, v})
			}
		}
	case "ColumnSet":
		cols, _ := el["columns"].([]any)
		if f, ok := factRow(cols); ok {
			x.card.Facts = append(x.card.Facts, f)
			return nil
		}
		for _, c := range cols {
			if m, ok := c.(map[string]any); ok {
				items, _ := m["items"].([]any)
				if err := x.elements(items, depth+1); err != nil {
					return err
				}
			}
		}
	case "Container", "Column":
		items, _ := el["items"].([]any)
		return x.elements(items, depth+1)
	case "ActionSet":
		actions, _ := el["actions"].([]any)
		return x.actions(actions, depth+1)
	}
	return nil
}

func (x *extractor) text(s string) {
	if s == "" {
		return
	}
	if x.card.Title == "" {
		x.card.Title = s
		return
	}
	x.card.Text = append(x.card.Text, s)
}

func (x *extractor) actions(actions []any, depth int) error {
	if depth > maxDepth {
		return errors.New("the card nests too deeply")
	}
	for _, a := range actions {
		m, ok := a.(map[string]any)
		if !ok {
			return errors.New("an action is not an object")
		}
		if m["type"] == "Action.OpenUrl" {
			t, _ := m["title"].(string)
			u, _ := m["url"].(string)
			x.card.Links = append(x.card.Links, Link{t, u})
		}
	}
	return nil
}

// factRow recognises a "title | value" row: two columns, the first holding
// one TextBlock.
func factRow(cols []any) (Fact, bool) {
	if len(cols) != 2 {
		return Fact{}, false
	}
	first, _ := cols[0].(map[string]any)
	second, _ := cols[1].(map[string]any)
	items1, _ := first["items"].([]any)
	items2, _ := second["items"].([]any)
	if len(items1) != 1 || len(items2) != 1 {
		return Fact{}, false
	}
	tb, _ := items1[0].(map[string]any)
	if tb["type"] != "TextBlock" {
		return Fact{}, false
	}
	title, _ := tb["text"].(string)
	val, _ := items2[0].(map[string]any)
	var value string
	switch val["type"] {
	case "TextBlock":
		value, _ = val["text"].(string)
	case "RichTextBlock":
		value, _ = inlines(val["inlines"])
	default:
		return Fact{}, false
	}
	return Fact{title, value}, true
}

// inlines joins a RichTextBlock's runs (objects or the string shorthand)
// and reports whether all of them are monospace.
func inlines(v any) (string, bool) {
	list, _ := v.([]any)
	var b strings.Builder
	mono := len(list) > 0
	for _, in := range list {
		switch r := in.(type) {
		case string:
			b.WriteString(r)
			mono = false
		case map[string]any:
			t, _ := r["text"].(string)
			b.WriteString(t)
			if r["fontType"] != "Monospace" {
				mono = false
			}
		}
	}
	return b.String(), mono
}

func plain(s string) string { return strings.ReplaceAll(s, "\u00a0", " ") }

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
