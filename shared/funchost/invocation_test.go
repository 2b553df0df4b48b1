package funchost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/behalf-dev/behalf/shared/httpapi"
)

var update = flag.Bool("update", false, "rewrite golden files")

func loadInvocation(t *testing.T, name string) *Invocation {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inv, err := ReadInvocation(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return inv
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestDecodeServiceBusGolden(t *testing.T) {
	cases := []struct {
		file string
		want ServiceBusMessage
	}{
		{"servicebus-json.json", ServiceBusMessage{
			Body: []byte(`{"event":"sql.approved","id":"p-42"}`), MessageID: "9f3d2a7c-1111-4e5b-8c33-0e0c5f2a9d01",
			ContentType: "application/json", LockToken: "0b6e3c1e-6f7a-4c55-9a0f-2a4d1c9e7b11", DeliveryCount: 1, SequenceNumber: 42,
			EnqueuedTime: at("2025-03-01T10:20:30Z"), ExpiresAt: at("2025-03-15T10:20:30Z"), ApplicationProperties: map[string]any{"tenant": "a"},
		}},
		{"servicebus-string.json", ServiceBusMessage{
			Body: []byte(`plain text body, with "quotes"`), MessageID: "m-1", DeliveryCount: 3, SequenceNumber: 7,
			EnqueuedTime: at("2025-03-01T10:20:30Z"),
		}},
		{"servicebus-session.json", ServiceBusMessage{
			Body: []byte(`{"op_id":"op-7","statement":"DELETE FROM main.sales.deals WHERE id = 1"}`), MessageID: "op-7", SessionID: "op-7",
			CorrelationID: "req-55", ContentType: "application/json", Subject: "sql.pending", LockToken: "6a1f0000-0000-4000-8000-00000000aaaa",
			DeliveryCount: 2, SequenceNumber: 9001, EnqueuedTime: at("2025-03-01T10:20:30Z"), ExpiresAt: at("2025-03-01T11:20:30Z"),
			ApplicationProperties: map[string]any{"class": "write", "risk": "medium", "attempt": float64(2)},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			got, err := DecodeServiceBus(loadInvocation(t, tc.file), "msg")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Fatalf("decoded\n%+v\nwant\n%+v", *got, tc.want)
			}
		})
	}
}

func TestDecodeTimerGolden(t *testing.T) {
	cases := []struct {
		file string
		want TimerInfo
	}{
		{"timer.json", TimerInfo{Last: at("2025-03-01T02:00:00.0012345Z"), Next: at("2025-03-02T02:00:00Z"), LastUpdated: at("2025-03-01T02:00:00.0023456Z")}},
		{"timer-no-status.json", TimerInfo{IsPastDue: true}},
		{"timer-legacy-string.json", TimerInfo{Last: at("2025-03-01T02:00:00Z"), Next: at("2025-03-02T02:00:00Z"), LastUpdated: at("2025-03-01T02:00:00Z")}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			got, err := DecodeTimer(loadInvocation(t, tc.file), "timer")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Fatalf("decoded %+v, want %+v", *got, tc.want)
			}
		})
	}
}

func TestDecodeRejectsMalformed(t *testing.T) {
	cases := map[string]string{
		"no data":         `{"Metadata":{}}`,
		"missing binding": `{"Data":{"other":"\"x\""},"Metadata":{}}`,
		"bad count":       `{"Data":{"msg":"\"x\""},"Metadata":{"DeliveryCount":"one"}}`,
		"bad time":        `{"Data":{"msg":"\"x\""},"Metadata":{"EnqueuedTime":"yesterday"}}`,
		"not json":        `{"Data":`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			inv, err := ReadInvocation(strings.NewReader(body))
			if err == nil {
				_, err = DecodeServiceBus(inv, "msg")
			}
			if err == nil {
				t.Fatal("malformed invocation accepted")
			}
		})
	}
}

var randGUID = regexp.MustCompile(`"RandGuid":"[0-9a-f-]+"`)

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	got = randGUID.ReplaceAll(got, []byte(`"RandGuid":"<guid>"`))
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Fatalf("%s differs from golden:\n%s", name, pretty.String())
	}
}

func TestEncodeServiceBusRoundTrips(t *testing.T) {
	msg := &ServiceBusMessage{
		Body: []byte(`{"op_id":"op-7"}`), MessageID: "op-7", SessionID: "op-7", ContentType: "application/json", LockToken: "lt-1",
		DeliveryCount: 2, SequenceNumber: 9001, EnqueuedTime: at("2025-03-01T10:20:30.5Z"), ExpiresAt: at("2025-03-01T11:20:30Z"),
		ApplicationProperties: map[string]any{"class": "write"},
	}
	inv, err := EncodeServiceBus("audit-writer", "msg", msg, at("2025-03-01T10:20:31Z"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(inv)
	golden(t, "encoded-servicebus.golden.json", b)
	// The body string is serialized twice, as the host does.
	if string(inv.Data["msg"]) != `"\"{\\\"op_id\\\":\\\"op-7\\\"}\""` {
		t.Fatalf("body not double-encoded: %s", inv.Data["msg"])
	}
	back, err := DecodeServiceBus(inv, "msg")
	if err != nil {
		t.Fatal(err)
	}
	want := *msg
	want.EnqueuedTime = at("2025-03-01T10:20:30Z") // the host drops sub-seconds
	if !reflect.DeepEqual(*back, want) {
		t.Fatalf("round trip\n%+v\nwant\n%+v", *back, want)
	}
}

func TestEncodeTimerRoundTrips(t *testing.T) {
	ti := &TimerInfo{Last: at("2025-03-01T02:00:00Z"), Next: at("2025-03-02T02:00:00Z"), LastUpdated: at("2025-03-01T02:00:01Z")}
	inv, err := EncodeTimer("audit-export", "timer", ti, at("2025-03-02T02:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(inv)
	golden(t, "encoded-timer.golden.json", b)
	back, err := DecodeTimer(inv, "timer")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*back, *ti) {
		t.Fatalf("round trip %+v, want %+v", *back, *ti)
	}
}

func serveInvocation(t *testing.T, h InvocationHandler, body string) *http.Response {
	t.Helper()
	app := &App{}
	app.AddTrigger(TriggerFunction{Name: "audit-writer", Handler: h})
	handler, err := app.Handler(httpapi.Limits{MaxBodyBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/audit-writer", strings.NewReader(body)))
	return rec.Result()
}

func TestInvocationResponses(t *testing.T) {
	body, _ := os.ReadFile(filepath.Join("testdata", "servicebus-json.json"))
	cases := []struct {
		name       string
		handler    InvocationHandler
		body       string
		wantStatus int
		golden     string
	}{
		{"success", func(ctx context.Context, inv *Invocation) (*InvocationResult, error) {
			if _, err := DecodeServiceBus(inv, "msg"); err != nil {
				return nil, err
			}
			return &InvocationResult{Logs: []string{"stored 1 event"}}, nil
		}, string(body), http.StatusOK, "response-success.golden.json"},
		{"nil result", func(ctx context.Context, inv *Invocation) (*InvocationResult, error) { return nil, nil }, string(body), http.StatusOK, "response-empty.golden.json"},
		{"handler error", func(ctx context.Context, inv *Invocation) (*InvocationResult, error) {
			return nil, errors.New("audit store unavailable")
		}, string(body), http.StatusInternalServerError, ""},
		{"undecodable invocation", func(ctx context.Context, inv *Invocation) (*InvocationResult, error) { return nil, nil }, "not json", http.StatusInternalServerError, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := serveInvocation(t, tc.handler, tc.body)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("content type %q: the host fails non-JSON answers", ct)
			}
			b, _ := io.ReadAll(resp.Body)
			var res InvocationResult
			if err := json.Unmarshal(b, &res); err != nil {
				t.Fatalf("answer is not an invocation result: %s", b)
			}
			if tc.golden != "" {
				golden(t, tc.golden, b)
			}
			if tc.wantStatus != http.StatusOK && len(res.Logs) == 0 {
				t.Fatal("failure carries no log line for the host")
			}
		})
	}
}

func TestParseInvocationResponseAppliesHostRules(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		ct      string
		body    string
		wantErr bool
	}{
		{"ok", 200, "application/json", `{"Outputs":{},"Logs":[],"ReturnValue":null}`, false},
		{"text plain", 200, "text/plain; charset=utf-8", `{"Outputs":{}}`, true},
		{"malformed", 200, "application/json", `{"Outputs":`, true},
		{"server error", 500, "application/json", `{"Outputs":{},"Logs":["boom"]}`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tc.status, Header: http.Header{"Content-Type": {tc.ct}}, Body: io.NopCloser(strings.NewReader(tc.body))}
			_, err := ParseInvocationResponse(resp)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
		})
	}
}
