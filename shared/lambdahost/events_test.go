package lambdahost

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

const scheduledEvent = `{"version":"0","id":"0d9e5c2a-1111-4e5b-8c33-0e0c5f2a9d01","detail-type":"Scheduled Event","source":"aws.events",
 "account":"123456789012","time":"2025-03-02T02:00:00Z","region":"eu-west-1",
 "resources":["arn:aws:events:eu-west-1:123456789012:rule/behalf-prod-audit-export"],"detail":{}}`

func TestLambdaClassify(t *testing.T) {
	fixture := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	cases := []struct {
		name    string
		payload string
		want    Kind
	}{
		{"http api", fixture("apigw-v2-request-no-authorizer.json"), KindHTTP},
		{"http api with jwt authorizer", fixture("apigw-v2-request-jwt-authorizer.json"), KindHTTP},
		{"function url", fixture("lambda-urls-request.json"), KindHTTP},
		{"scheduled event", scheduledEvent, KindSchedule},
		{"payload format 1.0", `{"version":"1.0","httpMethod":"GET","path":"/","requestContext":{}}`, 0},
		{"rest api", `{"resource":"/","httpMethod":"GET","requestContext":{"stage":"prod"}}`, 0},
		{"other eventbridge event", `{"detail-type":"EC2 Instance State-change Notification","source":"aws.ec2"}`, 0},
		{"sqs", `{"Records":[{"eventSource":"aws:sqs","body":"x"}]}`, 0},
		{"not json", `hello`, 0},
		{"array", `[]`, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Classify([]byte(c.payload))
			if c.want == 0 {
				if !errors.Is(err, ErrUnknownEvent) {
					t.Fatalf("got %v, %v; want ErrUnknownEvent", got, err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %v, %v; want %v", got, err, c.want)
			}
		})
	}
	big := make([]byte, MaxEventBytes+1)
	if _, err := Classify(big); !errors.Is(err, ErrUnknownEvent) {
		t.Fatalf("oversized event: %v", err)
	}
}

func TestLambdaRuleName(t *testing.T) {
	cases := map[string]string{
		"arn:aws:events:eu-west-1:123456789012:rule/audit-export":              "audit-export",
		"arn:aws:events:eu-west-1:123456789012:rule/behalf-prod-audit-writer":  "behalf-prod-audit-writer",
		"arn:aws:events:eu-west-1:123456789012:rule/custom-bus/behalf-sql-exp": "behalf-sql-exp",
		"arn:aws-cn:events:cn-north-1:123456789012:rule/audit-export":          "audit-export",
	}
	for arn, want := range cases {
		if got, err := RuleName(arn); err != nil || got != want {
			t.Errorf("RuleName(%q) = %q, %v; want %q", arn, got, err, want)
		}
	}
	for _, bad := range []string{"", "audit-export", "arn:aws:sqs:eu-west-1:1:rule/x", "arn:aws:events:eu-west-1:1:bus/x", "arn:aws:events:eu-west-1:1:rule/"} {
		if _, err := RuleName(bad); err == nil {
			t.Errorf("RuleName(%q) accepted", bad)
		}
	}
}

func TestLambdaMatchRule(t *testing.T) {
	fns := []string{"audit-writer", "audit-export", "export", "sql-expire"}
	cases := map[string]string{
		"audit-export":             "audit-export",
		"behalf-prod-audit-export": "audit-export",
		"behalf-export":            "export",
		"behalf-dev-sql-expire":    "sql-expire",
		"behalf-audit-writerx":     "",
		"audit-writer-behalf":      "",
		"xaudit-writer":            "",
	}
	for rule, want := range cases {
		got, ok := MatchRule(rule, fns)
		if got != want || ok != (want != "") {
			t.Errorf("MatchRule(%q) = %q, %v; want %q", rule, got, ok, want)
		}
	}
}

// FuzzEvent: no payload makes classification or request conversion
// panic, and a request that converts has a path the app can route.
func FuzzEvent(f *testing.F) {
	for _, name := range []string{"apigw-v2-request-no-authorizer.json", "apigw-v2-request-jwt-authorizer.json", "lambda-urls-request.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(scheduledEvent))
	f.Add([]byte(`{"version":"2.0","rawPath":"/api/%zz","requestContext":{"http":{"method":"GET"}}}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		kind, err := Classify(payload)
		if err != nil || kind != KindHTTP {
			return
		}
		var ev events.APIGatewayV2HTTPRequest
		if json.Unmarshal(payload, &ev) != nil {
			return
		}
		r, err := NewRequest(context.Background(), &ev)
		if err != nil {
			return
		}
		if r.URL.Path == "" || r.URL.Path[0] != '/' || r.Method == "" {
			t.Fatalf("converted request has path %q method %q", r.URL.Path, r.Method)
		}
	})
}
