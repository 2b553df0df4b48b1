package httpapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/behalf-dev/behalf/shared/logging"
)

func TestRequestIDFrom(t *testing.T) {
	cases := []struct {
		name    string
		headers map[string]string
		want    string // "" means: a fresh random id
	}{
		{"x-request-id", map[string]string{"X-Request-Id": "abc-123"}, "abc-123"},
		{"traceparent", map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}, "4bf92f3577b34da6a3ce929d0e0e4736"},
		{"x-request-id wins", map[string]string{"X-Request-Id": "mine", "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}, "mine"},
		{"log injection refused", map[string]string{"X-Request-Id": "a\nlevel=ERROR"}, ""},
		{"zero trace id refused", map[string]string{"traceparent": "00-00000000000000000000000000000000-00f067aa0ba902b7-01"}, ""},
		{"none", nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			got := RequestIDFrom(r)
			if tc.want != "" && got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if tc.want == "" && len(got) != 32 {
				t.Fatalf("want a generated id, got %q", got)
			}
		})
	}
}

func TestPanicBecomes500WithoutSecrets(t *testing.T) {
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(logging.New(logging.Config{Output: &logs}))
	defer slog.SetDefault(prev)

	const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlZGF0YQ"
	h := Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic("failed with token " + r.Header.Get("Authorization"))
	}), Limits{MaxBodyBytes: 1024})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/api/x", nil)
	req.Header.Set("Authorization", "Bearer "+jwt)
	h.ServeHTTP(rec, req)
	if rec.Code != 500 {
		t.Fatalf("status %d", rec.Code)
	}
	var body Body
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body.Error.Code != CodeInternal || body.Error.RequestID == "" || body.Error.RequestID != rec.Header().Get(RequestIDHeader) {
		t.Fatalf("body %+v", body)
	}
	if strings.Contains(rec.Body.String()+logs.String(), jwt) {
		t.Fatalf("token leaked:\n%s\n%s", rec.Body.String(), logs.String())
	}
	if !strings.Contains(logs.String(), "panic recovered") {
		t.Fatal("panic not logged")
	}
}

func TestWriteErrorShape(t *testing.T) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil).WithContext(logging.WithRequestID(t.Context(), "rid"))
	WriteError(rec, req, &Error{Status: 429, Code: CodeRateLimited, Message: "slow down", RetryAfter: 1500 * time.Millisecond})
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "2" {
		t.Fatalf("status %d retry-after %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	want := `{"error":{"code":"RATE_LIMITED","message":"slow down","request_id":"rid","retry_after_ms":1500}}`
	if strings.TrimSpace(rec.Body.String()) != want {
		t.Fatalf("body %s", rec.Body.String())
	}
}

func TestDecodeJSON(t *testing.T) {
	type in struct {
		Question string `json:"question"`
	}
	cases := []struct {
		name, ct, body string
		code           Code
	}{
		{"ok", "application/json", `{"question":"hi"}`, ""},
		{"no content type is tolerated", "", `{"question":"hi"}`, ""},
		{"unknown field", "application/json", `{"questoin":"hi"}`, CodeInvalidJSON},
		{"two objects", "application/json", `{"question":"a"}{"question":"b"}`, CodeInvalidJSON},
		{"empty", "application/json", ``, CodeInvalidJSON},
		{"wrong type", "application/json", `{"question":1}`, CodeInvalidJSON},
		{"form", "application/x-www-form-urlencoded", `question=hi`, CodeUnsupportedMedia},
		{"too big", "application/json", `{"question":"` + strings.Repeat("x", 2000) + `"}`, CodeBodyTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got Code
			h := Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var v in
				if err := DecodeJSON(r, &v); err != nil {
					var e *Error
					if ok := asError(err, &e); ok {
						got = e.Code
					}
					WriteError(w, r, err)
					return
				}
				w.WriteHeader(204)
			}), Limits{MaxBodyBytes: 1024})
			req := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
			req.ContentLength = -1 // exercise the streaming limit, not the header check
			if tc.ct != "" {
				req.Header.Set("Content-Type", tc.ct)
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			if got != tc.code {
				t.Fatalf("code %q, want %q", got, tc.code)
			}
		})
	}
}

func asError(err error, target **Error) bool {
	e, ok := err.(*Error)
	if ok {
		*target = e
	}
	return ok
}
