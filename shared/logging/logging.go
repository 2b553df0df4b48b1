// Package logging builds behalf's structured logger: log/slog JSON with the
// request id of the current request on every line, and a redacting handler
// that removes credentials (authorization headers, cookies, tokens,
// assertions, secrets, anything shaped like a JWT) from every attribute
// before it is written. Redaction happens in the handler, not at call sites,
// so a careless log call cannot leak a token.
package logging

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// Redacted replaces a value that must never be logged.
const Redacted = "[REDACTED]"

// redactedJWT replaces JWT-shaped text inside otherwise harmless strings.
const redactedJWT = "[REDACTED-JWT]"

type ctxKey struct{}

// WithRequestID returns a context carrying the request id for log lines.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// RequestID returns the request id carried by ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// Config describes a logger.
type Config struct {
	Output io.Writer
	Level  slog.Leveler
	// Attrs are added to every line (e.g. the function app's version).
	Attrs []slog.Attr
}

// New returns a JSON logger with redaction and request ids.
func New(cfg Config) *slog.Logger {
	level := cfg.Level
	if level == nil {
		level = slog.LevelInfo
	}
	inner := slog.NewJSONHandler(cfg.Output, &slog.HandlerOptions{Level: level})
	var h slog.Handler = &Handler{inner: inner}
	if len(cfg.Attrs) > 0 {
		h = h.WithAttrs(cfg.Attrs)
	}
	return slog.New(h)
}

// ParseLevel turns debug|info|warn|error into a slog.Level.
func ParseLevel(s string) (slog.Level, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, true
	case "info", "":
		return slog.LevelInfo, true
	case "warn", "warning":
		return slog.LevelWarn, true
	case "error":
		return slog.LevelError, true
	}
	return slog.LevelInfo, false
}

// Handler is a slog.Handler that redacts secrets and adds the request id.
type Handler struct {
	inner slog.Handler
}

// NewHandler wraps any slog.Handler with redaction and request ids.
func NewHandler(inner slog.Handler) *Handler { return &Handler{inner: inner} }

// Enabled reports whether the inner handler logs at level.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

// Handle redacts the record and passes it on.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, RedactString(r.Message), r.PC)
	if id := RequestID(ctx); id != "" {
		out.AddAttrs(slog.String("request_id", id))
	}
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(RedactAttr(a))
		return true
	})
	return h.inner.Handle(ctx, out)
}

// WithAttrs redacts the attributes before handing them to the inner handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = RedactAttr(a)
	}
	return &Handler{inner: h.inner.WithAttrs(clean)}
}

// WithGroup opens a group on the inner handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{inner: h.inner.WithGroup(name)}
}

// sensitiveKey matches attribute keys whose values are credentials.
var sensitiveKey = regexp.MustCompile(`(?i)(authorization|cookie|token|assertion|secret|password|passwd|credential|api[-_]?key|client[-_]?secret|code[-_]?verifier|sig$|signature|x-functions-key|session)`)

// jwtShape matches compact JWS/JWE text: base64url header starting with
// "eyJ" ({" encoded) and at least two more dot-separated segments.
var jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)?`)

// bearerShape catches "Bearer <opaque token>" even when the token is not a JWT.
var bearerShape = regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}`)

// IsSensitiveKey reports whether values under this key are always redacted.
func IsSensitiveKey(key string) bool {
	if strings.EqualFold(key, "token_type") || strings.EqualFold(key, "session_id") {
		return false
	}
	return sensitiveKey.MatchString(key)
}

// RedactString removes JWT-shaped and bearer-shaped text from s.
func RedactString(s string) string {
	if strings.Contains(s, "eyJ") {
		s = jwtShape.ReplaceAllString(s, redactedJWT)
	}
	if bearerShape.MatchString(s) {
		s = bearerShape.ReplaceAllString(s, "$1 "+Redacted)
	}
	return s
}

// RedactAttr returns a with credentials removed, recursing into groups and
// resolving LogValuers first (so a value cannot smuggle a token through
// its LogValue).
func RedactAttr(a slog.Attr) slog.Attr {
	a.Value = a.Value.Resolve()
	if IsSensitiveKey(a.Key) {
		if a.Value.Kind() == slog.KindGroup {
			return slog.Attr{Key: a.Key, Value: redactGroup(a.Value.Group(), true)}
		}
		return slog.String(a.Key, Redacted)
	}
	switch a.Value.Kind() {
	case slog.KindString:
		return slog.String(a.Key, RedactString(a.Value.String()))
	case slog.KindGroup:
		return slog.Attr{Key: a.Key, Value: redactGroup(a.Value.Group(), false)}
	case slog.KindAny:
		switch v := a.Value.Any().(type) {
		case error:
			return slog.String(a.Key, RedactString(v.Error()))
		case []string:
			out := make([]string, len(v))
			for i, s := range v {
				out[i] = RedactString(s)
			}
			return slog.Any(a.Key, out)
		case map[string][]string:
			return slog.Any(a.Key, redactHeaderMap(v))
		case http.Header:
			return slog.Any(a.Key, redactHeaderMap(v))
		case url.Values:
			return slog.Any(a.Key, redactHeaderMap(v))
		default:
			// Unknown values are rendered to text so that nothing reaches
			// the JSON encoder unredacted.
			return slog.String(a.Key, RedactString(slog.AnyValue(v).String()))
		}
	}
	return a
}

func redactGroup(attrs []slog.Attr, all bool) slog.Value {
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		if all {
			out[i] = slog.String(a.Key, Redacted)
			continue
		}
		out[i] = RedactAttr(a)
	}
	return slog.GroupValue(out...)
}

func redactHeaderMap(m map[string][]string) map[string][]string {
	out := make(map[string][]string, len(m))
	for k, vs := range m {
		if IsSensitiveKey(k) {
			out[k] = []string{Redacted}
			continue
		}
		c := make([]string, len(vs))
		for i, v := range vs {
			c[i] = RedactString(v)
		}
		out[k] = c
	}
	return out
}
