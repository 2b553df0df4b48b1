package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/behalf-dev/behalf/shared/logging"
)

// RequestIDHeader carries the request id on every response.
const RequestIDHeader = "X-Request-Id"

var (
	safeRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)
	traceparent   = regexp.MustCompile(`^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$`)
)

// RequestIDFrom picks the request id: a well-formed x-request-id, else the
// trace id of a W3C traceparent, else a new random id. Caller-supplied ids
// are checked so that they cannot inject text into logs.
func RequestIDFrom(r *http.Request) string {
	if id := r.Header.Get(RequestIDHeader); safeRequestID.MatchString(id) {
		return id
	}
	if m := traceparent.FindStringSubmatch(strings.ToLower(r.Header.Get("traceparent"))); m != nil && m[1] != strings.Repeat("0", 32) {
		return m[1]
	}
	return NewID()
}

// NewID returns 16 random bytes in hex.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Limits bound what a request may cost.
type Limits struct {
	MaxBodyBytes int64
}

// Chain wraps h with the edge behaviour every function shares, outermost
// first: request id, access log, panic recovery, security headers, body
// limit.
func Chain(h http.Handler, lim Limits) http.Handler {
	h = bodyLimit(h, lim.MaxBodyBytes)
	h = securityHeaders(h)
	h = recoverPanics(h)
	h = accessLog(h)
	return requestID(h)
}

func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := RequestIDFrom(r)
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(logging.WithRequestID(r.Context(), id)))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		// Only the path is logged: query strings can hold codes and states.
		slog.Default().LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Int64("bytes", rec.bytes),
			slog.Int64("latency_ms", time.Since(start).Milliseconds()),
			slog.String("invocation_id", r.Header.Get("X-Azure-Functions-InvocationId")),
		)
	})
}

func recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			// The panic value and stack are logged redacted; the caller only
			// sees the request id.
			slog.Default().ErrorContext(r.Context(), "panic recovered", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			WriteError(w, r, &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error; quote the request id when reporting it"})
		}()
		next.ServeHTTP(w, r)
	})
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

func bodyLimit(next http.Handler, max int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if max > 0 {
			if r.ContentLength > max {
				WriteError(w, r, Errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "request body is larger than %d bytes", max))
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, max)
		}
		next.ServeHTTP(w, r)
	})
}
