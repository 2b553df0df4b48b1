package servicebus

import (
	"errors"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/Azure/go-amqp"
	"github.com/behalf-dev/behalf/shared/queue"
)

// toSB maps a prepared message (queue.PrepareBatch) onto the SDK's.
func toSB(m *queue.Message) *azservicebus.Message {
	out := &azservicebus.Message{Body: m.Body, ApplicationProperties: m.Properties}
	id := m.ID
	out.MessageID = &id
	if m.SessionID != "" {
		sid := m.SessionID
		out.SessionID = &sid
	}
	if m.ContentType != "" {
		ct := m.ContentType
		out.ContentType = &ct
	}
	if m.Subject != "" {
		sub := m.Subject
		out.Subject = &sub
	}
	if m.TTL > 0 {
		ttl := m.TTL
		out.TimeToLive = &ttl
	}
	return out
}

// Dead-letter fields travel as application properties; they are lifted
// into Received and left out of Properties.
const (
	propDLReason      = "DeadLetterReason"
	propDLDescription = "DeadLetterErrorDescription"
)

// fromSB maps a received message onto queue.Received.
func fromSB(m *azservicebus.ReceivedMessage) queue.Received {
	r := queue.Received{Message: queue.Message{ID: m.MessageID, Body: m.Body}, DeliveryCount: int(m.DeliveryCount)}
	r.SessionID = deref(m.SessionID)
	r.ContentType = deref(m.ContentType)
	r.Subject = deref(m.Subject)
	r.DeadLetterReason = deref(m.DeadLetterReason)
	r.DeadLetterDescription = deref(m.DeadLetterErrorDescription)
	if len(m.ApplicationProperties) > 0 {
		r.Properties = make(map[string]any, len(m.ApplicationProperties))
		for k, v := range m.ApplicationProperties {
			if k == propDLReason || k == propDLDescription {
				continue
			}
			r.Properties[k] = normalize(v)
		}
		if len(r.Properties) == 0 {
			r.Properties = nil
		}
	}
	if m.SequenceNumber != nil {
		r.SequenceNumber = *m.SequenceNumber
	}
	if m.EnqueuedTime != nil {
		r.EnqueuedAt = *m.EnqueuedTime
	}
	if m.LockedUntil != nil {
		r.LockedUntil = *m.LockedUntil
	}
	// No TTL arrives as zero or as the broker's "forever"
	// (TimeSpan.MaxValue): both mean the message never expires.
	if m.TimeToLive != nil && *m.TimeToLive > 0 && *m.TimeToLive < queue.MaxTTL {
		r.TTL = *m.TimeToLive
		if m.ExpiresAt != nil {
			r.ExpiresAt = *m.ExpiresAt
		}
	}
	return r
}

// normalize maps AMQP's integer and float widths onto int64 and float64,
// the types package queue promises; anything else (sent by another
// client) passes through.
func normalize(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case float32:
		return float64(x)
	}
	return v
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// AMQP conditions Service Bus uses that the SDK does not give a Code.
const (
	condSessionCannotBeLocked amqp.ErrCond = "com.microsoft:session-cannot-be-locked"
	condSessionLockLost       amqp.ErrCond = "com.microsoft:session-lock-lost"
	condMessageLockLost       amqp.ErrCond = "com.microsoft:message-lock-lost"
	condEntityNotFound        amqp.ErrCond = "com.microsoft:entity-not-found"
)

var sentinels = []error{queue.ErrSessionLocked, queue.ErrNoSession, queue.ErrLockLost, queue.ErrUnknownQueue,
	queue.ErrInvalidMessage, queue.ErrInvalidArgument, queue.ErrClosed}

// mapErr gives an SDK error the queue sentinel callers branch on, keeping
// the original wrapped for its detail.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return err
		}
	}
	if s := sentinelOf(err); s != nil {
		return fmt.Errorf("%w: %w", s, err)
	}
	return err
}

// sessionErr is mapErr for an operation on a session already held: the
// SDK recovers a lost session link by locking the session again, so
// "cannot be locked" there means another receiver took it — the lock was
// lost.
func sessionErr(err error) error {
	err = mapErr(err)
	if errors.Is(err, queue.ErrSessionLocked) {
		return fmt.Errorf("%w: another receiver holds the session now (%v)", queue.ErrLockLost, err)
	}
	return err
}

func sentinelOf(err error) error {
	var amqpErr *amqp.Error
	if errors.As(err, &amqpErr) {
		switch amqpErr.Condition {
		case condSessionCannotBeLocked:
			return queue.ErrSessionLocked
		case condSessionLockLost, condMessageLockLost:
			return queue.ErrLockLost
		case amqp.ErrCondNotFound, condEntityNotFound:
			return queue.ErrUnknownQueue
		case amqp.ErrCondMessageSizeExceeded:
			return queue.ErrInvalidMessage
		}
	}
	var sbErr *azservicebus.Error
	if errors.As(err, &sbErr) {
		switch sbErr.Code {
		case azservicebus.CodeLockLost:
			return queue.ErrLockLost
		case azservicebus.CodeNotFound:
			return queue.ErrUnknownQueue
		case azservicebus.CodeClosed:
			return queue.ErrClosed
		}
	}
	return nil
}
