package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/behalf-dev/behalf/shared/audit/sqlitestore"
)

// syncBuffer is a concurrency-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startServe runs `behalf serve` in-process with env and waits until it
// answers, as the Functions host does.
func startServe(t *testing.T, env map[string]string) (base string, logs *syncBuffer) {
	t.Helper()
	logs = &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	lookup := lookupIn(withTempStores(t, env))
	go func() { done <- run(ctx, []string{"serve"}, logs, logs, lookup) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited %d; logs:\n%s", code, logs)
			}
		case <-time.After(40 * time.Second):
			t.Error("serve did not shut down")
		}
	})
	port := env["FUNCTIONS_CUSTOMHANDLER_PORT"]
	if port == "" {
		port = env["PORT"]
	}
	base = "http://127.0.0.1:" + port
	for i := 0; i < 200; i++ {
		if resp, err := http.Get(base + "/"); err == nil {
			resp.Body.Close()
			return base, logs
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("serve did not start; logs:\n%s", logs)
	return "", nil
}

func TestServeListensOnCustomHandlerPort(t *testing.T) {
	port := freePort(t)
	other := freePort(t)
	base, _ := startServe(t, map[string]string{"FUNCTIONS_CUSTOMHANDLER_PORT": strconv.Itoa(port), "PORT": strconv.Itoa(other)})
	resp, err := http.Get(base + "/api/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status    string `json:"status"`
		RequestID string `json:"request_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || body.Status != "ok" || body.RequestID == "" || resp.Header.Get("X-Request-Id") != body.RequestID {
		t.Fatalf("health: %d %+v header %q", resp.StatusCode, body, resp.Header.Get("X-Request-Id"))
	}
	if _, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/health", other)); err == nil {
		t.Fatal("PORT was used although FUNCTIONS_CUSTOMHANDLER_PORT is set")
	}
}

func TestServeFallsBackToPORT(t *testing.T) {
	port := freePort(t)
	base, _ := startServe(t, map[string]string{"PORT": strconv.Itoa(port)})
	resp, err := http.Get(base + "/api/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

const testJWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.eyJhdWQiOiJiZWhhbGYiLCJvaWQiOiJ3ZW5keSJ9.bm90LWEtcmVhbC1zaWduYXR1cmUtYnV0LWxvbmctZW5vdWdo"

// TestNoTokenReachesTheLogs sends requests carrying a JWT in every place a
// client might put one and proves the token text appears in no log line,
// while every request's log lines carry its request id.
func TestNoTokenReachesTheLogs(t *testing.T) {
	base, logs := startServe(t, map[string]string{"FUNCTIONS_CUSTOMHANDLER_PORT": strconv.Itoa(freePort(t))})
	reqs := []struct {
		method, path, body string
	}{
		{"GET", "/api/health?access_token=" + testJWT, ""},
		{"POST", "/api/health", `{"token":"` + testJWT + `"}`},
		{"GET", "/api/unknown/" + testJWT, ""},
		{"DELETE", "/api/health", ""},
	}
	for i, r := range reqs {
		req, _ := http.NewRequest(r.method, base+r.path, strings.NewReader(r.body))
		req.Header.Set("Authorization", "Bearer "+testJWT)
		req.Header.Set("Cookie", "behalf_session="+testJWT)
		req.Header.Set("X-Forwarded-Access-Token", testJWT)
		req.Header.Set("X-Request-Id", fmt.Sprintf("redaction-%d", i))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), testJWT) {
			t.Errorf("%s %s: response echoes the token: %s", r.method, r.path, b)
		}
	}
	out := logs.String()
	if strings.Contains(out, testJWT) || strings.Contains(out, "bm90LWEtcmVhbC1zaWduYXR1cmU") {
		t.Fatalf("token text reached the logs:\n%s", out)
	}
	for i := range reqs {
		if !strings.Contains(out, fmt.Sprintf(`"request_id":"redaction-%d"`, i)) {
			t.Errorf("no log line carries request id redaction-%d", i)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if m["msg"] == "request" && m["request_id"] == nil {
			t.Errorf("request log line without request id: %s", line)
		}
	}
}

// TestStandaloneServeDrivesItsOwnTriggers: without the Functions host,
// behalf serve delivers its own audit queue to audit-writer (the local
// trigger driver), so the trail fills in the embedded store; under the
// host (FUNCTIONS_CUSTOMHANDLER_PORT set) it leaves that to the host.
func TestStandaloneServeDrivesItsOwnTriggers(t *testing.T) {
	for _, c := range []struct {
		name   string
		port   string
		stored bool
	}{{"standalone", "PORT", true}, {"under the Functions host", "FUNCTIONS_CUSTOMHANDLER_PORT", false}} {
		t.Run(c.name, func(t *testing.T) {
			env := withTempStores(t, map[string]string{c.port: strconv.Itoa(freePort(t)), "BEHALF_AUDIT_FLUSH_INTERVAL": "20ms"})
			base, logs := startServe(t, env)
			// Identity is not configured: the request is refused, and recorded.
			resp, err := http.Post(base+"/api/genie-query", "application/json", strings.NewReader(`{"question":"q"}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			// Eight seconds for the record to arrive; two are plenty to see
			// that no driver is at work.
			wait := 2 * time.Second
			if c.stored {
				wait = 8 * time.Second
			}
			stored := false
			for deadline := time.Now().Add(wait); time.Now().Before(deadline) && !stored; time.Sleep(100 * time.Millisecond) {
				stored = fileHasRecords(t, env["BEHALF_AUDIT_SQLITE_PATH"])
			}
			if stored != c.stored {
				t.Fatalf("audit records stored: %v, want %v; logs:\n%s", stored, c.stored, logs)
			}
		})
	}
}

// fileHasRecords reports whether the embedded audit store holds a record.
func fileHasRecords(t *testing.T, path string) bool {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		return false
	}
	st, err := sqlitestore.Open(context.Background(), sqlitestore.Config{Path: path, ReadOnly: true})
	if err != nil {
		return false
	}
	defer st.Close()
	h, err := st.Head(context.Background())
	return err == nil && h.Seq > 0
}
