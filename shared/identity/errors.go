package identity

import "fmt"

// Code is a stable reason a token was refused.
type Code string

// Refusal codes. Callers map them to HTTP (401, or 403 for a missing scope).
const (
	CodeMissing           Code = "TOKEN_MISSING"
	CodeMalformed         Code = "TOKEN_MALFORMED"
	CodeAlgNotAllowed     Code = "TOKEN_ALG_NOT_ALLOWED"
	CodeUnknownKey        Code = "TOKEN_UNKNOWN_KEY"
	CodeBadSignature      Code = "TOKEN_BAD_SIGNATURE"
	CodeExpired           Code = "TOKEN_EXPIRED"
	CodeNotYetValid       Code = "TOKEN_NOT_YET_VALID"
	CodeWrongIssuer       Code = "TOKEN_WRONG_ISSUER"
	CodeWrongTenant       Code = "TOKEN_WRONG_TENANT"
	CodeWrongAudience     Code = "TOKEN_WRONG_AUDIENCE"
	CodeMissingScope      Code = "TOKEN_MISSING_SCOPE"
	CodeIssuerUnavailable Code = "ISSUER_UNAVAILABLE"
)

// Error is a refused token. Message is safe to show to the caller: it
// never contains the token or its claims' values beyond what the caller
// sent about itself.
type Error struct {
	Code    Code
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

func refuse(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}
