package funchost

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"
)

// TimerInfo is a timer trigger's payload.
type TimerInfo struct {
	IsPastDue bool
	// Last, Next and LastUpdated are zero when the host sent no schedule
	// status (first run, or useMonitor false).
	Last, Next, LastUpdated time.Time
}

type timerWire struct {
	Schedule       map[string]any `json:"Schedule"`
	ScheduleStatus *struct {
		Last        json.RawMessage `json:"Last"`
		Next        json.RawMessage `json:"Next"`
		LastUpdated json.RawMessage `json:"LastUpdated"`
	} `json:"ScheduleStatus"`
	IsPastDue bool `json:"IsPastDue"`
}

// DecodeTimer decodes the timer bound to binding. Old hosts sent the
// TimerInfo as a string holding JSON; both forms are accepted.
func DecodeTimer(inv *Invocation, binding string) (*TimerInfo, error) {
	raw, ok := inv.Data[binding]
	if !ok {
		return nil, fmt.Errorf("funchost: invocation has no Data[%q]", binding)
	}
	if len(raw) > 0 && raw[0] == '"' {
		s, err := decodeString(raw)
		if err != nil {
			return nil, fmt.Errorf("funchost: Data[%q]: %w", binding, err)
		}
		raw = json.RawMessage(s)
	}
	var w timerWire
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, fmt.Errorf("funchost: Data[%q]: %w", binding, err)
	}
	ti := &TimerInfo{IsPastDue: w.IsPastDue}
	if st := w.ScheduleStatus; st != nil {
		var err error
		for _, f := range []struct {
			raw json.RawMessage
			dst *time.Time
		}{{st.Last, &ti.Last}, {st.Next, &ti.Next}, {st.LastUpdated, &ti.LastUpdated}} {
			if *f.dst, err = decodeTime(f.raw); err != nil {
				return nil, fmt.Errorf("funchost: ScheduleStatus: %w", err)
			}
		}
	}
	return ti, nil
}

// EncodeTimer builds the invocation the host sends for a timer tick.
func EncodeTimer(function, binding string, ti *TimerInfo, now time.Time) (*Invocation, error) {
	w := map[string]any{"Schedule": map[string]any{"AdjustForDST": true}, "IsPastDue": ti.IsPastDue, "ScheduleStatus": nil}
	if !ti.Next.IsZero() {
		w["ScheduleStatus"] = map[string]string{
			"Last":        ti.Last.UTC().Format(time.RFC3339Nano),
			"Next":        ti.Next.UTC().Format(time.RFC3339Nano),
			"LastUpdated": ti.LastUpdated.UTC().Format(time.RFC3339Nano),
		}
	}
	b, err := json.Marshal(w)
	if err != nil {
		return nil, err
	}
	return &Invocation{Data: map[string]json.RawMessage{binding: b}, Metadata: map[string]json.RawMessage{"sys": sysMetadata(function, now)}}, nil
}

func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
