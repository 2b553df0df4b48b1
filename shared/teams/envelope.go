package teams

import (
	"encoding/json"
	"fmt"
)

// MaxMessageBytes is the largest envelope Envelope produces. Teams refuses
// messages over about 28 KB ("Request Entity too large", counting all
// content); 28,000 bytes stays under both readings of "KB". Card fields
// are bounded so that one card always fits.
const MaxMessageBytes = 28000

// maxAttachments bounds how many cards one message may carry.
const maxAttachments = 10

// TooLargeError is returned by Envelope for a message over the limit.
type TooLargeError struct {
	Bytes, Limit int
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("teams: message is %d bytes, over the %d-byte Teams limit", e.Bytes, e.Limit)
}

type attachment struct {
	ContentType string  `json:"contentType"`
	ContentURL  *string `json:"contentUrl"` // always null, as the trigger's template expects
	Content     Card    `json:"content"`
}

type message struct {
	Type        string       `json:"type"`
	Attachments []attachment `json:"attachments"`
}

// Envelope is the body a Teams Workflows webhook trigger expects:
//
//	{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","contentUrl":null,"content":<card>}]}
//
// It fails with ErrInvalidCard for an invalid card or a bad count, and with
// *TooLargeError when the result exceeds MaxMessageBytes.
func Envelope(cards ...Card) ([]byte, error) {
	if len(cards) == 0 || len(cards) > maxAttachments {
		return nil, fmt.Errorf("%w: a message holds 1 to %d cards, not %d", ErrInvalidCard, maxAttachments, len(cards))
	}
	m := message{Type: "message", Attachments: make([]attachment, len(cards))}
	for i, c := range cards {
		if err := c.Err(); err != nil {
			return nil, err
		}
		m.Attachments[i] = attachment{ContentType: CardContentType, Content: c}
	}
	b, err := encodeJSON(m)
	if err != nil {
		return nil, fmt.Errorf("teams: encoding the message: %w", err)
	}
	if len(b) > MaxMessageBytes {
		return nil, &TooLargeError{Bytes: len(b), Limit: MaxMessageBytes}
	}
	return b, nil
}

// ensure Card satisfies json.Marshaler (the envelope relies on it).
var _ json.Marshaler = Card{}
