package sqlguard

import (
	"errors"
	"fmt"
	"strings"
)

// Classifier classifies SQL requests. It is safe for concurrent use.
type Classifier struct {
	maxLen      int
	riskPolicy  [len(riskNames)]Policy
	classPolicy map[Class]Policy
	unsafeFuncs map[string]bool
}

// maxNesting bounds EXECUTE IMMEDIATE '...EXECUTE IMMEDIATE...' recursion.
const maxNesting = 4

// New validates cfg and returns a Classifier.
func New(cfg Config) (*Classifier, error) {
	c := &Classifier{maxLen: cfg.MaxLength, classPolicy: map[Class]Policy{}}
	if c.maxLen == 0 {
		c.maxLen = DefaultMaxLength
	}
	if c.maxLen < 0 {
		return nil, fmt.Errorf("sqlguard: MaxLength must not be negative, got %d", cfg.MaxLength)
	}
	c.riskPolicy = [...]Policy{RiskLow: PolicySelf, RiskMedium: PolicySelf, RiskHigh: PolicyFourEyes, RiskCritical: PolicyFourEyes}
	for key, p := range cfg.Policies {
		if p != PolicySelf && p != PolicyFourEyes {
			return nil, fmt.Errorf("sqlguard: policy for %q must be %q or %q, got %q", key, PolicySelf, PolicyFourEyes, p)
		}
		if r, err := ParseRisk(key); err == nil {
			c.riskPolicy[r] = p
			continue
		}
		cl, err := ParseClass(key)
		if err != nil || cl == ClassRead {
			return nil, fmt.Errorf("sqlguard: policy key %q is neither a risk (low, medium, high, critical) nor a class (write, ddl, dcl, session, unknown)", key)
		}
		c.classPolicy[cl] = p
	}
	if len(cfg.UnsafeFunctions) > 0 {
		c.unsafeFuncs = make(map[string]bool, len(cfg.UnsafeFunctions))
		for _, f := range cfg.UnsafeFunctions {
			f = strings.ToLower(strings.TrimSpace(f))
			if i := strings.LastIndexByte(f, '.'); i >= 0 {
				f = f[i+1:]
			}
			if f == "" {
				return nil, errors.New("sqlguard: empty name in UnsafeFunctions")
			}
			c.unsafeFuncs[f] = true
		}
	}
	return c, nil
}

// Classify classifies one request. The error is non-nil for requests that
// cannot be judged at all (empty, too long, several statements, unlexable);
// the Result is then filled in too, and is never read-only.
func (c *Classifier) Classify(sql string) (Result, error) {
	if len(sql) > c.maxLen {
		err := fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLong, len(sql), c.maxLen)
		return c.failed(0, err), err
	}
	v, n, err := c.judge(sql, 0)
	if err != nil {
		return c.failed(n, err), err
	}
	return c.result(v), nil
}

// failed is the Result that goes with an error: never read-only.
func (c *Classifier) failed(statements int, err error) Result {
	r := Result{
		Class:      ClassUnknown,
		Statements: statements,
		Tables:     []string{},
		Risk:       RiskHigh,
		Policy:     c.policyFor(ClassUnknown, RiskHigh),
	}
	if err != nil {
		r.Reasons = []string{err.Error()}
	}
	return r
}

func (c *Classifier) result(v verdict) Result {
	res := Result{
		ReadOnly:   v.class == ClassRead,
		Class:      v.class,
		Statements: 1,
		Tables:     v.tableList(),
		Risk:       v.risk,
		Reasons:    v.reasons,
	}
	if res.ReadOnly {
		res.Risk = RiskLow
		res.Policy = PolicyNone
	} else {
		res.Policy = c.policyFor(v.class, v.risk)
	}
	return res
}

func (c *Classifier) policyFor(cl Class, r Risk) Policy {
	p := c.riskPolicy[r]
	if cp, ok := c.classPolicy[cl]; ok && cp > p {
		p = cp
	}
	return max(p, PolicySelf)
}

// judge lexes, splits and analyses sql. n is the number of statements found.
func (c *Classifier) judge(sql string, nesting int) (v verdict, n int, err error) {
	v, n, err = c.judgeWith(sql, sparkLex, nesting)
	if err != nil || v.class != ClassRead || !v.ambiguous {
		return v, n, err
	}
	// The text holds nested comments, a comment continuation or a raw string
	// with a backslash. Other readers (older Spark versions, client-side
	// splitters) see different tokens there, so the read-only verdict must
	// hold for the plain reading too.
	alt, _, altErr := c.judgeWith(sql, plainLex, nesting)
	if altErr == nil && alt.class == ClassRead {
		return v, n, nil
	}
	const why = "the text reads differently when comments do not nest, -- comments do not continue over a backslash, or r'...' is not a raw string; the stricter reading is used"
	if altErr != nil {
		v.class, v.risk = ClassUnknown, RiskHigh
		v.reasons = []string{why, altErr.Error()}
		return v, n, nil
	}
	alt.reasons = append([]string{why}, alt.reasons...)
	return alt, n, nil
}

func (c *Classifier) judgeWith(sql string, opt lexOptions, nesting int) (verdict, int, error) {
	lx, err := lex(sql, opt)
	if err != nil {
		return verdict{}, 0, err
	}
	parts := splitTokens(lx.toks)
	switch {
	case len(parts) == 0:
		return verdict{}, 0, ErrEmpty
	case len(parts) > 1:
		return verdict{}, len(parts), fmt.Errorf("%w: found %d statements; send them one at a time", ErrMultipleStatements, len(parts))
	}
	a := newAnalyzer(c, sql, parts[0].toks, nesting)
	v := a.run()
	v.ambiguous = lx.ambiguous
	c.applyTextFindings(&v, sql, lx)
	return v, 1, nil
}

// applyTextFindings applies what the lexer saw in the raw text: suspicious
// characters, characters Spark rejects, ${...} substitution.
func (c *Classifier) applyTextFindings(v *verdict, sql string, lx *lexed) {
	var notes []string
	notes = append(notes, lx.suspicious...)
	if lx.unrecognised && len(lx.suspicious) == 0 {
		notes = append(notes, "contains characters that Spark does not recognise")
	}
	if strings.Contains(sql, "${") {
		notes = append(notes, "contains ${...}, which Spark substitutes from configuration and environment variables before parsing, even inside strings and comments")
	}
	if hasControl(sql) {
		notes = append(notes, "contains a control character (NUL, escape, ...): tools that stop at NUL or interpret escapes would show or run something else")
	}
	if len(notes) == 0 {
		return
	}
	if v.class == ClassRead {
		v.class = ClassUnknown
		v.reasons = nil
	}
	v.risk = max(v.risk, RiskHigh)
	v.reasons = append(v.reasons, notes...)
}

// hasControl reports C0 control characters other than the blanks Spark
// skips (tab, newline, carriage return, form feed, vertical tab), and DEL,
// anywhere in the text, strings and comments included. They have no place
// in a statement a person wrote.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v') || c == 0x7f {
			return true
		}
	}
	return false
}
