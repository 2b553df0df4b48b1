//go:build devstack

package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDevStackServesHealth runs `behalf dev` (what `make run` starts) and
// checks that it prints what runs where and answers /api/health.
func TestDevStackServesHealth(t *testing.T) {
	port := freePort(t)
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"dev", "--addr", "127.0.0.1:" + strconv.Itoa(port), "--data-dir", t.TempDir(), "--databricks-addr", "127.0.0.1:0", "--entra-addr", "127.0.0.1:0", "--teams-addr", "127.0.0.1:0"}, out, out, func(string) (string, bool) { return "", false })
	}()
	defer func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("behalf dev exited %d:\n%s", code, out)
			}
		case <-time.After(40 * time.Second):
			t.Error("behalf dev did not stop")
		}
	}()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "dev stack is running") {
		if time.Now().After(deadline) {
			t.Fatalf("no banner:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{"Entra ID", "https://127.0.0.1:", "/7d3e2a10-5b1c-4c8e-9f00-0000000d3e10", "demo people", "wendy.west@contoso.example", "april.approver@contoso.example", "paula@partner.example"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the banner lacks %q:\n%s", want, out)
		}
	}
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/api/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || body["request_id"] == "" || resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("health %d %v", resp.StatusCode, body)
	}
}
