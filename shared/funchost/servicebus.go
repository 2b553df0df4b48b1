package funchost

import (
	"encoding/json"
	"fmt"
	"time"
)

// ServiceBusMessage is a Service Bus trigger's message as decoded from an
// invocation (cardinality one).
type ServiceBusMessage struct {
	Body                  []byte
	MessageID             string
	SessionID             string
	CorrelationID         string
	ContentType           string
	Subject               string
	LockToken             string
	DeliveryCount         int64
	SequenceNumber        int64
	EnqueuedTime          time.Time
	ExpiresAt             time.Time
	ApplicationProperties map[string]any
}

// DecodeServiceBus decodes the message bound to binding (the trigger's
// "name" in function.json). Message identity is read from the system
// metadata keys, never from body-derived binding data.
func DecodeServiceBus(inv *Invocation, binding string) (*ServiceBusMessage, error) {
	raw, ok := inv.Data[binding]
	if !ok {
		return nil, fmt.Errorf("funchost: invocation has no Data[%q]", binding)
	}
	body, err := decodeBytes(raw, false)
	if err != nil {
		return nil, fmt.Errorf("funchost: Data[%q]: %w", binding, err)
	}
	m := &ServiceBusMessage{Body: body}
	md := inv.Metadata
	strs := []struct {
		key string
		dst *string
	}{
		{"MessageId", &m.MessageID}, {"SessionId", &m.SessionID}, {"CorrelationId", &m.CorrelationID},
		{"ContentType", &m.ContentType}, {"Subject", &m.Subject}, {"LockToken", &m.LockToken},
	}
	for _, s := range strs {
		if *s.dst, err = decodeString(md[s.key]); err != nil {
			return nil, fmt.Errorf("funchost: Metadata.%s: %w", s.key, err)
		}
	}
	if m.Subject == "" {
		if m.Subject, err = decodeString(md["Label"]); err != nil {
			return nil, fmt.Errorf("funchost: Metadata.Label: %w", err)
		}
	}
	if m.DeliveryCount, err = decodeInt(md["DeliveryCount"]); err != nil {
		return nil, fmt.Errorf("funchost: Metadata.DeliveryCount: %w", err)
	}
	if m.SequenceNumber, err = decodeInt(md["SequenceNumber"]); err != nil {
		return nil, fmt.Errorf("funchost: Metadata.SequenceNumber: %w", err)
	}
	// Prefer the DateTimeOffset forms, which keep their zone.
	for _, pair := range []struct {
		keys []string
		dst  *time.Time
	}{{[]string{"EnqueuedTime", "EnqueuedTimeUtc"}, &m.EnqueuedTime}, {[]string{"ExpiresAt", "ExpiresAtUtc"}, &m.ExpiresAt}} {
		for _, k := range pair.keys {
			if raw, ok := md[k]; ok {
				if *pair.dst, err = decodeTime(raw); err != nil {
					return nil, fmt.Errorf("funchost: Metadata.%s: %w", k, err)
				}
				break
			}
		}
	}
	for _, k := range []string{"ApplicationProperties", "UserProperties"} {
		if raw, ok := md[k]; ok && len(raw) > 0 && string(raw) != "null" {
			if err := json.Unmarshal(raw, &m.ApplicationProperties); err != nil {
				return nil, fmt.Errorf("funchost: Metadata.%s: %w", k, err)
			}
			break
		}
	}
	return m, nil
}

// EncodeServiceBus builds the invocation the Functions host would send for
// msg, with the host's quirks (strings serialized twice, numbers as
// strings, DateTime without zone). The local trigger driver uses it, and
// the golden tests pin it to the documented shape.
func EncodeServiceBus(function, binding string, msg *ServiceBusMessage, now time.Time) (*Invocation, error) {
	q := func(s string) json.RawMessage {
		inner, _ := json.Marshal(s)
		outer, _ := json.Marshal(string(inner))
		return outer
	}
	num := func(n int64) json.RawMessage { b, _ := json.Marshal(fmt.Sprint(n)); return b }
	str := func(s string) json.RawMessage { b, _ := json.Marshal(s); return b }
	md := map[string]json.RawMessage{
		"DeliveryCount":   num(msg.DeliveryCount),
		"SequenceNumber":  num(msg.SequenceNumber),
		"EnqueuedTimeUtc": str(msg.EnqueuedTime.UTC().Format("2006-01-02T15:04:05")),
		"EnqueuedTime":    str(msg.EnqueuedTime.UTC().Format("2006-01-02T15:04:05-07:00")),
		"sys":             sysMetadata(function, now),
	}
	if !msg.ExpiresAt.IsZero() {
		md["ExpiresAtUtc"] = str(msg.ExpiresAt.UTC().Format("2006-01-02T15:04:05"))
		md["ExpiresAt"] = str(msg.ExpiresAt.UTC().Format("2006-01-02T15:04:05-07:00"))
	}
	for k, v := range map[string]string{"MessageId": msg.MessageID, "SessionId": msg.SessionID, "CorrelationId": msg.CorrelationID,
		"ContentType": msg.ContentType, "Subject": msg.Subject, "Label": msg.Subject, "LockToken": msg.LockToken} {
		if v != "" { // the host omits nulls
			md[k] = q(v)
		}
	}
	props := msg.ApplicationProperties
	if props == nil {
		props = map[string]any{}
	}
	pb, err := json.Marshal(props)
	if err != nil {
		return nil, fmt.Errorf("funchost: application properties: %w", err)
	}
	md["ApplicationProperties"] = pb
	md["UserProperties"] = pb
	return &Invocation{Data: map[string]json.RawMessage{binding: q(string(msg.Body))}, Metadata: md}, nil
}

func sysMetadata(function string, now time.Time) json.RawMessage {
	b, _ := json.Marshal(map[string]string{
		"MethodName": function,
		"UtcNow":     now.UTC().Format("2006-01-02T15:04:05.0000000Z"),
		"RandGuid":   newGUID(),
	})
	return b
}
