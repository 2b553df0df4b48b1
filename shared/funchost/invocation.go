package funchost

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/behalf-dev/behalf/shared/logging"
)

// Invocation is the host's request body for non-forwarded functions.
type Invocation struct {
	Data     map[string]json.RawMessage `json:"Data"`
	Metadata map[string]json.RawMessage `json:"Metadata"`
}

// InvocationResult is what the handler answers. Outputs holds one entry per
// output binding; Logs go to the invocation log.
type InvocationResult struct {
	Outputs     map[string]any `json:"Outputs"`
	Logs        []string       `json:"Logs"`
	ReturnValue any            `json:"ReturnValue"`
}

// InvocationHandler handles one invocation. Returning an error makes the
// host treat the invocation as failed (a queue message is abandoned and
// redelivered; a timer waits for its next tick).
type InvocationHandler func(ctx context.Context, inv *Invocation) (*InvocationResult, error)

// maxInvocationBytes bounds an invocation body: a Service Bus message is at
// most 256 KiB (standard) or 100 MiB (premium); behalf's own messages are
// small, so anything bigger is refused rather than buffered.
const maxInvocationBytes = 4 << 20

func invocationHTTPHandler(name string, h InvocationHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		inv, err := ReadInvocation(io.LimitReader(r.Body, maxInvocationBytes+1))
		if err != nil {
			writeInvocationFailure(ctx, w, name, fmt.Errorf("decode invocation: %w", err))
			return
		}
		res, err := h(ctx, inv)
		if err != nil {
			writeInvocationFailure(ctx, w, name, err)
			return
		}
		if res == nil {
			res = &InvocationResult{}
		}
		writeInvocationResult(w, http.StatusOK, res)
	})
}

// ReadInvocation decodes an invocation body.
func ReadInvocation(r io.Reader) (*Invocation, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if len(b) > maxInvocationBytes {
		return nil, fmt.Errorf("invocation body larger than %d bytes", maxInvocationBytes)
	}
	var inv Invocation
	if err := json.Unmarshal(b, &inv); err != nil {
		return nil, err
	}
	if inv.Data == nil {
		return nil, errors.New(`invocation has no "Data"`)
	}
	return &inv, nil
}

// writeInvocationResult always sends application/json: the host fails an
// invocation whose answer is not JSON, and Go would sniff text/plain.
func writeInvocationResult(w http.ResponseWriter, status int, res *InvocationResult) {
	if res.Outputs == nil {
		res.Outputs = map[string]any{}
	}
	if res.Logs == nil {
		res.Logs = []string{}
	}
	b, err := json.Marshal(res)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"Outputs":{},"Logs":["result could not be encoded"],"ReturnValue":null}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeInvocationFailure(ctx context.Context, w http.ResponseWriter, name string, err error) {
	slog.Default().ErrorContext(ctx, "invocation failed", "function", name, "err", err)
	msg := logging.RedactString(fmt.Sprintf("%s failed (request %s): %v", name, logging.RequestID(ctx), err))
	writeInvocationResult(w, http.StatusInternalServerError, &InvocationResult{Logs: []string{msg}})
}

// OutputString encodes v for a queue output binding: JSON text, which the
// host's base64 probe can never mistake for bytes.
func OutputString(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// decodeString reads a host-encoded string: a JSON string whose content may
// itself be a quoted JSON string (the host serializes strings twice).
func decodeString(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("want a JSON string: %w", err)
	}
	var inner string
	if len(s) > 1 && s[0] == '"' && json.Unmarshal([]byte(s), &inner) == nil {
		return inner, nil
	}
	return s, nil
}

// decodeInt reads a number sent as a string ("1") or as a JSON number.
func decodeInt(raw json.RawMessage) (int64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.Int64()
	}
	s, err := decodeString(raw)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(s), 10, 64)
}

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05-07:00", "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05", "01/02/2006 15:04:05"}

// decodeTime reads a time stamp in any of the host's forms; stamps without
// a zone are UTC (the host drops the zone of DateTime values).
func decodeTime(raw json.RawMessage) (time.Time, error) {
	s, err := decodeString(raw)
	if err != nil || s == "" {
		return time.Time{}, err
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised time %q", s)
}

// decodeBytes reads a trigger body: a string (possibly double-encoded) or,
// for dataType binary, base64.
func decodeBytes(raw json.RawMessage, binary bool) ([]byte, error) {
	s, err := decodeString(raw)
	if err != nil {
		// A JSON object body is delivered as an object by some hosts.
		if len(raw) > 0 && (raw[0] == '{' || raw[0] == '[') {
			return []byte(raw), nil
		}
		return nil, err
	}
	if binary {
		return base64.StdEncoding.DecodeString(s)
	}
	return []byte(s), nil
}
