package sqlops

import (
	"errors"
	"strings"
	"testing"

	"github.com/behalf-dev/behalf/shared/approval"
	"github.com/behalf-dev/behalf/shared/resultset"
	"github.com/behalf-dev/behalf/shared/sqlexec"
	"github.com/behalf-dev/behalf/shared/sqlguard"
)

func newService(t *testing.T) *Service {
	t.Helper()
	c, err := sqlguard.New(sqlguard.Config{MaxLength: 2000})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Classifier: c, Approvals: &approval.Service{}, DefaultWarehouse: "wh1", AllowedWarehouses: []string{"wh2"}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ptr(s string) *string { return &s }

func TestCheck(t *testing.T) {
	s := newService(t)
	cases := []struct {
		name     string
		req      Request
		code     Code
		readOnly bool
		wh       string
	}{
		{"read on the default warehouse", Request{Statement: "SELECT * FROM main.sales.deals"}, "", true, "wh1"},
		{"read on an allowed warehouse", Request{Statement: "SELECT 1", WarehouseID: "wh2"}, "", true, "wh2"},
		{"delete is not read-only", Request{Statement: "DELETE FROM main.sales.deals WHERE region = 'WEST'"}, "", false, "wh1"},
		{"other warehouse refused", Request{Statement: "SELECT 1", WarehouseID: "evil"}, CodeWarehouseNotAllowed, false, ""},
		{"two statements refused", Request{Statement: "SELECT 1; DROP TABLE x"}, CodeMultipleStatements, false, ""},
		{"empty refused", Request{Statement: "  -- nothing\n"}, CodeBadStatement, false, ""},
		{"too long refused", Request{Statement: "SELECT '" + strings.Repeat("x", 3000) + "'"}, CodeStatementTooLong, false, ""},
		{"unlexable refused", Request{Statement: "SELECT 'open"}, CodeBadStatement, false, ""},
		{"invalid UTF-8 refused", Request{Statement: "SELECT '\xff'"}, CodeBadStatement, false, ""},
		{"catalog must be an identifier", Request{Statement: "SELECT 1", Catalog: "main; DROP"}, CodeBadStatement, false, ""},
		{"parameters are checked", Request{Statement: "SELECT :a", Parameters: []sqlexec.Parameter{{Name: "a", Value: ptr("1")}, {Name: "A", Value: ptr("2")}}}, CodeBadParameters, false, ""},
		{"parameter names are identifiers", Request{Statement: "SELECT 1", Parameters: []sqlexec.Parameter{{Name: "a b"}}}, CodeBadParameters, false, ""},
		{"parameter types are allow-listed", Request{Statement: "SELECT :a", Parameters: []sqlexec.Parameter{{Name: "a", Value: ptr("1"), Type: "EVIL"}}}, CodeBadParameters, false, ""},
		{"decimal with precision accepted", Request{Statement: "SELECT :a", Parameters: []sqlexec.Parameter{{Name: "a", Value: ptr("1.5"), Type: "DECIMAL(10,2)"}}}, "", true, "wh1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := s.Check(c.req)
			if c.code != "" {
				var e *Error
				if !errors.As(err, &e) || e.Code != c.code {
					t.Fatalf("want %s, got %v", c.code, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Verdict.ReadOnly != c.readOnly || p.WarehouseID != c.wh {
				t.Fatalf("read-only %v warehouse %q", p.Verdict.ReadOnly, p.WarehouseID)
			}
		})
	}
}

func TestNoDefaultWarehouse(t *testing.T) {
	c, _ := sqlguard.New(sqlguard.Config{})
	s, err := New(Config{Classifier: c, Approvals: &approval.Service{}})
	if err != nil {
		t.Fatal(err)
	}
	var e *Error
	if _, err := s.Check(Request{Statement: "SELECT 1"}); !errors.As(err, &e) || e.Code != CodeNotConfigured {
		t.Fatalf("%v", err)
	}
}

func TestOutcomes(t *testing.T) {
	cases := []struct {
		err    error
		status approval.Status
	}{
		{&sqlexec.Error{Code: sqlexec.CodeSQLError, Message: "syntax"}, approval.StatusFailed},
		{&sqlexec.Error{Code: sqlexec.CodeTableAccess}, approval.StatusFailed},
		{&sqlexec.Error{Code: sqlexec.CodeWarehouseAccess}, approval.StatusFailed},
		{&sqlexec.Error{Code: sqlexec.CodeThrottled}, approval.StatusFailed},
		{&sqlexec.Error{Code: sqlexec.CodeTimeout, StatementID: "s1"}, approval.StatusUnknown},
		{&sqlexec.Error{Code: sqlexec.CodeOutcomeUnknown}, approval.StatusUnknown},
		{&sqlexec.Error{Code: sqlexec.CodeUpstream, StatementID: "s1"}, approval.StatusUnknown},
		{errors.New("connection reset"), approval.StatusUnknown},
	}
	for _, c := range cases {
		out, st := outcomeOf(c.err)
		if st != c.status || out.ErrorCode == "" || out.Message == "" {
			t.Errorf("%v: %s %+v", c.err, st, out)
		}
	}
}

func TestAffectedRows(t *testing.T) {
	res := &sqlexec.Result{Table: &resultset.Table{Columns: []resultset.Column{{Name: "num_affected_rows", Type: "LONG"}}, Rows: [][]any{{int64(7)}}}}
	if n, ok := affectedRows(res); !ok || n != 7 {
		t.Fatalf("%d %v", n, ok)
	}
	if _, ok := affectedRows(&sqlexec.Result{Table: &resultset.Table{}}); ok {
		t.Fatal("rows affected read from an empty result")
	}
}
