package genie

import (
	"errors"
	"fmt"
	"time"
)

// Code is a stable genie-query error code.
type Code string

// Error codes.
const (
	CodeSpaceNotAllowed    Code = "SPACE_NOT_ALLOWED"
	CodeSpaceAccessDenied  Code = "SPACE_ACCESS_DENIED"
	CodeWarehouseAccess    Code = "WAREHOUSE_ACCESS_DENIED"
	CodeTableAccess        Code = "TABLE_ACCESS_DENIED"
	CodeGenieFailed        Code = "GENIE_FAILED"
	CodeRateLimited        Code = "RATE_LIMITED"
	CodeUpstream           Code = "UPSTREAM_UNAVAILABLE"
	CodeBadQuestion        Code = "BAD_REQUEST"
	CodeNotFound           Code = "NOT_FOUND"
	CodeResultExpired      Code = "QUERY_RESULT_EXPIRED"
	CodeCancelled          Code = "CANCELLED"
	CodeUnknownCreateState Code = "UPSTREAM_OUTCOME_UNKNOWN"
)

// ErrConversationNotFound is returned for conversations the caller does
// not own (or that do not exist): the two are indistinguishable on purpose.
var ErrConversationNotFound = &Error{Code: CodeNotFound, Message: "no such conversation"}

// Error is a genie-query failure with an actionable message.
type Error struct {
	Code       Code
	Message    string
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrConversationNotFound) match by code.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code && t.Message == e.Message
}
