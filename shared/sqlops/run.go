package sqlops

import (
	"context"
	"errors"
	"slices"
	"strconv"

	"github.com/behalf-dev/behalf/shared/approval"
	"github.com/behalf-dev/behalf/shared/sqlexec"
)

// Runner returns the approval runner for an operation confirmed by its
// proposer: it runs the operation's own statement, warehouse, catalog,
// schema and parameters — never anything from the confirming request —
// with the runner built for this request from the proposer's fresh token.
// The execute call is never retried (sqlexec), so a statement is sent at
// most once; a lost answer is reported as unknown, not retried.
func (s *Service) Runner(r *sqlexec.Runner) approval.Runner {
	return func(ctx context.Context, op *approval.Operation) (*approval.Outcome, approval.Status) {
		if op.WarehouseID != s.cfg.DefaultWarehouse && !slices.Contains(s.cfg.AllowedWarehouses, op.WarehouseID) {
			return &approval.Outcome{ErrorCode: string(CodeWarehouseNotAllowed), Message: "the operation's warehouse is no longer allowed; nothing ran"}, approval.StatusFailed
		}
		params := make([]sqlexec.Parameter, 0, len(op.Parameters))
		for _, p := range op.Parameters {
			params = append(params, sqlexec.Parameter{Name: p.Name, Value: p.Value, Type: p.Type})
		}
		ctx, cancel := context.WithTimeout(ctx, s.cfg.RunDeadline)
		defer cancel()
		res, err := r.Run(ctx, sqlexec.Statement{SQL: op.Statement, WarehouseID: op.WarehouseID, Catalog: op.Catalog,
			Schema: op.Schema, Parameters: params, MaxRows: 10}, false)
		if err != nil {
			return outcomeOf(err)
		}
		out := &approval.Outcome{StatementID: res.StatementID}
		if n, ok := affectedRows(res); ok {
			out.RowsAffected = &n
		}
		return out, approval.StatusExecuted
	}
}

// outcomeOf sorts a failed run: known failures changed nothing (a
// statement either commits or not); anything that leaves doubt is unknown.
func outcomeOf(err error) (*approval.Outcome, approval.Status) {
	var se *sqlexec.Error
	if !errors.As(err, &se) {
		return &approval.Outcome{ErrorCode: "OUTCOME_UNKNOWN", Message: "the run ended without an answer; check the table before proposing again"}, approval.StatusUnknown
	}
	out := &approval.Outcome{ErrorCode: string(se.Code), Message: se.Message, StatementID: se.StatementID}
	if out.Message == "" {
		out.Message = "the statement failed (" + string(se.Code) + ")"
	}
	switch se.Code {
	case sqlexec.CodeSQLError, sqlexec.CodeTableAccess, sqlexec.CodeWarehouseAccess, sqlexec.CodeCancelled, sqlexec.CodeThrottled:
		return out, approval.StatusFailed
	}
	return out, approval.StatusUnknown
}

// affectedRows reads num_affected_rows from a DML result.
func affectedRows(res *sqlexec.Result) (int64, bool) {
	t := res.Table
	if t == nil || len(t.Rows) == 0 {
		return 0, false
	}
	for i, c := range t.Columns {
		if c.Name != "num_affected_rows" || i >= len(t.Rows[0]) {
			continue
		}
		switch v := t.Rows[0][i].(type) {
		case int64:
			return v, true
		case float64:
			return int64(v), true
		case string:
			n, err := strconv.ParseInt(v, 10, 64)
			return n, err == nil
		case interface{ Int64() (int64, error) }:
			n, err := v.Int64()
			return n, err == nil
		}
	}
	return 0, false
}
