package geniequery

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/behalf-dev/behalf/shared/genie"
	"github.com/behalf-dev/behalf/shared/httpapi"
)

// TestMapError gives every genie code its HTTP status, keeps the stable
// code and message, and carries Retry-After through.
func TestMapError(t *testing.T) {
	cases := map[genie.Code]int{
		genie.CodeBadQuestion:        http.StatusBadRequest,
		genie.CodeSpaceNotAllowed:    http.StatusForbidden,
		genie.CodeSpaceAccessDenied:  http.StatusForbidden,
		genie.CodeWarehouseAccess:    http.StatusForbidden,
		genie.CodeTableAccess:        http.StatusForbidden,
		genie.CodeNotFound:           http.StatusNotFound,
		genie.CodeRateLimited:        http.StatusTooManyRequests,
		genie.CodeUpstream:           http.StatusServiceUnavailable,
		genie.CodeGenieFailed:        http.StatusBadGateway,
		genie.CodeResultExpired:      http.StatusGone,
		genie.CodeCancelled:          http.StatusConflict,
		genie.CodeUnknownCreateState: http.StatusBadGateway,
	}
	for code, status := range cases {
		err := mapError(&genie.Error{Code: code, Message: "m " + string(code), RetryAfter: 1500 * time.Millisecond})
		var e *httpapi.Error
		if !errors.As(err, &e) || e.Status != status || string(e.Code) != string(code) || e.Message != "m "+string(code) || e.RetryAfter != 1500*time.Millisecond {
			t.Errorf("%s → %+v, want %d", code, e, status)
		}
	}
	other := errors.New("not a genie error")
	if got := mapError(other); got != other {
		t.Errorf("other errors pass through, got %v", got)
	}
}
