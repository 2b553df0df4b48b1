package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/behalf-dev/behalf/shared/funchost"
	"github.com/behalf-dev/behalf/shared/lambdahost"
)

// lambdaEnv configures identity with dummies: every check that a request
// without a valid token fails must answer without the network.
func lambdaEnv(t *testing.T) map[string]string {
	t.Helper()
	return map[string]string{
		"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9",
		"BEHALF_CLIENT_ID":       "e0000000-0000-4000-8000-0000000000b1",
		"BEHALF_TENANT_IDS":      "7d3e2a10-5b1c-4c8e-9f00-0000000d3e10",
		"BEHALF_DATABRICKS_HOST": "https://adb-1.azuredatabricks.net",
		"BEHALF_SESSION_KEYS":    "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)),
		"BEHALF_PUBLIC_URL":      "https://behalf.example.com",
		"BEHALF_QUEUE_PATH":      filepath.Join(t.TempDir(), "queue.db"),
		"BEHALF_LOG_LEVEL":       "debug",
	}
}

func newTestLambda(t *testing.T, env map[string]string) (*lambdahost.Handler, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	h, closeApp, err := newLambdaHandler(context.Background(), lookupIn(withTempStores(t, env)), logs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeApp(context.Background()) })
	return h, logs
}

// apiEvent builds an API Gateway HTTP API (payload 2.0) event the way the
// gateway sends one for a route of the SAM template.
func apiEvent(method, path, body string, headers map[string]string, cookies ...string) events.APIGatewayV2HTTPRequest {
	h := map[string]string{"accept": "application/json", "user-agent": "lambda-test", "x-forwarded-proto": "https"}
	for k, v := range headers {
		h[strings.ToLower(k)] = v
	}
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "ANY " + path, RawPath: path, Headers: h, Cookies: cookies, Body: body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			AccountID: "123456789012", APIID: "abc123", Stage: "$default", RequestID: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
			DomainName: "abc123.execute-api.eu-west-1.amazonaws.com", DomainPrefix: "abc123", TimeEpoch: time.Now().UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: "203.0.113.7", UserAgent: "lambda-test"},
		},
	}
}

// invokeLambda runs one event through aws-lambda-go's handler, exactly as
// the runtime loop does (JSON in, JSON out).
func invokeLambda(t *testing.T, h *lambdahost.Handler, ev any) ([]byte, error) {
	t.Helper()
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
		InvokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:behalf"})
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	return lambda.NewHandler(h).Invoke(ctx, payload)
}

func httpResponse(t *testing.T, h *lambdahost.Handler, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	out, err := invokeLambda(t, h, ev)
	if err != nil {
		t.Fatalf("%s %s: %v", ev.RequestContext.HTTP.Method, ev.RawPath, err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	return resp
}

var routeParam = regexp.MustCompile(`\{\*?([A-Za-z_][A-Za-z0-9_]*)[^}]*\}`)

// samplePaths turns a function.json route into paths that match it (a
// catch-all also matches its base path).
func samplePaths(route string) []string {
	p := "/" + funchost.RoutePrefix + "/" + routeParam.ReplaceAllString(route, "sample-$1")
	paths := []string{p}
	if strings.Contains(route, "{*") {
		paths = append(paths, "/"+funchost.RoutePrefix+"/"+strings.TrimSuffix(route[:strings.Index(route, "{*")], "/"))
	}
	return paths
}

// TestLambdaAnswersEveryHTTPRoute reads every function folder, so a new
// HTTP function is covered without touching this test: each route and
// method reaches its function (never the catch-all 404 or a 405) and
// answers in the app's JSON shape with a request id.
func TestLambdaAnswersEveryHTTPRoute(t *testing.T) {
	h, _ := newTestLambda(t, lambdaEnv(t))
	fns, err := funchost.LoadFunctions(FunctionFiles())
	if err != nil {
		t.Fatal(err)
	}
	routes := 0
	for name, fj := range fns {
		if !fj.IsHTTP() {
			continue
		}
		trig, _ := fj.Trigger()
		for _, path := range samplePaths(trig.Route) {
			for _, m := range trig.Methods {
				method := strings.ToUpper(m)
				t.Run(name+" "+method+" "+path, func(t *testing.T) {
					body := ""
					if method == http.MethodPost {
						body = `{}`
					}
					resp := httpResponse(t, h, apiEvent(method, path, body, map[string]string{"content-type": "application/json"}))
					routes++
					if resp.StatusCode == http.StatusMethodNotAllowed || strings.Contains(resp.Body, "no function serves this path") {
						t.Fatalf("route not served: %d %s", resp.StatusCode, resp.Body)
					}
					if resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable {
						t.Fatalf("server error: %d %s", resp.StatusCode, resp.Body)
					}
					if resp.Headers["X-Request-Id"] == "" {
						t.Errorf("no X-Request-Id: %v", resp.Headers)
					}
					if resp.StatusCode >= 400 {
						var e struct {
							Error struct{ Code, RequestID string } `json:"error"`
						}
						if err := json.Unmarshal([]byte(resp.Body), &e); err != nil || e.Error.Code == "" {
							t.Errorf("error body is not the app's shape: %s", resp.Body)
						}
					}
				})
			}
		}
	}
	if routes == 0 {
		t.Fatal("no HTTP function found")
	}
}

func TestLambdaHealthAndUnauthenticated(t *testing.T) {
	env := lambdaEnv(t)
	h, logs := newTestLambda(t, env)
	health := httpResponse(t, h, apiEvent("GET", "/api/health", "", nil))
	if health.StatusCode != http.StatusOK || !strings.Contains(health.Body, `"status"`) {
		t.Fatalf("health: %d %s", health.StatusCode, health.Body)
	}
	const forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.c2lnbmF0dXJlLWZvcmdlZC0xMjM0NTY3ODkw"
	b64 := base64.StdEncoding.EncodeToString([]byte(`{"question":"revenue by region?"}`))
	cases := []struct {
		name string
		code string
		ev   events.APIGatewayV2HTTPRequest
	}{
		{"genie-query without a token", "TOKEN_MISSING", apiEvent("POST", "/api/genie-query", `{"question":"revenue by region?"}`, map[string]string{"content-type": "application/json"})},
		{"genie-query with a forged HMAC token", "TOKEN_ALG_NOT_ALLOWED", apiEvent("POST", "/api/genie-query", `{"question":"x"}`, map[string]string{"authorization": "Bearer " + forged, "content-type": "application/json"})},
		{"obo-exchange with a base64 body", "TOKEN_MISSING", func() events.APIGatewayV2HTTPRequest {
			ev := apiEvent("POST", "/api/obo-exchange", b64, map[string]string{"content-type": "application/json"})
			ev.IsBase64Encoded = true
			return ev
		}()},
		{"auth/me with a bogus session cookie", "TOKEN_", apiEvent("GET", "/api/auth/me", "", nil, "behalf_session=not-a-sealed-value")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := httpResponse(t, h, c.ev)
			var e struct {
				Error struct{ Code string } `json:"error"`
			}
			if resp.StatusCode != http.StatusUnauthorized || json.Unmarshal([]byte(resp.Body), &e) != nil || !strings.HasPrefix(e.Error.Code, c.code) {
				t.Fatalf("got %d %s, want 401 %s", resp.StatusCode, resp.Body, c.code)
			}
			if resp.Headers["Www-Authenticate"] == "" {
				t.Errorf("401 without WWW-Authenticate: %v", resp.Headers)
			}
		})
	}
	if strings.Contains(logs.String(), forged) || strings.Contains(logs.String(), "c2lnbmF0dXJlLWZvcmdlZC0xMjM0NTY3ODkw") {
		t.Fatal("a token reached the logs")
	}
}

func TestLambdaCookiesOut(t *testing.T) {
	h, _ := newTestLambda(t, lambdaEnv(t))
	resp := httpResponse(t, h, apiEvent("GET", "/api/auth/logout", "", nil))
	if resp.StatusCode != http.StatusFound || resp.Headers["Location"] == "" {
		t.Fatalf("logout: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	if len(resp.Cookies) == 0 {
		t.Fatal("logout cleared no cookie")
	}
	for _, c := range resp.Cookies {
		if !strings.Contains(c, "Max-Age=0") || !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "Secure") {
			t.Errorf("cookie %q is not a secure clearing cookie", c)
		}
	}
	if _, ok := resp.Headers["Set-Cookie"]; ok {
		t.Error("Set-Cookie left in headers; payload format 2.0 carries cookies separately")
	}
}

func TestLambdaRefusesNonAPIPaths(t *testing.T) {
	h, _ := newTestLambda(t, lambdaEnv(t))
	// The invocation endpoints of trigger functions exist for the
	// Functions host on loopback; through API Gateway they must not.
	fns, _ := funchost.LoadFunctions(FunctionFiles())
	paths := []string{"/", "/health"}
	for name, fj := range fns {
		if !fj.IsHTTP() {
			paths = append(paths, "/"+name)
		}
	}
	for _, p := range paths {
		resp := httpResponse(t, h, apiEvent("POST", p, `{"Data":{"timer":{}},"Metadata":{}}`, map[string]string{"content-type": "application/json"}))
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s: %d %s", p, resp.StatusCode, resp.Body)
		}
	}
}

// TestLambdaRunsEveryScheduledFunction: each timer or queue function in
// the function folders is reachable by its schedule rule name, as the SAM
// template names the rules (<stack>-<function>).
func TestLambdaRunsEveryScheduledFunction(t *testing.T) {
	h, _ := newTestLambda(t, lambdaEnv(t))
	fns, err := funchost.LoadFunctions(FunctionFiles())
	if err != nil {
		t.Fatal(err)
	}
	for name, fj := range fns {
		if fj.IsHTTP() {
			continue
		}
		t.Run(name, func(t *testing.T) {
			if !slices.Contains(h.TriggerNames(), name) {
				t.Fatalf("%s has a function folder but the app registers no trigger function for it: Lambda schedules cannot run it", name)
			}
			trig, _ := fj.Trigger()
			ev := events.EventBridgeEvent{Version: "0", ID: "e1", DetailType: "Scheduled Event", Source: "aws.events", AccountID: "123456789012",
				Time: time.Now().UTC(), Region: "eu-west-1", Resources: []string{"arn:aws:events:eu-west-1:123456789012:rule/behalf-test-" + name}, Detail: json.RawMessage(`{}`)}
			out, err := invokeLambda(t, h, ev)
			if strings.EqualFold(trig.Type, "serviceBusTrigger") && errors.Is(err, lambdahost.ErrNoQueue) {
				t.Skipf("%s drains a queue and this app holds none on Lambda yet: %v", name, err)
			}
			if err != nil {
				t.Fatalf("scheduled %s: %v", name, err)
			}
			var res lambdahost.ScheduleResult
			if err := json.Unmarshal(out, &res); err != nil || res.Function != name {
				t.Fatalf("result %s (%v)", out, err)
			}
		})
	}
	ev := events.EventBridgeEvent{DetailType: "Scheduled Event", Source: "aws.events", Resources: []string{"arn:aws:events:eu-west-1:1:rule/behalf-no-such-job"}}
	if _, err := invokeLambda(t, h, ev); !errors.Is(err, lambdahost.ErrNoFunction) {
		t.Fatalf("unknown schedule: %v", err)
	}
}

func TestLambdaCommand(t *testing.T) {
	// Outside Lambda the subcommand refuses to start.
	if code, _, errOut := runCmd(t, map[string]string{}, "lambda"); code != 1 || !strings.Contains(errOut, "AWS_LAMBDA_RUNTIME_API") {
		t.Fatalf("lambda outside Lambda: %d %q", code, errOut)
	}
	if code, _, _ := runCmd(t, map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9"}, "lambda", "extra"); code != 2 {
		t.Fatalf("extra argument: exit %d", code)
	}
	// Started bare inside Lambda (as bootstrap), it is the lambda command:
	// a bad configuration fails there, before the runtime loop.
	code, _, errOut := runCmd(t, map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9", "BEHALF_LOG_LEVEL": "loud"})
	if code != 1 || !strings.HasPrefix(errOut, "behalf lambda:") || !strings.Contains(errOut, "BEHALF_LOG_LEVEL") {
		t.Fatalf("bare start: %d %q", code, errOut)
	}
}

type fakeSecrets map[string]string

func (f fakeSecrets) SecretString(_ context.Context, arn string) (string, error) {
	if v, ok := f[arn]; ok {
		return v, nil
	}
	return "", errors.New("ResourceNotFoundException")
}

func TestLambdaSecretsFeedConfig(t *testing.T) {
	const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:behalf/session-keys-Ab12Cd"
	keys := "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
	env := lambdaEnv(t)
	delete(env, "BEHALF_SESSION_KEYS")
	env["BEHALF_SESSION_KEYS_SECRET_ARN"] = arn
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	lookup, err := lambdaSecrets(context.Background(), lookupIn(withTempStores(t, env)), environ,
		func(context.Context) (lambdahost.SecretSource, error) { return fakeSecrets{arn: keys}, nil })
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := lookup("BEHALF_SESSION_KEYS"); v != keys {
		t.Fatal("session keys were not read from Secrets Manager")
	}
	logs := &syncBuffer{}
	h, closeApp, err := newLambdaHandler(context.Background(), lookup, logs)
	if err != nil {
		t.Fatal(err)
	}
	defer closeApp(context.Background())
	// Sessions work only with the keys: logout clears the session cookies.
	if resp := httpResponse(t, h, apiEvent("GET", "/api/auth/logout", "", nil)); resp.StatusCode != http.StatusFound || len(resp.Cookies) == 0 {
		t.Fatalf("logout with keys from Secrets Manager: %d %s", resp.StatusCode, resp.Body)
	}
	if strings.Contains(logs.String(), keys) {
		t.Fatal("a secret reached the logs")
	}
	// A reference to a setting that is not a secret is refused.
	env["BEHALF_DATABRICKS_HOST_SECRET_ARN"] = arn
	environ = append(environ, "BEHALF_DATABRICKS_HOST_SECRET_ARN="+arn)
	if _, err := lambdaSecrets(context.Background(), func(k string) (string, bool) { v, ok := env[k]; return v, ok }, environ,
		func(context.Context) (lambdahost.SecretSource, error) { return fakeSecrets{}, nil }); err == nil {
		t.Fatal("a secret reference to a plain setting was accepted")
	}
}

// fakeRuntime is the Lambda Runtime API (2018-06-01) as the aws-lambda-go
// loop uses it: it hands out events and collects the answers.
type fakeRuntime struct {
	mu      sync.Mutex
	events  [][]byte
	answers map[string][]byte
	errs    map[string][]byte
	done    chan struct{}
	stop    chan struct{}
}

func (f *fakeRuntime) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const base = "/2018-06-01/runtime/invocation/"
	switch {
	case r.Method == http.MethodGet && r.URL.Path == base+"next":
		f.mu.Lock()
		if len(f.events) == 0 {
			f.mu.Unlock()
			select { // nothing more: hold the poll until the test ends
			case <-f.stop:
			case <-r.Context().Done():
			}
			return
		}
		ev := f.events[0]
		f.events = f.events[1:]
		id := fmt.Sprintf("req-%d", len(f.answers)+len(f.errs)+len(f.events))
		f.mu.Unlock()
		w.Header().Set("Lambda-Runtime-Aws-Request-Id", id)
		w.Header().Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(time.Now().Add(30*time.Second).UnixMilli()))
		w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:123456789012:function:behalf")
		_, _ = w.Write(ev)
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, base):
		rest := strings.TrimPrefix(r.URL.Path, base)
		id, kind, _ := strings.Cut(rest, "/")
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		if kind == "response" {
			f.answers[id] = b
		} else {
			f.errs[id] = b
		}
		if len(f.answers)+len(f.errs) == 2 {
			close(f.done)
		}
		f.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	default:
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
	}
}

// TestLambdaBootstrapAgainstRuntimeAPI starts this binary bare, as Lambda
// starts bootstrap, against a local Runtime API: it must pick Lambda mode
// by itself, answer an HTTP event and report an unknown event as an
// invocation error.
func TestLambdaBootstrapAgainstRuntimeAPI(t *testing.T) {
	health, _ := json.Marshal(apiEvent("GET", "/api/health", "", nil))
	rt := &fakeRuntime{events: [][]byte{health, []byte(`{"Records":[{"eventSource":"aws:sqs"}]}`)},
		answers: map[string][]byte{}, errs: map[string][]byte{}, done: make(chan struct{}), stop: make(chan struct{})}
	srv := httptest.NewServer(rt)
	defer srv.Close()
	defer close(rt.stop)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestLambdaBootstrapHelper$")
	cmd.Env = []string{"LAMBDA_TEST_HELPER=1", "AWS_LAMBDA_RUNTIME_API=" + strings.TrimPrefix(srv.URL, "http://"),
		"BEHALF_QUEUE_PATH=" + filepath.Join(t.TempDir(), "queue.db"), "HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	select {
	case <-rt.done:
	case <-ctx.Done():
		t.Fatalf("no answers from the bootstrap; output:\n%s", out.String())
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if len(rt.answers) != 1 || len(rt.errs) != 1 {
		t.Fatalf("answers %d, errors %d; output:\n%s", len(rt.answers), len(rt.errs), out.String())
	}
	for _, a := range rt.answers {
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(a, &resp); err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `"status"`) {
			t.Fatalf("health answer %s (%v)", a, err)
		}
	}
	for _, e := range rt.errs {
		if !bytes.Contains(e, []byte("unrecognised event")) {
			t.Fatalf("error answer %s", e)
		}
	}
}

// TestLambdaBootstrapHelper is the process TestLambdaBootstrapAgainstRuntimeAPI
// starts; run directly it has nothing to do.
func TestLambdaBootstrapHelper(t *testing.T) {
	if os.Getenv("LAMBDA_TEST_HELPER") != "1" {
		t.Skip("helper process of TestLambdaBootstrapAgainstRuntimeAPI; runs only when that test starts it")
	}
	os.Exit(run(context.Background(), nil, os.Stdout, os.Stderr, os.LookupEnv))
}
