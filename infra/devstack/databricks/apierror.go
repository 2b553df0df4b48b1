package databricks

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// APIError is a REST error in Databricks' shape
// ({"error_code", "message", "details"}), paired with an HTTP status the
// SDK maps to the same errors.Is target.
type APIError struct {
	Status     int
	Code       string
	Message    string
	Reason     string // google.rpc.ErrorInfo reason, optional
	RetryAfter time.Duration
}

func (e *APIError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

func errUnauthenticated(msg string) *APIError {
	return &APIError{Status: http.StatusUnauthorized, Code: "UNAUTHENTICATED", Message: msg}
}

func errPermissionDenied(msg, reason string) *APIError {
	return &APIError{Status: http.StatusForbidden, Code: "PERMISSION_DENIED", Message: msg, Reason: reason}
}

func errNotFound(msg string) *APIError {
	return &APIError{Status: http.StatusNotFound, Code: "RESOURCE_DOES_NOT_EXIST", Message: msg}
}

func errInvalidParam(msg string) *APIError {
	return &APIError{Status: http.StatusBadRequest, Code: "INVALID_PARAMETER_VALUE", Message: msg}
}

func errInvalidState(msg string) *APIError {
	return &APIError{Status: http.StatusBadRequest, Code: "INVALID_STATE", Message: msg}
}

type errorInfo struct {
	Type     string            `json:"@type"`
	Reason   string            `json:"reason,omitempty"`
	Domain   string            `json:"domain,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	// RequestInfo
	RequestID string `json:"request_id,omitempty"`
	// RetryInfo
	RetryDelay string `json:"retry_delay,omitempty"`
}

type errorBody struct {
	ErrorCode string      `json:"error_code"`
	Message   string      `json:"message"`
	Details   []errorInfo `json:"details,omitempty"`
}

// writeError writes err; anything that is not an *APIError is an internal
// error whose text stays in the server log, not in the response.
func (e *Emulator) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *APIError
	if !errors.As(err, &ae) {
		e.log.Error("internal error", "path", r.URL.Path, "err", err)
		ae = &APIError{Status: http.StatusInternalServerError, Code: "INTERNAL_ERROR", Message: "The workspace emulator failed to process the request."}
	}
	body := errorBody{ErrorCode: ae.Code, Message: ae.Message}
	if ae.Reason != "" {
		body.Details = append(body.Details, errorInfo{Type: "type.googleapis.com/google.rpc.ErrorInfo", Reason: ae.Reason, Domain: "databricks.com"})
	}
	body.Details = append(body.Details, errorInfo{Type: "type.googleapis.com/google.rpc.RequestInfo", RequestID: requestID(r)})
	if ae.RetryAfter > 0 {
		secs := int((ae.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		body.Details = append(body.Details, errorInfo{Type: "type.googleapis.com/google.rpc.RetryInfo", RetryDelay: fmt.Sprintf("%ds", secs)})
	}
	if ae.Status == http.StatusUnauthorized {
		e.counters.add(func(c *Counters) { c.Unauthenticated++ })
	}
	writeJSON(w, ae.Status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeJSON reads a bounded JSON body.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 17<<20))
	if err := dec.Decode(v); err != nil {
		return errInvalidParam("Malformed request body: " + err.Error())
	}
	return nil
}

type requestIDKey struct{}

func requestID(r *http.Request) string {
	if v, ok := r.Context().Value(requestIDKey{}).(string); ok {
		return v
	}
	return ""
}
