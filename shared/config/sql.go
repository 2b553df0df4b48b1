package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"time"
)

// SQL configures sql-propose, sql-approve and the expiry sweep.
type SQL struct {
	WarehouseID       string
	AllowedWarehouses []string
	MaxRows           int
	MaxStatementBytes int
	// ReadDeadline bounds a read-only statement; RunDeadline an approved
	// change (which is not cancelled at the deadline, only reported).
	ReadDeadline time.Duration
	RunDeadline  time.Duration
	// Policies overrides approval policies: class or risk name → self or
	// four-eyes (sqlguard.Config.Policies).
	Policies        map[string]string
	UnsafeFunctions []string
	ApprovalWindow  time.Duration
	// ApproversGroup is the object id of the approvers group (tokens carry
	// group ids); ApproverRole is the app role that also makes an approver.
	ApproversGroup string
	ApproverRole   string
	// TeamsWebhookURL is the Workflows webhook for approval cards (secret:
	// its sig= parameter is the credential).
	TeamsWebhookURL string
}

// warehouseID is what Databricks warehouse ids look like (hex).
var warehouseID = regexp.MustCompile(`^[0-9a-zA-Z][0-9a-zA-Z_-]{0,63}$`)

func sqlSettings() []Setting {
	intSetting := func(name, def, desc string, min, max int, set func(*SQL, int)) Setting {
		return Setting{Name: name, Default: def, Description: desc, apply: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < min || n > max {
				return fmt.Errorf("must be a whole number from %d to %d, got %q", min, max, v)
			}
			set(&c.SQL, n)
			return nil
		}}
	}
	dur := func(name, def, desc string, min, max time.Duration, set func(*SQL, time.Duration)) Setting {
		return Setting{Name: name, Default: def, Description: desc, apply: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < min || d > max {
				return fmt.Errorf("must be a duration between %s and %s, got %q", min, max, v)
			}
			set(&c.SQL, d)
			return nil
		}}
	}
	return []Setting{
		{Name: "BEHALF_SQL_WAREHOUSE_ID", Description: "SQL warehouse statements run on when a request names none.",
			apply: func(c *Config, v string) error {
				if v != "" && !warehouseID.MatchString(v) {
					return fmt.Errorf("must be a warehouse id (letters, digits, - and _), got %q", v)
				}
				c.SQL.WarehouseID = v
				return nil
			}},
		{Name: "BEHALF_SQL_ALLOWED_WAREHOUSES", Description: "Other warehouses callers may name, comma-separated (the default warehouse is always allowed).",
			apply: func(c *Config, v string) error {
				c.SQL.AllowedWarehouses = splitList(v)
				for _, w := range c.SQL.AllowedWarehouses {
					if !warehouseID.MatchString(w) {
						return fmt.Errorf("%q is not a warehouse id", w)
					}
				}
				return nil
			}},
		intSetting("BEHALF_SQL_MAX_ROWS", "1000", "Most rows in a read-only sql-propose answer.", 1, 10000,
			func(s *SQL, n int) { s.MaxRows = n }),
		intSetting("BEHALF_SQL_MAX_STATEMENT_BYTES", "65536", "Longest statement accepted, in bytes.", 64, 1<<20,
			func(s *SQL, n int) { s.MaxStatementBytes = n }),
		dur("BEHALF_SQL_READ_DEADLINE", "50s", "How long a read-only statement may run before it is cancelled.", time.Second, 200*time.Second,
			func(s *SQL, d time.Duration) { s.ReadDeadline = d }),
		dur("BEHALF_SQL_RUN_DEADLINE", "120s", "How long a confirmed change is waited for before its outcome is reported as still running.", time.Second, 200*time.Second,
			func(s *SQL, d time.Duration) { s.RunDeadline = d }),
		{Name: "BEHALF_SQL_POLICIES", Description: "Approval policy overrides: class (write, ddl, dcl, session, unknown) or risk (low, medium, high, critical) = self or four-eyes, comma-separated. Default: four-eyes for high and critical risk, self otherwise.",
			apply: func(c *Config, v string) error {
				m, err := parsePairs(v)
				if err != nil {
					return err
				}
				for k, p := range m {
					if p != "self" && p != "four-eyes" {
						return fmt.Errorf("policy for %q must be self or four-eyes, got %q", k, p)
					}
				}
				c.SQL.Policies = m
				return nil
			}},
		{Name: "BEHALF_SQL_UNSAFE_FUNCTIONS", Description: "Further functions (e.g. UDFs that call out) whose use makes a statement need approval, comma-separated.",
			apply: func(c *Config, v string) error { c.SQL.UnsafeFunctions = splitList(v); return nil }},
		dur("BEHALF_APPROVAL_WINDOW", "1h", "How long a proposed change waits for its approval and confirmation before it expires (the pending message's time to live).", 10*time.Second, 7*24*time.Hour,
			func(s *SQL, d time.Duration) { s.ApprovalWindow = d }),
		{Name: "BEHALF_APPROVERS_GROUP", Description: "Object id of the Entra group whose members may approve four-eyes operations.",
			apply: func(c *Config, v string) error { c.SQL.ApproversGroup = v; return nil }},
		{Name: "BEHALF_APPROVER_ROLE", Default: "approver", Description: "App role of behalf's API that also makes its holder an approver.",
			apply: func(c *Config, v string) error { c.SQL.ApproverRole = v; return nil }},
		{Name: "BEHALF_TEAMS_WEBHOOK_URL", Secret: true, Description: "Teams Workflows webhook URL that receives approval cards; unset posts no cards. Its sig= parameter is a credential: keep it in Key Vault.",
			apply: func(c *Config, v string) error {
				if v == "" {
					return nil
				}
				u, err := url.Parse(v)
				if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
					return fmt.Errorf("must be an https URL (http only for localhost)")
				}
				c.SQL.TeamsWebhookURL = v
				return nil
			}},
	}
}
