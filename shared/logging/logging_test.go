package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

const sampleJWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ3ZW5keSIsImF1ZCI6ImJlaGFsZiJ9.c2lnbmF0dXJlLWJ5dGVz"

type leaky struct{}

func (leaky) LogValue() slog.Value { return slog.StringValue("token=" + sampleJWT) }

func TestRedactionRemovesCredentials(t *testing.T) {
	var buf bytes.Buffer
	log := New(Config{Output: &buf, Level: slog.LevelDebug})
	ctx := WithRequestID(context.Background(), "req-123")
	hdr := http.Header{"Authorization": {"Bearer " + sampleJWT}, "Cookie": {"behalf_session=abc"}, "Accept": {"application/json"}}

	cases := []struct {
		name string
		log  func()
	}{
		{"authorization key", func() { log.InfoContext(ctx, "x", "authorization", "Bearer "+sampleJWT) }},
		{"header map", func() { log.InfoContext(ctx, "x", "headers", hdr) }},
		{"jwt inside message", func() { log.InfoContext(ctx, "got "+sampleJWT) }},
		{"jwt in plain attr", func() { log.InfoContext(ctx, "x", "detail", "assert="+sampleJWT+" end") }},
		{"error text", func() { log.ErrorContext(ctx, "x", "err", errors.New("invalid token "+sampleJWT)) }},
		{"group", func() {
			log.InfoContext(ctx, "x", slog.Group("req", "access_token", "opaque-value-123", "path", "/api"))
		}},
		{"with attrs", func() { log.With("client_secret", "s3cr3t-value").InfoContext(ctx, "x") }},
		{"log valuer", func() { log.InfoContext(ctx, "x", "v", leaky{}) }},
		{"opaque bearer", func() { log.InfoContext(ctx, "x", "line", "Authorization: Bearer dapi0123456789abcdef") }},
		{"cookie key", func() { log.InfoContext(ctx, "x", "set-cookie", "behalf_session=abc; HttpOnly") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			buf.Reset()
			tc.log()
			line := buf.String()
			for _, secret := range []string{sampleJWT, "s3cr3t-value", "opaque-value-123", "dapi0123456789abcdef", "behalf_session=abc"} {
				if strings.Contains(line, secret) {
					t.Fatalf("secret %q leaked into %s", secret, line)
				}
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("not JSON: %v: %s", err, line)
			}
			if m["request_id"] != "req-123" {
				t.Fatalf("request_id missing: %s", line)
			}
		})
	}
}

func TestRedactionKeepsHarmlessValues(t *testing.T) {
	var buf bytes.Buffer
	log := New(Config{Output: &buf})
	log.Info("served", "path", "/api/health", "status", 200, "token_type", "Bearer")
	for _, want := range []string{`"path":"/api/health"`, `"status":200`, `"token_type":"Bearer"`} {
		if !strings.Contains(buf.String(), want) {
			t.Fatalf("%s missing from %s", want, buf.String())
		}
	}
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{"debug": slog.LevelDebug, "INFO": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError} {
		got, ok := ParseLevel(in)
		if !ok || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v", in, got, ok)
		}
	}
	if _, ok := ParseLevel("loud"); ok {
		t.Error("unknown level accepted")
	}
}
