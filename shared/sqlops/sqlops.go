// Package sqlops is what happens to a statement a person submits through
// sql-propose and how an approved one runs through sql-approve. A
// statement the classifier proves read-only runs at once as the person; any
// other becomes a pending operation bound to its exact text, warehouse,
// catalog and schema and to its proposer, and runs only when its policy is
// met and the proposer confirms — with the proposer's own fresh token. The
// package knows nothing of HTTP.
package sqlops

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/behalf-dev/behalf/shared/approval"
	"github.com/behalf-dev/behalf/shared/sqlexec"
	"github.com/behalf-dev/behalf/shared/sqlguard"
)

// Config configures the service.
type Config struct {
	Classifier *sqlguard.Classifier
	Approvals  *approval.Service
	// DefaultWarehouse runs statements that name none; AllowedWarehouses
	// are the others callers may name.
	DefaultWarehouse  string
	AllowedWarehouses []string
	// MaxRows caps a read's answer (default 1000).
	MaxRows int
	// ReadDeadline bounds a read (default 50 s); RunDeadline bounds how long
	// a confirmed change is waited for (default 120 s).
	ReadDeadline time.Duration
	RunDeadline  time.Duration
	// Window is the approval window (default 1 h).
	Window time.Duration
	// ReviewURL is the approval page of an operation.
	ReviewURL func(opID string) string
	// Notifier posts approval cards; nil posts none.
	Notifier Notifier
	Now      func() time.Time
}

// Notifier tells approvers about operations (Teams). A failure is reported
// to the proposer, never fatal: the operation exists either way.
type Notifier interface {
	Proposed(ctx context.Context, op *approval.Operation, reviewURL string) error
}

// Service proposes and runs statements.
type Service struct {
	cfg Config
}

// New validates cfg.
func New(cfg Config) (*Service, error) {
	if cfg.Classifier == nil || cfg.Approvals == nil {
		return nil, errors.New("sqlops: Classifier and Approvals are required")
	}
	if cfg.MaxRows <= 0 {
		cfg.MaxRows = 1000
	}
	if cfg.ReadDeadline <= 0 {
		cfg.ReadDeadline = 50 * time.Second
	}
	if cfg.RunDeadline <= 0 {
		cfg.RunDeadline = 120 * time.Second
	}
	if cfg.Window <= 0 {
		cfg.Window = time.Hour
	}
	if cfg.ReviewURL == nil {
		cfg.ReviewURL = func(id string) string { return "/api/sql-approve/" + id }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}, nil
}

// Request is a submitted statement.
type Request struct {
	Statement   string              `json:"statement"`
	WarehouseID string              `json:"warehouse_id,omitempty"`
	Catalog     string              `json:"catalog,omitempty"`
	Schema      string              `json:"schema,omitempty"`
	Parameters  []sqlexec.Parameter `json:"parameters,omitempty"`
}

// Plan is a checked request: what it is and where it runs.
type Plan struct {
	Request
	Verdict sqlguard.Result
}

// Code is a stable refusal code.
type Code string

// Refusal codes.
const (
	CodeBadStatement        Code = "BAD_STATEMENT"
	CodeMultipleStatements  Code = "MULTIPLE_STATEMENTS"
	CodeStatementTooLong    Code = "STATEMENT_TOO_LONG"
	CodeWarehouseNotAllowed Code = "WAREHOUSE_NOT_ALLOWED"
	CodeNotConfigured       Code = "NOT_CONFIGURED"
	CodeBadParameters       Code = "BAD_PARAMETERS"
	CodeUnavailable         Code = "UNAVAILABLE"
)

// Error is a refused request; nothing ran and nothing was queued.
type Error struct {
	Code    Code
	Message string
	Err     error
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }
func (e *Error) Unwrap() error { return e.Err }

func refuse(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

var (
	identifier = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_\-]{0,254}$`)
	paramName  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
	paramTypes = []string{"", "STRING", "BOOLEAN", "TINYINT", "SMALLINT", "INT", "BIGINT", "FLOAT", "DOUBLE", "DECIMAL", "DATE", "TIMESTAMP", "TIMESTAMP_NTZ", "BINARY", "VOID"}
)

// Bounds on parameters.
const (
	MaxParameters      = 256
	MaxParameterValue  = 64 << 10
	maxParameterTypeSz = 64
)

// Check validates and classifies a request without running anything.
func (s *Service) Check(req Request) (*Plan, error) {
	if !utf8.ValidString(req.Statement) {
		return nil, refuse(CodeBadStatement, "statement must be UTF-8 text")
	}
	wh := req.WarehouseID
	switch {
	case wh == "" && s.cfg.DefaultWarehouse == "":
		return nil, refuse(CodeNotConfigured, "name a warehouse_id: no default warehouse is configured (BEHALF_SQL_WAREHOUSE_ID)")
	case wh == "":
		wh = s.cfg.DefaultWarehouse
	case wh != s.cfg.DefaultWarehouse && !slices.Contains(s.cfg.AllowedWarehouses, wh):
		return nil, refuse(CodeWarehouseNotAllowed, "warehouse %q is not one behalf may use (BEHALF_SQL_ALLOWED_WAREHOUSES)", short(wh, 64))
	}
	for name, v := range map[string]string{"catalog": req.Catalog, "schema": req.Schema} {
		if v != "" && !identifier.MatchString(v) {
			return nil, refuse(CodeBadStatement, "%s must be a plain identifier (letters, digits, _ and -)", name)
		}
	}
	if err := checkParameters(req.Parameters); err != nil {
		return nil, err
	}
	verdict, err := s.cfg.Classifier.Classify(req.Statement)
	if err != nil {
		switch {
		case errors.Is(err, sqlguard.ErrMultipleStatements):
			return nil, &Error{Code: CodeMultipleStatements, Message: "send one statement per request; this one holds several", Err: err}
		case errors.Is(err, sqlguard.ErrTooLong):
			return nil, &Error{Code: CodeStatementTooLong, Message: err.Error(), Err: err}
		case errors.Is(err, sqlguard.ErrEmpty):
			return nil, &Error{Code: CodeBadStatement, Message: "statement is empty", Err: err}
		default:
			return nil, &Error{Code: CodeBadStatement, Message: "the statement cannot be read: " + err.Error(), Err: err}
		}
	}
	p := &Plan{Request: req, Verdict: verdict}
	p.WarehouseID = wh
	return p, nil
}

func checkParameters(ps []sqlexec.Parameter) error {
	if len(ps) > MaxParameters {
		return refuse(CodeBadParameters, "at most %d parameters", MaxParameters)
	}
	seen := map[string]bool{}
	for _, p := range ps {
		if !paramName.MatchString(p.Name) {
			return refuse(CodeBadParameters, "parameter names are identifiers of at most 128 characters")
		}
		if seen[strings.ToLower(p.Name)] {
			return refuse(CodeBadParameters, "parameter %q is given twice", p.Name)
		}
		seen[strings.ToLower(p.Name)] = true
		if p.Value != nil && (len(*p.Value) > MaxParameterValue || !utf8.ValidString(*p.Value)) {
			return refuse(CodeBadParameters, "parameter %q must be UTF-8 of at most %d bytes", p.Name, MaxParameterValue)
		}
		t := strings.ToUpper(strings.TrimSpace(p.Type))
		if i := strings.IndexByte(t, '('); i > 0 && strings.HasPrefix(t, "DECIMAL") && len(t) <= maxParameterTypeSz {
			t = "DECIMAL"
		}
		if !slices.Contains(paramTypes, t) {
			return refuse(CodeBadParameters, "parameter %q has an unsupported type", p.Name)
		}
	}
	return nil
}

// ReadDeadline is how long a read may run.
func (s *Service) ReadDeadline() time.Duration { return s.cfg.ReadDeadline }

// RunRead runs a read-only plan with the person's runner.
func (s *Service) RunRead(ctx context.Context, r *sqlexec.Runner, p *Plan) (*sqlexec.Result, error) {
	if !p.Verdict.ReadOnly {
		return nil, errors.New("sqlops: RunRead of a statement that is not read-only")
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ReadDeadline)
	defer cancel()
	return r.Run(ctx, s.statement(p.Request, s.cfg.MaxRows), true)
}

func (s *Service) statement(req Request, maxRows int) sqlexec.Statement {
	return sqlexec.Statement{SQL: req.Statement, WarehouseID: req.WarehouseID, Catalog: req.Catalog, Schema: req.Schema,
		Parameters: req.Parameters, MaxRows: maxRows}
}

// Proposed is a queued operation.
type Proposed struct {
	Operation *approval.Operation
	ReviewURL string
	// NotifyError says why approvers could not be told, if so.
	NotifyError error
}

// Propose queues a plan that is not read-only as a pending operation.
// Nothing runs. It returns once the operation is durable.
func (s *Service) Propose(ctx context.Context, who approval.Person, p *Plan, requestID string) (*Proposed, error) {
	if p.Verdict.ReadOnly {
		return nil, errors.New("sqlops: Propose of a read-only statement")
	}
	now := s.cfg.Now().UTC()
	params := make([]approval.Parameter, 0, len(p.Parameters))
	for _, x := range p.Parameters {
		params = append(params, approval.Parameter{Name: x.Name, Value: x.Value, Type: x.Type})
	}
	policy := approval.PolicySelf
	if p.Verdict.Policy == sqlguard.PolicyFourEyes {
		policy = approval.PolicyFourEyes
	}
	op := &approval.Operation{
		ID: uuid.NewString(), Proposer: who, Statement: p.Statement, StatementSHA256: approval.HashStatement(p.Statement),
		WarehouseID: p.WarehouseID, Catalog: p.Catalog, Schema: p.Schema, Parameters: params,
		Class: p.Verdict.Class.String(), Risk: p.Verdict.Risk.String(), Policy: policy, Tables: p.Verdict.Tables,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.Window), RequestID: requestID,
	}
	if err := s.cfg.Approvals.Propose(ctx, op); err != nil {
		return nil, &Error{Code: CodeUnavailable, Message: "the operation could not be queued; nothing was created, retry", Err: err}
	}
	out := &Proposed{Operation: op, ReviewURL: s.cfg.ReviewURL(op.ID)}
	if s.cfg.Notifier != nil {
		out.NotifyError = s.cfg.Notifier.Proposed(ctx, op, out.ReviewURL)
	}
	return out, nil
}

func short(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
