package obo

import (
	"encoding/base64"
	"fmt"
)

// Code is a stable reason an exchange failed.
type Code string

// Exchange failure codes.
const (
	// CodeInteractionRequired: the IdP wants the person to step up (MFA,
	// Conditional Access); Claims holds the challenge.
	CodeInteractionRequired Code = "INTERACTION_REQUIRED"
	// CodeConsentRequired: nobody consented to behalf calling Databricks.
	CodeConsentRequired Code = "CONSENT_REQUIRED"
	// CodeInvalidGrant: the person's token was refused by the IdP.
	CodeInvalidGrant Code = "INVALID_GRANT"
	// CodeMisconfigured: behalf's own credentials or registration are wrong.
	CodeMisconfigured Code = "EXCHANGE_MISCONFIGURED"
	// CodeUnavailable: the token endpoint could not be reached or failed.
	CodeUnavailable Code = "TOKEN_SERVICE_UNAVAILABLE"
	// CodeNotAllowed: this person or role may not use this path or function.
	CodeNotAllowed Code = "EXCHANGE_NOT_ALLOWED"
)

// Error is a failed exchange. Message is written for the caller and never
// contains a token.
type Error struct {
	Code    Code
	Message string
	// Claims is the IdP's claims challenge (JSON) for CodeInteractionRequired.
	Claims string
	// IdPCode is the IdP's error code (e.g. AADSTS50076) when known.
	IdPCode string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// ClaimsChallenge is the base64 form of Claims for a WWW-Authenticate
// insufficient_claims challenge.
func (e *Error) ClaimsChallenge() string {
	if e.Claims == "" {
		return ""
	}
	return base64.StdEncoding.EncodeToString([]byte(e.Claims))
}
