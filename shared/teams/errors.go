package teams

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Kinds of post failure, for errors.Is on a *PostError.
var (
	// ErrWebhookRejected: the webhook answered with a status that retrying
	// will not change (400, 401, 403, 404, 413, a redirect, ...), or its
	// TLS certificate did not verify.
	ErrWebhookRejected = errors.New("teams: webhook rejected the message")
	// ErrWebhookUnavailable: the message could not be delivered within the
	// attempt and time bounds (throttling, server errors, network errors),
	// or the caller's context ended.
	ErrWebhookUnavailable = errors.New("teams: webhook unavailable")
)

// PostError is a failed Notifier.Post. Its text names the webhook's host,
// never the rest of the URL; Detail is scrubbed of the URL's secrets and
// bounded.
type PostError struct {
	Host       string
	Attempts   int
	StatusCode int    // the last HTTP status, 0 if none was received
	Detail     string // what the last attempt got, for operators
	kind       error
	cause      error
}

func (e *PostError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: posting to %s failed after %d %s", e.kind, e.Host, e.Attempts, plural(e.Attempts, "attempt", "attempts"))
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	switch {
	case errors.Is(e.cause, context.Canceled) || errors.Is(e.cause, context.DeadlineExceeded):
		b.WriteString(" (")
		b.WriteString(e.cause.Error())
		b.WriteString(")")
	case e.cause != nil && e.Detail == "":
		b.WriteString(": ")
		b.WriteString(e.cause.Error())
	}
	return b.String()
}

// Unwrap gives the failure kind (ErrWebhookRejected or
// ErrWebhookUnavailable) and the cause (a context error, a network error).
func (e *PostError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

// Retryable reports whether posting the same card later may succeed.
func (e *PostError) Retryable() bool { return errors.Is(e.kind, ErrWebhookUnavailable) }

// scrubbedError is a transport error whose text has had the URL's secrets
// removed; it still unwraps to the original for errors.Is.
type scrubbedError struct {
	msg   string
	cause error
}

func (e scrubbedError) Error() string { return e.msg }
func (e scrubbedError) Unwrap() error { return e.cause }
