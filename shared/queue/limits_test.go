package queue

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestPrepareMessage(t *testing.T) {
	long := strings.Repeat("x", MaxIDLength+1)
	cases := []struct {
		name     string
		msg      Message
		sessions bool
		want     error
	}{
		{"plain", Message{ID: "a", Body: []byte("b")}, false, nil},
		{"session", Message{ID: "a", SessionID: "s"}, true, nil},
		{"all property types", Message{Properties: map[string]any{"s": "x", "b": true, "i": int64(1), "n": 2, "f": 1.5}}, false, nil},
		{"largest body", Message{ID: "a", Body: make([]byte, MaxMessageBytes-messageOverhead-1)}, false, nil},
		{"body one byte over", Message{ID: "a", Body: make([]byte, MaxMessageBytes-messageOverhead)}, false, ErrInvalidMessage},
		{"session id refused", Message{SessionID: "s"}, false, ErrInvalidMessage},
		{"session id required", Message{}, true, ErrInvalidMessage},
		{"long id", Message{ID: long}, false, ErrInvalidMessage},
		{"long session id", Message{SessionID: long}, true, ErrInvalidMessage},
		{"NUL in id", Message{ID: "a\x00b"}, false, ErrInvalidMessage},
		{"bad UTF-8 id", Message{ID: "\xff"}, false, ErrInvalidMessage},
		{"negative TTL", Message{TTL: -1}, false, ErrInvalidMessage},
		{"TTL over the maximum", Message{TTL: MaxTTL + 1}, false, ErrInvalidMessage},
		{"float32 property", Message{Properties: map[string]any{"f": float32(1)}}, false, ErrInvalidMessage},
		{"NaN property", Message{Properties: map[string]any{"f": math.NaN()}}, false, ErrInvalidMessage},
		{"nil property", Message{Properties: map[string]any{"x": nil}}, false, ErrInvalidMessage},
		{"empty property name", Message{Properties: map[string]any{"": "x"}}, false, ErrInvalidMessage},
		{"long property name", Message{Properties: map[string]any{strings.Repeat("k", MaxPropertyNameLength+1): "x"}}, false, ErrInvalidMessage},
		{"bad UTF-8 property", Message{Properties: map[string]any{"k": "\xfe"}}, false, ErrInvalidMessage},
		{"headers too large", Message{Subject: strings.Repeat("s", MaxHeaderBytes+1)}, false, ErrInvalidMessage},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := c.msg
			err := PrepareMessage(&m, c.sessions)
			if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
				t.Fatalf("PrepareMessage = %v, want %v", err, c.want)
			}
			if err == nil && m.ID == "" {
				t.Fatal("no id assigned")
			}
		})
	}
}

func TestPrepareBatch(t *testing.T) {
	props := map[string]any{"n": 1}
	in := []Message{{Properties: props}, {ID: "b"}}
	out, err := PrepareBatch(in, false)
	if err != nil {
		t.Fatal(err)
	}
	if out[0].ID == "" || out[0].ID == out[1].ID || out[0].Properties["n"] != int64(1) {
		t.Fatalf("prepared %+v", out)
	}
	if in[0].ID != "" || props["n"] != 1 {
		t.Fatal("PrepareBatch changed the caller's messages")
	}
	if _, err := PrepareBatch(nil, false); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("empty batch: %v", err)
	}
	var big []Message
	for range 5 {
		big = append(big, Message{Body: make([]byte, 60<<10)})
	}
	if _, err := PrepareBatch(big, false); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("oversized batch: %v", err)
	}
	_, err = PrepareBatch([]Message{{ID: "ok"}, {SessionID: "s"}}, false)
	if !errors.Is(err, ErrInvalidMessage) || !strings.Contains(err.Error(), "message 1") {
		t.Fatalf("bad second message: %v", err)
	}
}

func TestChecks(t *testing.T) {
	bad := []error{
		CheckReceive(0, 0), CheckReceive(MaxReceive+1, 0), CheckReceive(1, -time.Second), CheckReceive(1, MaxWait+1),
		CheckSessionID(""), CheckSessionID(strings.Repeat("s", MaxIDLength+1)),
		CheckState(make([]byte, MaxSessionStateBytes+1)),
		CheckDeadLetter(strings.Repeat("r", MaxDeadLetterTextBytes+1), ""), CheckDeadLetter("", "\xff"),
	}
	for i, err := range bad {
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("check %d = %v, want ErrInvalidArgument", i, err)
		}
	}
	good := []error{CheckReceive(1, 0), CheckReceive(MaxReceive, MaxWait), CheckSessionID("op-1"), CheckState(nil),
		CheckState(make([]byte, MaxSessionStateBytes)), CheckDeadLetter("reason", "description")}
	for i, err := range good {
		if err != nil {
			t.Errorf("good check %d = %v", i, err)
		}
	}
}
