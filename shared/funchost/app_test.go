package funchost

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/behalf-dev/behalf/shared/httpapi"
)

func TestMuxPatterns(t *testing.T) {
	cases := []struct {
		route, want string
		wantErr     bool
	}{
		{"health", "/api/health", false},
		{"sql-approve/{op_id}", "/api/sql-approve/{op_id}", false},
		{"genie-query/{conversation_id:guid}/{message_id}", "/api/genie-query/{conversation_id}/{message_id}", false},
		{"auth/{*rest}", "/api/auth/{rest...} /api/auth", false},
		{"a/{*rest}/b", "", true},
		{"a/{id?}", "", true},
		{"a/{id", "", true},
	}
	for _, tc := range cases {
		ps, err := MuxPatterns(tc.route)
		got := strings.Join(ps, " ")
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("MuxPatterns(%q) = %q, %v; want %q, err %v", tc.route, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestAppRouting(t *testing.T) {
	app := &App{}
	app.AddHTTP(HTTPFunction{Name: "echo", Route: "echo/{id}", Methods: []string{"GET", "POST"}, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id")})
	})})
	h, err := app.Handler(httpapi.Limits{MaxBodyBytes: 16})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		method, path, body string
		status             int
		code               httpapi.Code
		allow              string
	}{
		{"GET", "/api/echo/42", "", 200, "", ""},
		{"HEAD", "/api/echo/42", "", 200, "", ""},
		{"DELETE", "/api/echo/42", "", 405, httpapi.CodeMethodNotAllowed, "GET, POST, HEAD"},
		{"GET", "/api/nothing", "", 404, httpapi.CodeNotFound, ""},
		{"GET", "/", "", 404, httpapi.CodeNotFound, ""}, // the host's readiness probe: any answer will do
		{"POST", "/api/echo/1", strings.Repeat("x", 64), 413, httpapi.CodeBodyTooLarge, ""},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			req.Header.Set("X-Request-Id", "rid-1")
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if rec.Header().Get("X-Request-Id") != "rid-1" {
				t.Fatal("request id not echoed")
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Fatal("security headers missing")
			}
			if tc.allow != "" && rec.Header().Get("Allow") != tc.allow {
				t.Fatalf("Allow %q, want %q", rec.Header().Get("Allow"), tc.allow)
			}
			if tc.code != "" {
				var body httpapi.Body
				b, _ := io.ReadAll(rec.Body)
				if err := json.Unmarshal(b, &body); err != nil {
					t.Fatalf("error body not JSON: %s", b)
				}
				if body.Error.Code != tc.code || body.Error.RequestID != "rid-1" {
					t.Fatalf("error body %+v", body.Error)
				}
			}
		})
	}
}
