// Package httpapi is the HTTP edge shared by every behalf function: one JSON
// error shape with stable codes, request ids, panic recovery, body limits,
// security headers and the JSON helpers handlers use to decode requests and
// encode answers. Domain packages never import it; function folders do.
package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/behalf-dev/behalf/shared/logging"
)

// Code is a stable, documented error code. Clients branch on it; its text
// never changes once released.
type Code string

// Stable error codes (documented in README.md).
const (
	CodeBadRequest         Code = "BAD_REQUEST"
	CodeInvalidJSON        Code = "INVALID_JSON"
	CodeBodyTooLarge       Code = "BODY_TOO_LARGE"
	CodeUnsupportedMedia   Code = "UNSUPPORTED_MEDIA_TYPE"
	CodeNotFound           Code = "NOT_FOUND"
	CodeMethodNotAllowed   Code = "METHOD_NOT_ALLOWED"
	CodeUnauthenticated    Code = "UNAUTHENTICATED"
	CodeInsufficientClaims Code = "INSUFFICIENT_CLAIMS"
	CodePermissionDenied   Code = "PERMISSION_DENIED"
	CodeConflict           Code = "CONFLICT"
	CodeRateLimited        Code = "RATE_LIMITED"
	CodeUpstreamFailed     Code = "UPSTREAM_FAILED"
	CodeUnavailable        Code = "UNAVAILABLE"
	CodeTimeout            Code = "TIMEOUT"
	CodeInternal           Code = "INTERNAL"
)

// Error is an error that knows how it is shown to a caller. Message is
// written for the caller and must never contain a token or secret.
type Error struct {
	Status     int
	Code       Code
	Message    string
	RetryAfter time.Duration
	// Header is added to the response (e.g. WWW-Authenticate, Allow).
	Header http.Header
	// Err is the underlying cause; it is logged (redacted), never shown.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error.
func Errorf(status int, code Code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Body is the JSON error body: {"error": {...}}.
type Body struct {
	Error BodyError `json:"error"`
}

// BodyError is the inside of the error body.
type BodyError struct {
	Code         Code   `json:"code"`
	Message      string `json:"message"`
	RequestID    string `json:"request_id"`
	RetryAfterMS int64  `json:"retry_after_ms,omitempty"`
}

// WriteError writes err as the JSON error shape. Errors that are not an
// *Error become a 500 with a generic message; their text is only logged.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error; quote the request id when reporting it", Err: err}
	}
	ctx := r.Context()
	id := logging.RequestID(ctx)
	level := slog.LevelInfo
	if e.Status >= 500 {
		level = slog.LevelError
	}
	attrs := []any{"status", e.Status, "code", string(e.Code)}
	if e.Err != nil {
		attrs = append(attrs, "cause", e.Err)
	}
	slog.Default().Log(ctx, level, "request failed: "+e.Message, attrs...)

	h := w.Header()
	for k, vs := range e.Header {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	// Messages are written for callers and should never hold a credential;
	// redacting them again is a second line of defence.
	body := Body{Error: BodyError{Code: e.Code, Message: logging.RedactString(e.Message), RequestID: id}}
	if e.RetryAfter > 0 {
		body.Error.RetryAfterMS = e.RetryAfter.Milliseconds()
		secs := int((e.RetryAfter + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.Itoa(secs))
	}
	WriteJSON(w, e.Status, body)
}

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"INTERNAL","message":"response could not be encoded","request_id":""}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
