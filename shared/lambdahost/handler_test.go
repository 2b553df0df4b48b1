package lambdahost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/behalf-dev/behalf/shared/funchost"
	"github.com/behalf-dev/behalf/shared/httpapi"
	"github.com/behalf-dev/behalf/shared/queue"
)

// fakeDelivery records how a message was settled.
type fakeDelivery struct {
	msg     queue.Received
	mu      sync.Mutex
	settled string
}

func (d *fakeDelivery) Message() *queue.Received { return &d.msg }
func (d *fakeDelivery) settle(how string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.settled != "" {
		return queue.ErrLockLost
	}
	d.settled = how
	return nil
}
func (d *fakeDelivery) Complete(context.Context) error { return d.settle("complete") }
func (d *fakeDelivery) Abandon(context.Context) error  { return d.settle("abandon") }
func (d *fakeDelivery) DeadLetter(context.Context, string, string) error {
	return d.settle("dead-letter")
}
func (d *fakeDelivery) RenewLock(context.Context) error { return nil }

// fakeQueue hands out its messages in batches.
type fakeQueue struct {
	mu      sync.Mutex
	pending []*fakeDelivery
	queues  []string
	err     error
}

func (q *fakeQueue) Receive(_ context.Context, name string, max int, _ time.Duration) ([]queue.Delivery, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.queues = append(q.queues, name)
	if q.err != nil {
		return nil, q.err
	}
	n := min(max, len(q.pending))
	out := make([]queue.Delivery, n)
	for i := range n {
		out[i] = q.pending[i]
	}
	q.pending = q.pending[n:]
	return out, nil
}

const (
	timerFn = `{"bindings":[{"type":"timerTrigger","direction":"in","name":"timer","schedule":"0 0 2 * * *"}]}`
	queueFn = `{"bindings":[{"type":"serviceBusTrigger","direction":"in","name":"msg","queueName":"%BEHALF_TEST_QUEUE%","connection":"ServiceBusConnection"}]}`
)

func functionJSON(t *testing.T, name, doc string) *funchost.FunctionJSON {
	t.Helper()
	var f funchost.FunctionJSON
	if err := json.Unmarshal([]byte(doc), &f); err != nil {
		t.Fatal(err)
	}
	f.Name = name
	return &f
}

// testApp is an app handler with one HTTP route and the invocation
// endpoint a trigger function has under the Functions host.
func testApp(t *testing.T) http.Handler {
	t.Helper()
	app := &funchost.App{}
	app.AddHTTP(funchost.HTTPFunction{Name: "echo", Route: "echo/{*rest}", Methods: []string{"GET", "POST"},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			httpapi.WriteJSON(w, http.StatusOK, map[string]string{"path": r.URL.Path, "body": string(b), "cookie": r.Header.Get("Cookie")})
		})})
	app.AddTrigger(funchost.TriggerFunction{Name: "audit-writer", Handler: func(context.Context, *funchost.Invocation) (*funchost.InvocationResult, error) {
		t.Error("a trigger function was reached over HTTP")
		return nil, nil
	}})
	h, err := app.Handler(httpapi.Limits{MaxBodyBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

type recorded struct {
	mu   sync.Mutex
	invs []*funchost.Invocation
}

func (r *recorded) handler(fail func(*funchost.Invocation) error) funchost.InvocationHandler {
	return func(_ context.Context, inv *funchost.Invocation) (*funchost.InvocationResult, error) {
		r.mu.Lock()
		r.invs = append(r.invs, inv)
		r.mu.Unlock()
		if fail != nil {
			return nil, fail(inv)
		}
		return &funchost.InvocationResult{}, nil
	}
}

func newTestHandler(t *testing.T, q Receiver, timer, writer funchost.InvocationHandler, flush func(context.Context) error) *Handler {
	t.Helper()
	h, err := New(Config{
		HTTP: testApp(t),
		Functions: map[string]*funchost.FunctionJSON{
			"audit-export": functionJSON(t, "audit-export", timerFn),
			"audit-writer": functionJSON(t, "audit-writer", queueFn),
		},
		Triggers: []funchost.TriggerFunction{{Name: "audit-export", Handler: timer}, {Name: "audit-writer", Handler: writer}},
		Queue:    q,
		Lookup: func(k string) (string, bool) {
			return map[string]string{"BEHALF_TEST_QUEUE": "audit"}[k], k == "BEHALF_TEST_QUEUE"
		},
		Flush:  flush,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:    func() time.Time { return time.Date(2025, 3, 2, 2, 0, 5, 0, time.UTC) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// invoke goes through aws-lambda-go exactly as the runtime loop does.
func invoke(t *testing.T, h *Handler, payload any) ([]byte, error) {
	t.Helper()
	b, ok := payload.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(payload); err != nil {
			t.Fatal(err)
		}
	}
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return lambda.NewHandler(h).Invoke(ctx, b)
}

func httpEvent(method, path, body string, b64 bool, cookies ...string) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: method + " " + path, RawPath: path, Cookies: cookies, Body: body, IsBase64Encoded: b64,
		Headers: map[string]string{"content-type": "application/json", "user-agent": "test"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			DomainName: "abc.execute-api.eu-west-1.amazonaws.com", RequestID: "r1", Stage: "$default",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, SourceIP: "203.0.113.9", Protocol: "HTTP/1.1"},
		},
	}
}

func decodeResponse(t *testing.T, b []byte) events.APIGatewayV2HTTPResponse {
	t.Helper()
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(b, &resp); err != nil {
		t.Fatalf("response %s: %v", b, err)
	}
	return resp
}

func TestLambdaInvokeHTTP(t *testing.T) {
	flushes := 0
	h := newTestHandler(t, nil, (&recorded{}).handler(nil), (&recorded{}).handler(nil), func(context.Context) error { flushes++; return nil })
	cases := []struct {
		name   string
		ev     events.APIGatewayV2HTTPRequest
		status int
		want   string
	}{
		{"route", httpEvent("POST", "/api/echo/x", `{"a":1}`, false, "s=1", "t=2"), 200, `"body":"{\"a\":1}"`},
		{"base64 body", httpEvent("POST", "/api/echo/x", "eyJhIjoxfQ==", true), 200, `"body":"{\"a\":1}"`},
		{"cookies in", httpEvent("GET", "/api/echo/x", "", false, "s=1", "t=2"), 200, `"cookie":"s=1; t=2"`},
		{"method not allowed", httpEvent("DELETE", "/api/echo/x", "", false), 405, `"METHOD_NOT_ALLOWED"`},
		{"trigger endpoint is not public", httpEvent("POST", "/audit-writer", `{"Data":{}}`, false), 404, `"NOT_FOUND"`},
		{"unknown api path", httpEvent("GET", "/api/nothing", "", false), 404, `"NOT_FOUND"`},
		{"bad base64", httpEvent("POST", "/api/echo/x", "%%%", true), 400, `"BAD_REQUEST"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := invoke(t, h, c.ev)
			if err != nil {
				t.Fatal(err)
			}
			resp := decodeResponse(t, out)
			if resp.StatusCode != c.status || !strings.Contains(resp.Body, c.want) {
				t.Fatalf("got %d %s; want %d containing %s", resp.StatusCode, resp.Body, c.status, c.want)
			}
			if resp.Headers[httpapi.RequestIDHeader] == "" {
				t.Error("no request id header")
			}
		})
	}
	if flushes != len(cases) {
		t.Errorf("flush ran %d times for %d invocations", flushes, len(cases))
	}
}

func TestLambdaInvokeRefusesUnknownEvents(t *testing.T) {
	h := newTestHandler(t, nil, (&recorded{}).handler(nil), (&recorded{}).handler(nil), nil)
	for _, p := range []string{`{"Records":[]}`, `{"version":"1.0","requestContext":{}}`, `nope`} {
		if _, err := invoke(t, h, []byte(p)); err == nil {
			t.Errorf("%s accepted", p)
		}
	}
}

func scheduled(rule string, at time.Time) events.EventBridgeEvent {
	return events.EventBridgeEvent{Version: "0", ID: "ev-1", DetailType: "Scheduled Event", Source: "aws.events", AccountID: "123456789012",
		Time: at, Region: "eu-west-1", Resources: []string{"arn:aws:events:eu-west-1:123456789012:rule/" + rule}, Detail: json.RawMessage(`{}`)}
}

func TestLambdaScheduleRunsTimerFunction(t *testing.T) {
	rec := &recorded{}
	h := newTestHandler(t, nil, rec.handler(nil), (&recorded{}).handler(nil), nil)
	for _, c := range []struct {
		at      time.Time
		pastDue bool
	}{{time.Date(2025, 3, 2, 2, 0, 0, 0, time.UTC), false}, {time.Date(2025, 3, 2, 1, 57, 0, 0, time.UTC), true}} {
		out, err := invoke(t, h, scheduled("behalf-prod-audit-export", c.at))
		if err != nil {
			t.Fatal(err)
		}
		var res ScheduleResult
		if err := json.Unmarshal(out, &res); err != nil || res.Function != "audit-export" || res.Kind != "timer" {
			t.Fatalf("result %s (%v)", out, err)
		}
		inv := rec.invs[len(rec.invs)-1]
		ti, err := funchost.DecodeTimer(inv, "timer")
		if err != nil {
			t.Fatal(err)
		}
		if ti.IsPastDue != c.pastDue {
			t.Errorf("tick at %v: IsPastDue %v, want %v", c.at, ti.IsPastDue, c.pastDue)
		}
		var sys struct{ MethodName string }
		_ = json.Unmarshal(inv.Metadata["sys"], &sys)
		if sys.MethodName != "audit-export" {
			t.Errorf("sys.MethodName %q", sys.MethodName)
		}
	}
	// A failing timer function fails the invocation (EventBridge retries).
	h = newTestHandler(t, nil, rec.handler(func(*funchost.Invocation) error { return errors.New("sink down") }), (&recorded{}).handler(nil), nil)
	if _, err := invoke(t, h, scheduled("audit-export", time.Now())); err == nil || !strings.Contains(err.Error(), "sink down") {
		t.Fatalf("failure not reported: %v", err)
	}
	if _, err := invoke(t, h, scheduled("behalf-unknown-job", time.Now())); err == nil || !strings.Contains(err.Error(), "no trigger function") {
		t.Fatalf("unknown rule: %v", err)
	}
}

func message(id, body string, deliveries int) *fakeDelivery {
	return &fakeDelivery{msg: queue.Received{Message: queue.Message{ID: id, Body: []byte(body), ContentType: "application/json",
		Properties: map[string]any{"kind": "audit"}}, DeliveryCount: deliveries, SequenceNumber: 7,
		EnqueuedAt: time.Date(2025, 3, 2, 1, 59, 0, 0, time.UTC)}}
}

func TestLambdaScheduleDrainsQueue(t *testing.T) {
	var msgs []*fakeDelivery
	q := &fakeQueue{}
	for i, body := range []string{`{"id":"e1"}`, `{"id":"poison"}`, `{"id":"e3"}`} {
		m := message("m"+string(rune('1'+i)), body, 1)
		msgs = append(msgs, m)
		q.pending = append(q.pending, m)
	}
	rec := &recorded{}
	writer := rec.handler(func(inv *funchost.Invocation) error {
		m, err := funchost.DecodeServiceBus(inv, "msg")
		if err != nil {
			return err
		}
		if strings.Contains(string(m.Body), "poison") {
			return errors.New("cannot store")
		}
		if m.MessageID == "" || m.DeliveryCount != 1 || m.ApplicationProperties["kind"] != "audit" || m.EnqueuedTime.IsZero() {
			return errors.New("message metadata lost in transit")
		}
		return nil
	})
	h, err := New(Config{
		HTTP: testApp(t), Queue: q, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Functions: map[string]*funchost.FunctionJSON{"audit-writer": functionJSON(t, "audit-writer", queueFn)},
		Triggers:  []funchost.TriggerFunction{{Name: "audit-writer", Handler: writer}},
		Lookup:    func(k string) (string, bool) { return "audit", k == "BEHALF_TEST_QUEUE" },
		Drain:     DrainConfig{Batch: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = invoke(t, h, scheduled("behalf-audit-writer", time.Now()))
	if err == nil || !strings.Contains(err.Error(), "1 of 3 messages failed") {
		t.Fatalf("drain with a poison message: %v", err)
	}
	for i, want := range []string{"complete", "abandon", "complete"} {
		if msgs[i].settled != want {
			t.Errorf("message %d settled %q, want %q", i, msgs[i].settled, want)
		}
	}
	if len(rec.invs) != 3 || q.queues[0] != "audit" {
		t.Fatalf("invocations %d, queues %v", len(rec.invs), q.queues)
	}

	// An empty queue is a clean run.
	out, err := invoke(t, h, scheduled("behalf-audit-writer", time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	var res ScheduleResult
	_ = json.Unmarshal(out, &res)
	if res.Kind != "queue" || res.Queue != "audit" || res.Received != 0 || res.Stopped != "empty" {
		t.Fatalf("empty drain: %s", out)
	}
}

func TestLambdaDrainBounds(t *testing.T) {
	fill := func(n int) *fakeQueue {
		q := &fakeQueue{}
		for i := range n {
			q.pending = append(q.pending, message("m"+strings.Repeat("x", i), `{}`, 1))
		}
		return q
	}
	newH := func(q Receiver, d DrainConfig, now func() time.Time) *Handler {
		h, err := New(Config{HTTP: testApp(t), Queue: q, Drain: d, Now: now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Functions: map[string]*funchost.FunctionJSON{"audit-writer": functionJSON(t, "audit-writer", queueFn)},
			Triggers:  []funchost.TriggerFunction{{Name: "audit-writer", Handler: (&recorded{}).handler(nil)}},
			Lookup:    func(k string) (string, bool) { return "audit", true }})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	ev := scheduled("audit-writer", time.Now())
	res, err := newH(fill(10), DrainConfig{Batch: 3, MaxMessages: 5}, nil).RunSchedule(context.Background(), &ev)
	if err != nil || res.Received != 5 || res.Completed != 5 || res.Stopped != "max-messages" {
		t.Fatalf("max messages: %+v %v", res, err)
	}
	// Past the deadline reserve no batch starts.
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(10*time.Second))
	defer cancel()
	res, err = newH(fill(10), DrainConfig{Reserve: 20 * time.Second}, nil).RunSchedule(ctx, &ev)
	if err != nil || res.Received != 0 || res.Stopped != "deadline" {
		t.Fatalf("deadline: %+v %v", res, err)
	}
	// Receive errors and a missing queue are errors.
	if _, err := newH(&fakeQueue{err: errors.New("amqp down")}, DrainConfig{}, nil).RunSchedule(context.Background(), &ev); err == nil || !strings.Contains(err.Error(), "amqp down") {
		t.Fatalf("receive error: %v", err)
	}
	if _, err := newH(nil, DrainConfig{}, nil).RunSchedule(context.Background(), &ev); !errors.Is(err, ErrNoQueue) {
		t.Fatalf("no queue: %v", err)
	}
	if _, err := New(Config{HTTP: testApp(t), Drain: DrainConfig{Batch: 1000}}); err == nil {
		t.Fatal("batch of 1000 accepted")
	}
}

func TestLambdaDrainSurvivesPanickingFunction(t *testing.T) {
	q := &fakeQueue{pending: []*fakeDelivery{message("m1", `{}`, 1)}}
	h, err := New(Config{HTTP: testApp(t), Queue: q, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Functions: map[string]*funchost.FunctionJSON{"audit-writer": functionJSON(t, "audit-writer", queueFn)},
		Triggers: []funchost.TriggerFunction{{Name: "audit-writer", Handler: func(context.Context, *funchost.Invocation) (*funchost.InvocationResult, error) {
			panic("boom")
		}}},
		Lookup: func(string) (string, bool) { return "audit", true }})
	if err != nil {
		t.Fatal(err)
	}
	ev := scheduled("audit-writer", time.Now())
	res, err := h.RunSchedule(context.Background(), &ev)
	if err == nil || res.Abandoned != 1 || q.pending != nil && len(q.pending) != 0 {
		t.Fatalf("panic: %+v %v", res, err)
	}
}

func TestLambdaNewValidatesTriggers(t *testing.T) {
	h := func(context.Context, *funchost.Invocation) (*funchost.InvocationResult, error) { return nil, nil }
	cases := map[string]Config{
		"no http handler":  {},
		"no function.json": {Triggers: []funchost.TriggerFunction{{Name: "x", Handler: h}}},
		"sessions": {Triggers: []funchost.TriggerFunction{{Name: "x", Handler: h}}, Functions: map[string]*funchost.FunctionJSON{
			"x": functionJSON(t, "x", `{"bindings":[{"type":"serviceBusTrigger","direction":"in","name":"m","queueName":"q","isSessionsEnabled":true}]}`)}},
		"unresolved queue setting": {Triggers: []funchost.TriggerFunction{{Name: "x", Handler: h}}, Functions: map[string]*funchost.FunctionJSON{
			"x": functionJSON(t, "x", queueFn)}},
		"blob trigger": {Triggers: []funchost.TriggerFunction{{Name: "x", Handler: h}}, Functions: map[string]*funchost.FunctionJSON{
			"x": functionJSON(t, "x", `{"bindings":[{"type":"blobTrigger","direction":"in","name":"b"}]}`)}},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			if name != "no http handler" {
				cfg.HTTP = http.NotFoundHandler()
			}
			if _, err := New(cfg); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestLambdaFlushErrorIsLoggedNotFatal(t *testing.T) {
	var logs bytes.Buffer
	h, err := New(Config{HTTP: testApp(t), Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
		Flush: func(context.Context) error { return errors.New("queue unavailable") }})
	if err != nil {
		t.Fatal(err)
	}
	out, err := invoke(t, h, httpEvent("GET", "/api/echo/x", "", false))
	if err != nil || decodeResponse(t, out).StatusCode != 200 {
		t.Fatalf("%s %v", out, err)
	}
	if !strings.Contains(logs.String(), "queue unavailable") || !strings.Contains(logs.String(), "req-1") {
		t.Fatalf("flush failure not logged with the request id: %s", logs.String())
	}
}
