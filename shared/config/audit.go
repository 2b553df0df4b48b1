package config

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Audit configures the audit trail: the emitter every function uses, the
// audit-writer's store, the scheduled export and behalf's own (M2M)
// Databricks identity that the Databricks store and the volume export use.
//
// The audit queue's name is Queue.AuditQueue (BEHALF_AUDIT_QUEUE).
type Audit struct {
	BufferSize    int
	BatchSize     int
	FlushInterval time.Duration
	// ReadFailMode is closed (refuse reads with 503 while the trail is
	// unhealthy) or open; changes always fail closed.
	ReadFailMode string
	// RecordStatements puts statement text (redacted) into events, not
	// only its SHA-256.
	RecordStatements bool
	// MaxDeliveries must equal the audit queue's max delivery count, so
	// the writer knows which failed delivery is the last.
	MaxDeliveries int

	// Store is sqlite or databricks.
	Store       string
	SQLitePath  string
	Table       string
	WarehouseID string

	ExportSchedule string
	ExportPeriod   time.Duration
	// ExportSink is none, local, blob or volume.
	ExportSink       string
	ExportDir        string
	ExportBlobURL    string
	ExportBlobPrefix string
	ExportVolumeDir  string

	// M2MCredential is managed-identity or oauth-secret.
	M2MCredential   string
	M2MClientID     string
	M2MClientSecret string
}

// NeedsM2M reports whether behalf's own Databricks identity is used.
func (a Audit) NeedsM2M() bool { return a.Store == "databricks" || a.ExportSink == "volume" }

var (
	reTablePart  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
	cronSchedule = cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)
)

func auditSettings() []Setting {
	str := func(name, def, desc string, set func(*Audit, string)) Setting {
		return Setting{Name: name, Default: def, Description: desc, apply: func(c *Config, v string) error { set(&c.Audit, v); return nil }}
	}
	oneOf := func(name, def, desc string, values []string, set func(*Audit, string)) Setting {
		return Setting{Name: name, Default: def, Description: desc, apply: func(c *Config, v string) error {
			if !slices.Contains(values, v) {
				return fmt.Errorf("must be %s, got %q", strings.Join(values, ", "), v)
			}
			set(&c.Audit, v)
			return nil
		}}
	}
	num := func(name, def, desc string, lo, hi int, set func(*Audit, int)) Setting {
		return Setting{Name: name, Default: def, Description: desc, apply: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < lo || n > hi {
				return fmt.Errorf("must be a whole number from %d to %d, got %q", lo, hi, v)
			}
			set(&c.Audit, n)
			return nil
		}}
	}
	dur := func(name, def, desc string, lo, hi time.Duration, set func(*Audit, time.Duration)) Setting {
		return Setting{Name: name, Default: def, Description: desc, apply: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < lo || d > hi {
				return fmt.Errorf("must be a duration between %s and %s, got %q", lo, hi, v)
			}
			set(&c.Audit, d)
			return nil
		}}
	}
	return []Setting{
		num("BEHALF_AUDIT_BUFFER_SIZE", "10000", "Audit events a function instance holds while the queue is slow; when full, requests fail closed.", 100, 1_000_000,
			func(a *Audit, n int) { a.BufferSize = n }),
		num("BEHALF_AUDIT_BATCH_SIZE", "100", "Most audit events per queue message.", 1, 1000,
			func(a *Audit, n int) { a.BatchSize = n }),
		dur("BEHALF_AUDIT_FLUSH_INTERVAL", "1s", "Longest an audit event waits for its batch to fill.", 10*time.Millisecond, time.Minute,
			func(a *Audit, d time.Duration) { a.FlushInterval = d }),
		oneOf("BEHALF_AUDIT_READS", "closed", "While the audit trail cannot take events, reads are refused with 503 (closed) or served (open); changes always fail closed.",
			[]string{"closed", "open"}, func(a *Audit, v string) { a.ReadFailMode = v }),
		{Name: "BEHALF_AUDIT_STATEMENT_TEXT", Default: "false", Description: "Record statement text (credential-shaped literals redacted) in audit events, not only its SHA-256.",
			apply: func(c *Config, v string) error {
				b, err := strconv.ParseBool(v)
				if err != nil {
					return fmt.Errorf("must be true or false, got %q", v)
				}
				c.Audit.RecordStatements = b
				return nil
			}},
		num("BEHALF_AUDIT_MAX_DELIVERIES", "10", "The audit queue's max delivery count (the writer counts the messages that go to the dead-letter queue after it).", 1, 2000,
			func(a *Audit, n int) { a.MaxDeliveries = n }),
		oneOf("BEHALF_AUDIT_STORE", "sqlite", "Where audit-writer keeps the hash chain: sqlite (embedded file) or databricks (a Delta table, as behalf's M2M identity).",
			[]string{"sqlite", "databricks"}, func(a *Audit, v string) { a.Store = v }),
		str("BEHALF_AUDIT_SQLITE_PATH", "behalf-audit.db", "The embedded audit store's SQLite file (BEHALF_AUDIT_STORE=sqlite).",
			func(a *Audit, v string) { a.SQLitePath = v }),
		{Name: "BEHALF_AUDIT_TABLE", Default: "main.behalf.audit_events", Description: "The Delta table catalog.schema.table of the Databricks audit store (created if missing).",
			apply: func(c *Config, v string) error {
				parts := strings.Split(v, ".")
				if len(parts) != 3 || !reTablePart.MatchString(parts[0]) || !reTablePart.MatchString(parts[1]) || !reTablePart.MatchString(parts[2]) {
					return fmt.Errorf("must be catalog.schema.table of letters, digits and underscores, got %q", v)
				}
				c.Audit.Table = v
				return nil
			}},
		str("BEHALF_AUDIT_WAREHOUSE_ID", "", "SQL warehouse the Databricks audit store runs its statements on.",
			func(a *Audit, v string) { a.WarehouseID = v }),
		{Name: "BEHALF_AUDIT_EXPORT_SCHEDULE", Default: "0 0 2 * * *", Description: "When audit-export runs: six-field NCRONTAB in UTC (the timer trigger reads it as %BEHALF_AUDIT_EXPORT_SCHEDULE%).",
			apply: func(c *Config, v string) error {
				if _, err := cronSchedule.Parse(v); err != nil {
					return fmt.Errorf("must be a six-field NCRONTAB expression such as \"0 0 2 * * *\", got %q", v)
				}
				c.Audit.ExportSchedule = v
				return nil
			}},
		dur("BEHALF_AUDIT_EXPORT_PERIOD", "24h", "Length of one export period (aligned to UTC midnight for a day).", time.Minute, 31*24*time.Hour,
			func(a *Audit, d time.Duration) { a.ExportPeriod = d }),
		oneOf("BEHALF_AUDIT_EXPORT_SINK", "none", "Where audit-export writes: none, local (a folder), blob (Azure Blob Storage, managed identity) or volume (a Unity Catalog volume).",
			[]string{"none", "local", "blob", "volume"}, func(a *Audit, v string) { a.ExportSink = v }),
		str("BEHALF_AUDIT_EXPORT_DIR", "", "Folder for BEHALF_AUDIT_EXPORT_SINK=local.",
			func(a *Audit, v string) { a.ExportDir = v }),
		{Name: "BEHALF_AUDIT_EXPORT_BLOB_CONTAINER_URL", Description: "Container for BEHALF_AUDIT_EXPORT_SINK=blob: https://<account>.blob.core.windows.net/<container> (no SAS; the managed identity needs Storage Blob Data Contributor).",
			apply: func(c *Config, v string) error {
				if v == "" {
					return nil
				}
				u, err := url.Parse(v)
				if err != nil || u.Scheme != "https" || u.Host == "" || strings.Trim(u.Path, "/") == "" || u.RawQuery != "" || u.User != nil {
					return fmt.Errorf("must be https://<account>.blob.core.windows.net/<container> with no query string")
				}
				c.Audit.ExportBlobURL = strings.TrimRight(v, "/")
				return nil
			}},
		str("BEHALF_AUDIT_EXPORT_BLOB_PREFIX", "", "Folder inside the blob container, e.g. behalf/ (optional).",
			func(a *Audit, v string) { a.ExportBlobPrefix = v }),
		{Name: "BEHALF_AUDIT_EXPORT_VOLUME_DIR", Description: "Folder for BEHALF_AUDIT_EXPORT_SINK=volume: /Volumes/<catalog>/<schema>/<volume>[/...].",
			apply: func(c *Config, v string) error {
				if v == "" {
					return nil
				}
				clean := path.Clean(v)
				if !strings.HasPrefix(clean, "/Volumes/") || len(strings.Split(clean, "/")) < 5 {
					return fmt.Errorf("must be /Volumes/<catalog>/<schema>/<volume>[/...], got %q", v)
				}
				c.Audit.ExportVolumeDir = clean
				return nil
			}},
		oneOf("BEHALF_DATABRICKS_M2M_CREDENTIAL", "managed-identity", "behalf's own Databricks identity (audit store, volume export; never a person's request): managed-identity (Entra token for Azure Databricks) or oauth-secret (a service principal's OAuth secret, for development and non-Azure workspaces).",
			[]string{"managed-identity", "oauth-secret"}, func(a *Audit, v string) { a.M2MCredential = v }),
		str("BEHALF_DATABRICKS_M2M_CLIENT_ID", "", "Application id of behalf's Databricks service principal (BEHALF_DATABRICKS_M2M_CREDENTIAL=oauth-secret).",
			func(a *Audit, v string) { a.M2MClientID = v }),
		{Name: "BEHALF_DATABRICKS_M2M_CLIENT_SECRET", Secret: true, Description: "OAuth secret of behalf's Databricks service principal (BEHALF_DATABRICKS_M2M_CREDENTIAL=oauth-secret).",
			apply: func(c *Config, v string) error { c.Audit.M2MClientSecret = v; return nil }},
	}
}

// auditChecks are the cross-setting rules of the audit settings.
func auditChecks(cfg *Config) Problems {
	var p Problems
	a := cfg.Audit
	if a.Store == "databricks" && a.WarehouseID == "" {
		p = append(p, Problem{"BEHALF_AUDIT_WAREHOUSE_ID", "is required when BEHALF_AUDIT_STORE=databricks"})
	}
	if a.NeedsM2M() && cfg.Identity.DatabricksHost == "" {
		p = append(p, Problem{"BEHALF_DATABRICKS_HOST", "is required when BEHALF_AUDIT_STORE=databricks or BEHALF_AUDIT_EXPORT_SINK=volume"})
	}
	if a.NeedsM2M() && a.M2MCredential == "oauth-secret" {
		if a.M2MClientID == "" {
			p = append(p, Problem{"BEHALF_DATABRICKS_M2M_CLIENT_ID", "is required when BEHALF_DATABRICKS_M2M_CREDENTIAL=oauth-secret"})
		}
		if a.M2MClientSecret == "" {
			p = append(p, Problem{"BEHALF_DATABRICKS_M2M_CLIENT_SECRET", "is required when BEHALF_DATABRICKS_M2M_CREDENTIAL=oauth-secret"})
		}
	}
	switch a.ExportSink {
	case "local":
		if a.ExportDir == "" {
			p = append(p, Problem{"BEHALF_AUDIT_EXPORT_DIR", "is required when BEHALF_AUDIT_EXPORT_SINK=local"})
		}
	case "blob":
		if a.ExportBlobURL == "" {
			p = append(p, Problem{"BEHALF_AUDIT_EXPORT_BLOB_CONTAINER_URL", "is required when BEHALF_AUDIT_EXPORT_SINK=blob"})
		}
	case "volume":
		if a.ExportVolumeDir == "" {
			p = append(p, Problem{"BEHALF_AUDIT_EXPORT_VOLUME_DIR", "is required when BEHALF_AUDIT_EXPORT_SINK=volume"})
		}
	}
	return p
}
