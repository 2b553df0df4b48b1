package queue

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Bounds shared by both implementations, so that a message the embedded
// queue takes is one Service Bus (standard tier) takes too.
const (
	// MaxMessageBytes bounds one message (body, identifiers, subject,
	// content type and application properties), as Service Bus standard
	// does (256 KiB).
	MaxMessageBytes = 256 << 10
	// MaxBatchBytes bounds one Send: a batch travels as one message.
	MaxBatchBytes = 256 << 10
	// MaxIDLength bounds message and session ids (Service Bus: 128).
	MaxIDLength = 128
	// MaxHeaderBytes bounds subject, content type and application
	// properties together (Service Bus: 64 KiB of headers).
	MaxHeaderBytes = 64 << 10
	// MaxPropertyNameLength bounds one application property name.
	MaxPropertyNameLength = 256
	// MaxReceive bounds the message count of one Receive.
	MaxReceive = 1000
	// MaxWait bounds how long one Receive or AcceptNextSession waits.
	MaxWait = 10 * time.Minute
	// MaxSessionStateBytes bounds a session state.
	MaxSessionStateBytes = 256 << 10
	// MaxDeadLetterTextBytes bounds a dead-letter reason or description.
	MaxDeadLetterTextBytes = 4096
	// MaxTTL bounds a time to live (Service Bus' own maximum is "never";
	// a hundred years is as good and keeps time arithmetic in range).
	MaxTTL = 100 * 365 * 24 * time.Hour
)

// Dead-letter reasons the broker sets (Service Bus' own strings).
const (
	ReasonMaxDeliveries = "MaxDeliveryCountExceeded"
	ReasonTTLExpired    = "TTLExpiredException"
)

// messageOverhead is what a message costs beyond its fields, so that a
// batch of empty messages is still bounded.
const messageOverhead = 64

// Size is the number of bytes m counts against MaxMessageBytes and
// MaxBatchBytes.
func Size(m *Message) int {
	return messageOverhead + len(m.ID) + len(m.SessionID) + len(m.Body) + headerSize(m)
}

func headerSize(m *Message) int {
	n := len(m.ContentType) + len(m.Subject)
	for k, v := range m.Properties {
		n += len(k) + 9 // a value's type and fixed-size encoding
		if s, ok := v.(string); ok {
			n += len(s)
		}
	}
	return n
}

// PrepareMessage checks m for a queue with or without sessions and
// normalizes it in place: an empty ID gets a random one (so duplicate
// detection never merges two unrelated messages), int properties become
// int64. Errors wrap ErrInvalidMessage.
func PrepareMessage(m *Message, sessions bool) error {
	if m.ID == "" {
		m.ID = uuid.NewString()
	}
	if err := checkID(ErrInvalidMessage, "message id", m.ID); err != nil {
		return err
	}
	switch {
	case sessions && m.SessionID == "":
		return fmt.Errorf("%w: the queue has sessions: a session id is required", ErrInvalidMessage)
	case !sessions && m.SessionID != "":
		return fmt.Errorf("%w: the queue has no sessions: a session id is not allowed", ErrInvalidMessage)
	case m.SessionID != "":
		if err := checkID(ErrInvalidMessage, "session id", m.SessionID); err != nil {
			return err
		}
	}
	if m.TTL < 0 || m.TTL > MaxTTL {
		return fmt.Errorf("%w: time to live %v is out of range [0, %v]", ErrInvalidMessage, m.TTL, MaxTTL)
	}
	if !utf8.ValidString(m.ContentType) || !utf8.ValidString(m.Subject) {
		return fmt.Errorf("%w: content type and subject must be UTF-8", ErrInvalidMessage)
	}
	for k, v := range m.Properties {
		if k == "" || len(k) > MaxPropertyNameLength || !utf8.ValidString(k) {
			return fmt.Errorf("%w: application property name %.40q must be 1-%d bytes of UTF-8", ErrInvalidMessage, k, MaxPropertyNameLength)
		}
		switch x := v.(type) {
		case string:
			if !utf8.ValidString(x) {
				return fmt.Errorf("%w: application property %q is not UTF-8", ErrInvalidMessage, k)
			}
		case bool, int64:
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return fmt.Errorf("%w: application property %q is not a finite number", ErrInvalidMessage, k)
			}
		case int:
			m.Properties[k] = int64(x)
		default:
			return fmt.Errorf("%w: application property %q has type %T (want string, bool, int64 or float64)", ErrInvalidMessage, k, v)
		}
	}
	if h := headerSize(m); h > MaxHeaderBytes {
		return fmt.Errorf("%w: subject, content type and properties take %d bytes (limit %d)", ErrInvalidMessage, h, MaxHeaderBytes)
	}
	if n := Size(m); n > MaxMessageBytes {
		return fmt.Errorf("%w: message %q is %d bytes (limit %d)", ErrInvalidMessage, m.ID, n, MaxMessageBytes)
	}
	return nil
}

// PrepareBatch copies msgs and prepares each (PrepareMessage), and bounds
// the batch (MaxBatchBytes). The caller's slice and maps are not changed.
func PrepareBatch(msgs []Message, sessions bool) ([]Message, error) {
	if len(msgs) == 0 {
		return nil, fmt.Errorf("%w: no messages to send", ErrInvalidMessage)
	}
	out := make([]Message, len(msgs))
	total := 0
	for i := range msgs {
		out[i] = msgs[i]
		if msgs[i].Properties != nil {
			out[i].Properties = make(map[string]any, len(msgs[i].Properties))
			for k, v := range msgs[i].Properties {
				out[i].Properties[k] = v
			}
		}
		if err := PrepareMessage(&out[i], sessions); err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
		total += Size(&out[i])
	}
	if total > MaxBatchBytes {
		return nil, fmt.Errorf("%w: the batch is %d bytes (limit %d): send fewer messages at a time", ErrInvalidMessage, total, MaxBatchBytes)
	}
	return out, nil
}

// checkID bounds an id; kind is the sentinel the error wraps.
func checkID(kind error, what, id string) error {
	if len(id) > MaxIDLength || !utf8.ValidString(id) || strings.ContainsRune(id, 0) {
		return fmt.Errorf("%w: %s must be at most %d bytes of UTF-8 without NUL", kind, what, MaxIDLength)
	}
	return nil
}

// CheckSessionID checks a session id given to AcceptSession.
func CheckSessionID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty session id", ErrInvalidArgument)
	}
	return checkID(ErrInvalidArgument, "session id", id)
}

// CheckReceive checks the count and wait of a Receive.
func CheckReceive(max int, wait time.Duration) error {
	if max < 1 || max > MaxReceive {
		return fmt.Errorf("%w: receive count %d is out of range [1, %d]", ErrInvalidArgument, max, MaxReceive)
	}
	return CheckWait(wait)
}

// CheckWait checks a wait (Receive, AcceptNextSession).
func CheckWait(wait time.Duration) error {
	if wait < 0 || wait > MaxWait {
		return fmt.Errorf("%w: wait %v is out of range [0, %v]", ErrInvalidArgument, wait, MaxWait)
	}
	return nil
}

// CheckState checks a session state for SetState.
func CheckState(state []byte) error {
	if len(state) > MaxSessionStateBytes {
		return fmt.Errorf("%w: session state is %d bytes (limit %d)", ErrInvalidArgument, len(state), MaxSessionStateBytes)
	}
	return nil
}

// CheckDeadLetter checks a dead-letter reason and description.
func CheckDeadLetter(reason, description string) error {
	if len(reason) > MaxDeadLetterTextBytes || len(description) > MaxDeadLetterTextBytes ||
		!utf8.ValidString(reason) || !utf8.ValidString(description) {
		return fmt.Errorf("%w: dead-letter reason and description must be at most %d bytes of UTF-8 each", ErrInvalidArgument, MaxDeadLetterTextBytes)
	}
	return nil
}
