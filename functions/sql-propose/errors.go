package sqlpropose

import (
	"errors"
	"net/http"

	"github.com/behalf-dev/behalf/shared/httpapi"
	"github.com/behalf-dev/behalf/shared/sqlexec"
	"github.com/behalf-dev/behalf/shared/sqlops"
)

// mapError gives sqlops and sqlexec failures their status and stable code.
func mapError(err error) error {
	var oe *sqlops.Error
	if errors.As(err, &oe) {
		status := map[sqlops.Code]int{
			sqlops.CodeBadStatement: http.StatusBadRequest, sqlops.CodeMultipleStatements: http.StatusBadRequest,
			sqlops.CodeStatementTooLong: http.StatusRequestEntityTooLarge, sqlops.CodeBadParameters: http.StatusBadRequest,
			sqlops.CodeWarehouseNotAllowed: http.StatusForbidden, sqlops.CodeNotConfigured: http.StatusServiceUnavailable,
			sqlops.CodeUnavailable: http.StatusServiceUnavailable,
		}[oe.Code]
		if status == 0 {
			status = http.StatusBadRequest
		}
		return &httpapi.Error{Status: status, Code: httpapi.Code(oe.Code), Message: oe.Message, Err: err}
	}
	return MapSQLError(err)
}

// MapSQLError maps a statement failure (shared with sql-approve).
func MapSQLError(err error) error {
	var se *sqlexec.Error
	if !errors.As(err, &se) {
		return err
	}
	status := map[sqlexec.Code]int{
		sqlexec.CodeWarehouseAccess: http.StatusForbidden, sqlexec.CodeTableAccess: http.StatusForbidden,
		sqlexec.CodeSQLError: http.StatusBadRequest, sqlexec.CodeTimeout: http.StatusGatewayTimeout,
		sqlexec.CodeUpstream: http.StatusServiceUnavailable, sqlexec.CodeThrottled: http.StatusTooManyRequests,
		sqlexec.CodeCancelled: http.StatusConflict, sqlexec.CodeOutcomeUnknown: http.StatusBadGateway,
	}[se.Code]
	if status == 0 {
		status = http.StatusBadGateway
	}
	return &httpapi.Error{Status: status, Code: httpapi.Code(se.Code), Message: se.Message, RetryAfter: se.RetryAfter, Err: err}
}
