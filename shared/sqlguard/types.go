package sqlguard

import (
	"errors"
	"fmt"
)

// Class is the kind of statement. Only ClassRead statements can be read-only.
type Class uint8

// Statement classes. The zero value is ClassUnknown so that a Result that was
// never filled in is never mistaken for a read.
const (
	ClassUnknown Class = iota // not recognised, unparsable, or effects cannot be ruled out
	ClassRead                 // SELECT, SHOW, DESCRIBE, EXPLAIN of a read, ...
	ClassWrite                // INSERT, UPDATE, DELETE, MERGE, COPY INTO, ...
	ClassDDL                  // CREATE, ALTER, DROP, TRUNCATE, OPTIMIZE, VACUUM, ...
	ClassDCL                  // GRANT, REVOKE, DENY
	ClassSession              // SET, USE, RESET, ADD JAR, DECLARE VARIABLE, ...
)

var classNames = [...]string{
	ClassUnknown: "unknown",
	ClassRead:    "read",
	ClassWrite:   "write",
	ClassDDL:     "ddl",
	ClassDCL:     "dcl",
	ClassSession: "session",
}

// Risk says how much damage a statement can do if it was not what the person
// meant. It drives the default approval policy.
type Risk uint8

// Risk levels, from harmless to the statements that can destroy many objects,
// run code or reach outside the workspace.
const (
	RiskLow      Risk = iota // reads, session settings, caches, statistics
	RiskMedium               // INSERT, UPDATE/DELETE with WHERE, MERGE, CREATE, ALTER
	RiskHigh                 // DELETE/UPDATE without WHERE, DROP, TRUNCATE, GRANT, INSERT OVERWRITE, unknown
	RiskCritical             // DROP CATALOG/SCHEMA, CASCADE, external code or reach, secrets
)

var riskNames = [...]string{
	RiskLow:      "low",
	RiskMedium:   "medium",
	RiskHigh:     "high",
	RiskCritical: "critical",
}

// Policy is the approval a statement needs before it may run.
type Policy uint8

// Approval policies. PolicyNone is only ever given to read-only statements.
const (
	PolicyNone     Policy = iota // read-only: runs at once
	PolicySelf                   // the proposer's own confirmation is the approval
	PolicyFourEyes               // an approver who is not the proposer must approve first
)

var policyNames = [...]string{
	PolicyNone:     "none",
	PolicySelf:     "self",
	PolicyFourEyes: "four-eyes",
}

func (c Class) String() string  { return enumString(classNames[:], uint8(c), "class") }
func (r Risk) String() string   { return enumString(riskNames[:], uint8(r), "risk") }
func (p Policy) String() string { return enumString(policyNames[:], uint8(p), "policy") }

func enumString(names []string, v uint8, kind string) string {
	if int(v) < len(names) {
		return names[v]
	}
	return fmt.Sprintf("%s(%d)", kind, v)
}

// ParseClass parses a lower-case class name as produced by Class.String.
func ParseClass(s string) (Class, error) {
	v, err := enumParse(classNames[:], s, "class")
	return Class(v), err
}

// ParseRisk parses a lower-case risk name as produced by Risk.String.
func ParseRisk(s string) (Risk, error) {
	v, err := enumParse(riskNames[:], s, "risk")
	return Risk(v), err
}

// ParsePolicy parses a policy name as produced by Policy.String.
func ParsePolicy(s string) (Policy, error) {
	v, err := enumParse(policyNames[:], s, "policy")
	return Policy(v), err
}

func enumParse(names []string, s, kind string) (uint8, error) {
	for i, n := range names {
		if n == s {
			return uint8(i), nil
		}
	}
	return 0, fmt.Errorf("sqlguard: unknown %s %q", kind, s)
}

// MarshalText makes Class encode as its lower-case name in JSON.
func (c Class) MarshalText() ([]byte, error) { return enumMarshal(classNames[:], uint8(c), "class") }

// MarshalText makes Risk encode as its lower-case name in JSON.
func (r Risk) MarshalText() ([]byte, error) { return enumMarshal(riskNames[:], uint8(r), "risk") }

// MarshalText makes Policy encode as its lower-case name in JSON.
func (p Policy) MarshalText() ([]byte, error) {
	return enumMarshal(policyNames[:], uint8(p), "policy")
}

func enumMarshal(names []string, v uint8, kind string) ([]byte, error) {
	if int(v) >= len(names) {
		return nil, fmt.Errorf("sqlguard: invalid %s %d", kind, v)
	}
	return []byte(names[v]), nil
}

// UnmarshalText parses a lower-case class name.
func (c *Class) UnmarshalText(b []byte) error {
	v, err := ParseClass(string(b))
	if err == nil {
		*c = v
	}
	return err
}

// UnmarshalText parses a lower-case risk name.
func (r *Risk) UnmarshalText(b []byte) error {
	v, err := ParseRisk(string(b))
	if err == nil {
		*r = v
	}
	return err
}

// UnmarshalText parses a policy name.
func (p *Policy) UnmarshalText(b []byte) error {
	v, err := ParsePolicy(string(b))
	if err == nil {
		*p = v
	}
	return err
}

// Result is the verdict on one request.
type Result struct {
	// ReadOnly is true only when the statement is positively known to have
	// no effects; it implies Class == ClassRead and Policy == PolicyNone.
	ReadOnly bool  `json:"read_only"`
	Class    Class `json:"class"`
	// Statements is the number of non-empty statements found (1 unless the
	// request was empty or held several statements, which is an error).
	Statements int `json:"statements"`
	// Tables lists the tables (and other named objects) read or written,
	// lower-cased, backticks removed, written targets first. Best effort.
	Tables []string `json:"tables"`
	Risk   Risk     `json:"risk"`
	Policy Policy   `json:"policy"`
	// Reasons explain the verdict in words an approver can act on.
	Reasons []string `json:"reasons,omitempty"`
}

// Sentinel errors. Errors returned by Classify wrap one of these (use
// errors.Is); the Result that comes with an error is never read-only.
var (
	// ErrEmpty: the request holds no statement (only blanks or comments).
	ErrEmpty = errors.New("sqlguard: no SQL statement")
	// ErrTooLong: the request is longer than Config.MaxLength bytes.
	ErrTooLong = errors.New("sqlguard: SQL statement too long")
	// ErrMultipleStatements: more than one statement in one request.
	ErrMultipleStatements = errors.New("sqlguard: more than one SQL statement in one request")
	// ErrSyntax: the text cannot be lexed (unterminated string, comment or
	// identifier, invalid UTF-8). See SyntaxError for the position.
	ErrSyntax = errors.New("sqlguard: SQL syntax error")
)

// SyntaxError reports where the text could not be lexed. It wraps ErrSyntax.
type SyntaxError struct {
	Offset int    // byte offset in the request where the problem starts
	Msg    string // what is wrong, e.g. "unterminated string literal"
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("sqlguard: SQL syntax error at byte %d: %s", e.Offset, e.Msg)
}

// Unwrap lets errors.Is(err, ErrSyntax) match.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// DefaultMaxLength bounds a request when Config.MaxLength is zero.
const DefaultMaxLength = 64 << 10

// Config configures a Classifier. The zero value is valid.
type Config struct {
	// MaxLength is the longest request accepted, in bytes; 0 means
	// DefaultMaxLength. Longer requests fail with ErrTooLong.
	MaxLength int
	// Policies overrides the approval policy. Keys are class names
	// ("write", "ddl", "dcl", "session", "unknown") or risk names ("low",
	// "medium", "high", "critical"); values are PolicySelf or
	// PolicyFourEyes. A statement gets the stricter of its class's policy
	// (if set) and its risk's policy (set here, or the default: four-eyes
	// for high and critical, self otherwise).
	Policies map[string]Policy
	// UnsafeFunctions names further functions (for example user-defined
	// functions that call out) whose use makes a statement not read-only.
	// Matched case-insensitively against the last part of the name.
	UnsafeFunctions []string
}
