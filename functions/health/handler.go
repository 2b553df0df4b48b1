// Package healthfn is the edge of the health function (GET /api/health):
// it runs the dependency checks registered in shared/health and answers 200
// when the service can serve, 503 when a critical dependency is down.
package healthfn

import (
	"net/http"
	"time"

	"github.com/behalf-dev/behalf/shared/funchost"
	"github.com/behalf-dev/behalf/shared/health"
	"github.com/behalf-dev/behalf/shared/httpapi"
	"github.com/behalf-dev/behalf/shared/logging"
)

// Name is the function (folder) name.
const Name = "health"

// Answer is the health function's response body.
type Answer struct {
	Status    health.Status   `json:"status"`
	Version   string          `json:"version"`
	Time      time.Time       `json:"time"`
	Checks    []health.Result `json:"checks"`
	RequestID string          `json:"request_id"`
}

// Function returns the HTTP function.
func Function(reg *health.Registry, version string) funchost.HTTPFunction {
	return funchost.HTTPFunction{Name: Name, Route: "health", Methods: []string{http.MethodGet}, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep := reg.Run(r.Context())
		status := http.StatusOK
		if rep.Status == health.StatusDown {
			status = http.StatusServiceUnavailable
		}
		if rep.Checks == nil {
			rep.Checks = []health.Result{}
		}
		httpapi.WriteJSON(w, status, Answer{Status: rep.Status, Version: version, Time: time.Now().UTC(), Checks: rep.Checks, RequestID: logging.RequestID(r.Context())})
	})}
}
