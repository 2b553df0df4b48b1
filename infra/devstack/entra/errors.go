package entra

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// AADSTS codes the emulator answers with. The numbers follow Entra ID where
// they are known; the doc comment of the package lists which ones are the
// emulator's own choice.
const (
	CodeTenantNotFound        = 90002   // unknown tenant in the URL
	CodeAppNotFound           = 700016  // unauthorized_client: no such client_id in the tenant
	CodeRedirectMismatch      = 50011   // redirect_uri is not registered for the app
	CodeMissingClientAuth     = 7000218 // invalid_client: neither client_secret nor client_assertion
	CodeInvalidSecret         = 7000215 // invalid_client: wrong client secret
	CodeAssertionSignature    = 700027  // invalid_client: client assertion signature or key
	CodeAssertionExpired      = 700024  // invalid_client: client assertion outside its time range
	CodeAssertionAudience     = 700212  // invalid_client: client assertion for another audience
	CodeNoFederatedCredential = 70021   // invalid_client: no federated credential matches the assertion
	CodeMalformedGrant        = 9002313 // invalid_grant: unknown or malformed code / refresh token
	CodeCodeExpired           = 70008   // invalid_grant: authorization code or refresh token expired
	CodeCodeRedeemed          = 54005   // invalid_grant: authorization code already redeemed
	CodeCodeOtherClient       = 70000   // invalid_grant: code / refresh token issued to another client
	CodeReplyMismatch         = 500112  // invalid_grant: redirect_uri differs from the authorize request
	CodeVerifierMismatch      = 501481  // invalid_grant: code_verifier does not match code_challenge
	CodeRefreshExpired        = 700082  // invalid_grant: refresh token expired
	CodeGrantRevoked          = 50173   // invalid_grant: refresh token reused after rotation; family revoked
	CodeAssertionTimeRange    = 500133  // invalid_grant: OBO assertion not within its valid time range
	CodeAssertionInvalid      = 50013   // invalid_grant: OBO assertion signature, issuer or audience wrong
	CodeConsentRequired       = 65001   // invalid_grant / consent_required: no consent for the resource
	CodeMFARequired           = 50076   // interaction_required: MFA claims challenge
	CodeLoginRequired         = 50058   // login_required: prompt=none without a session
	CodeInvalidScope          = 70011   // invalid_scope
	CodeMultipleResources     = 28000   // invalid_scope: scopes of more than one resource
	CodeDefaultScopeRequired  = 1002012 // invalid_scope: client_credentials needs resource/.default
	CodeResourceNotFound      = 500011  // invalid_resource: unknown resource
	CodeUnsupportedGrant      = 70003   // unsupported_grant_type
	CodeUnsupportedResponse   = 70005   // unsupported_response_type
	CodeMissingParameter      = 900144  // invalid_request: a required parameter is missing
	CodePKCERequired          = 9002325 // invalid_request: code_challenge missing or not S256
	CodeChallengeSize         = 501491  // invalid_request: code_challenge has the wrong size
	CodeInvalidParameter      = 90014   // invalid_request: a parameter is malformed or too large
	CodeInvalidPrompt         = 90023   // invalid_request: unsupported prompt
	CodeTransient             = 90033   // temporarily_unavailable (injected faults)
)

// Error is an Entra-form OAuth error. The emulator writes it as the JSON
// body of a token-endpoint answer, or as query parameters on the redirect
// URI of an authorize request.
type Error struct {
	// Err is the OAuth error (invalid_grant, invalid_client, ...).
	Err string
	// Code is the AADSTS number.
	Code int
	// Description follows "AADSTSnnn: " in error_description.
	Description string
	// Status is the HTTP status of a JSON answer (default 400; 401 for
	// invalid_client).
	Status int
	// Claims is a claims challenge (interaction_required).
	Claims string
	// SubError refines Err (e.g. consent_required, basic_action).
	SubError string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: AADSTS%d: %s", e.Err, e.Code, e.Description)
}

// AADSTS is the code in its printed form, e.g. "AADSTS54005".
func (e *Error) AADSTS() string { return "AADSTS" + strconv.Itoa(e.Code) }

func oauthErr(kind string, code int, format string, args ...any) *Error {
	return &Error{Err: kind, Code: code, Description: fmt.Sprintf(format, args...)}
}

func invalidRequest(code int, format string, args ...any) *Error {
	return oauthErr("invalid_request", code, format, args...)
}

func invalidGrant(code int, format string, args ...any) *Error {
	return oauthErr("invalid_grant", code, format, args...)
}

func invalidClient(code int, format string, args ...any) *Error {
	e := oauthErr("invalid_client", code, format, args...)
	e.Status = http.StatusUnauthorized
	return e
}

func invalidScope(code int, format string, args ...any) *Error {
	return oauthErr("invalid_scope", code, format, args...)
}

// errorBody is the JSON shape of an Entra token error.
type errorBody struct {
	Error         string `json:"error"`
	Description   string `json:"error_description"`
	ErrorCodes    []int  `json:"error_codes"`
	Timestamp     string `json:"timestamp"`
	TraceID       string `json:"trace_id"`
	CorrelationID string `json:"correlation_id"`
	ErrorURI      string `json:"error_uri,omitempty"`
	SubError      string `json:"suberror,omitempty"`
	Claims        string `json:"claims,omitempty"`
}

// trace identifies one answer the way Entra does: a trace id of its own
// and the caller's client-request-id as correlation id.
type trace struct {
	traceID, correlationID string
	at                     time.Time
}

func newTrace(r *http.Request, now time.Time) trace {
	corr := r.Header.Get("client-request-id")
	if _, err := uuid.Parse(corr); err != nil {
		corr = uuid.NewString()
	}
	return trace{traceID: uuid.NewString(), correlationID: corr, at: now.UTC()}
}

func (t trace) description(e *Error) string {
	return fmt.Sprintf("%s: %s Trace ID: %s Correlation ID: %s Timestamp: %s", e.AADSTS(), e.Description,
		t.traceID, t.correlationID, t.at.Format("2006-01-02 15:04:05Z"))
}

func (e *Emulator) body(t trace, oe *Error) errorBody {
	return errorBody{
		Error: oe.Err, Description: t.description(oe), ErrorCodes: []int{oe.Code},
		Timestamp: t.at.Format("2006-01-02 15:04:05Z"), TraceID: t.traceID, CorrelationID: t.correlationID,
		ErrorURI: e.URL() + "/error?code=" + strconv.Itoa(oe.Code), SubError: oe.SubError, Claims: oe.Claims,
	}
}

// writeOAuthError answers a token-endpoint style request with oe.
func (e *Emulator) writeOAuthError(w http.ResponseWriter, r *http.Request, oe *Error) {
	t := newTrace(r, e.now())
	status := oe.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	e.counters.add(func(c *Counters) { c.Errors[oe.AADSTS()]++ })
	e.log.Info("entra request refused", "path", r.URL.Path, "error", oe.Err, "code", oe.AADSTS(), "trace_id", t.traceID)
	writeJSON(w, status, e.body(t, oe))
}

// redirectError sends an authorize error back to the (already verified)
// redirect URI, the way Entra does.
func (e *Emulator) redirectError(w http.ResponseWriter, r *http.Request, ar *authRequest, oe *Error) {
	t := newTrace(r, e.now())
	e.counters.add(func(c *Counters) { c.Errors[oe.AADSTS()]++ })
	e.log.Info("entra sign-in refused", "client_id", ar.clientID, "error", oe.Err, "code", oe.AADSTS(), "trace_id", t.traceID)
	v := url.Values{}
	v.Set("error", oe.Err)
	v.Set("error_description", t.description(oe))
	v.Set("error_uri", e.URL()+"/error?code="+strconv.Itoa(oe.Code))
	if oe.SubError != "" {
		v.Set("error_subcode", oe.SubError)
	}
	if oe.Claims != "" {
		v.Set("claims", oe.Claims)
	}
	if ar.state != "" {
		v.Set("state", ar.state)
	}
	respond(w, r, ar.redirectURI, ar.responseMode, v)
}

// respond delivers authorize results (code or error) in the requested
// response mode.
func respond(w http.ResponseWriter, r *http.Request, redirectURI, mode string, v url.Values) {
	switch mode {
	case "form_post":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_ = formPostPage.Execute(w, formPost{Action: redirectURI, Fields: v})
	case "fragment":
		http.Redirect(w, r, redirectURI+"#"+v.Encode(), http.StatusFound)
	default:
		sep := "?"
		if strings.Contains(redirectURI, "?") {
			sep = "&"
		}
		http.Redirect(w, r, redirectURI+sep+v.Encode(), http.StatusFound)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
