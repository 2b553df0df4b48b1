package lambdahost

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Kind is the shape of a Lambda event.
type Kind int

// The event shapes behalf's Lambda function accepts.
const (
	// KindHTTP is an API Gateway HTTP API (payload format 2.0) or Function
	// URL request.
	KindHTTP Kind = iota + 1
	// KindSchedule is an EventBridge rule's "Scheduled Event".
	KindSchedule
)

func (k Kind) String() string {
	switch k {
	case KindHTTP:
		return "http"
	case KindSchedule:
		return "schedule"
	}
	return "unknown"
}

// MaxEventBytes bounds an event: Lambda accepts at most 6 MB for a
// synchronous invocation and 1 MB for an asynchronous one.
const MaxEventBytes = 6 << 20

// ErrUnknownEvent is returned for an event that is neither an HTTP request
// nor a scheduled event. Other integrations (SQS, API Gateway REST payload
// 1.0, S3, ...) are refused rather than guessed at.
var ErrUnknownEvent = errors.New("lambdahost: unrecognised event")

// probe holds the fields that tell the shapes apart.
type probe struct {
	Version        string `json:"version"`
	RequestContext *struct {
		HTTP *struct {
			Method string `json:"method"`
		} `json:"http"`
	} `json:"requestContext"`
	DetailType string   `json:"detail-type"`
	Source     string   `json:"source"`
	Resources  []string `json:"resources"`
}

// Classify tells which kind of event payload is.
func Classify(payload []byte) (Kind, error) {
	if len(payload) > MaxEventBytes {
		return 0, fmt.Errorf("%w: %d bytes is more than %d", ErrUnknownEvent, len(payload), MaxEventBytes)
	}
	var p probe
	if err := json.Unmarshal(payload, &p); err != nil {
		return 0, fmt.Errorf("%w: not a JSON object: %v", ErrUnknownEvent, err)
	}
	switch {
	case p.Version == "2.0" && p.RequestContext != nil && p.RequestContext.HTTP != nil && p.RequestContext.HTTP.Method != "":
		return KindHTTP, nil
	case p.DetailType == "Scheduled Event" && p.Source == "aws.events":
		return KindSchedule, nil
	case p.Version == "1.0" || (p.RequestContext != nil && p.RequestContext.HTTP == nil):
		return 0, fmt.Errorf("%w: API Gateway payload format 1.0; configure the integration with PayloadFormatVersion 2.0", ErrUnknownEvent)
	}
	return 0, ErrUnknownEvent
}

// RuleName returns the EventBridge rule name from a rule ARN:
// arn:aws:events:REGION:ACCOUNT:rule/NAME, or rule/BUS/NAME for rules on a
// custom event bus.
func RuleName(arn string) (string, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "events" {
		return "", fmt.Errorf("lambdahost: %q is not an EventBridge rule ARN", arn)
	}
	res, ok := strings.CutPrefix(parts[5], "rule/")
	if !ok {
		return "", fmt.Errorf("lambdahost: %q is not an EventBridge rule ARN", arn)
	}
	name := res[strings.LastIndexByte(res, '/')+1:]
	if name == "" || len(name) > 64 {
		return "", fmt.Errorf("lambdahost: rule ARN %q has no valid rule name", arn)
	}
	return name, nil
}

// MatchRule finds the function a schedule rule runs: the rule is named
// after the function, optionally with a prefix ending in "-" (the stack
// name, so that several deployments share a region): "audit-export" and
// "behalf-prod-audit-export" both run audit-export. The longest matching
// function name wins, so "export" never shadows "audit-export".
func MatchRule(rule string, functions []string) (string, bool) {
	best := ""
	for _, fn := range functions {
		if fn == "" {
			continue
		}
		if (rule == fn || strings.HasSuffix(rule, "-"+fn)) && len(fn) > len(best) {
			best = fn
		}
	}
	return best, best != ""
}
