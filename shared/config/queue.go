package config

import (
	"fmt"
	"regexp"
	"strings"
)

// Queue selects and configures the message queue.
type Queue struct {
	// Kind is embedded (a SQLite file) or servicebus.
	Kind string
	// Path is the embedded queue's SQLite file.
	Path string
	// Namespace is the Service Bus namespace (fully qualified).
	Namespace string
	// ConnectionString is a Service Bus connection string (development).
	ConnectionString string
	PendingQueue     string
	AuditQueue       string
}

var queueName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._\-]{0,259}$`)

func queueSettings() []Setting {
	name := func(setting, def, desc string, set func(*Queue, string)) Setting {
		return Setting{Name: setting, Default: def, Description: desc, apply: func(c *Config, v string) error {
			if !queueName.MatchString(v) {
				return fmt.Errorf("must be a queue name (letters, digits, . _ -), got %q", v)
			}
			set(&c.Queue, v)
			return nil
		}}
	}
	return []Setting{
		{Name: "BEHALF_QUEUE", Default: "embedded", Description: "Message queue for pending operations and audit events: embedded (a SQLite file; standalone and dev) or servicebus.",
			apply: func(c *Config, v string) error {
				if v != "embedded" && v != "servicebus" {
					return fmt.Errorf("must be embedded or servicebus, got %q", v)
				}
				c.Queue.Kind = v
				return nil
			}},
		{Name: "BEHALF_QUEUE_PATH", Default: "behalf-queue.db", Description: "SQLite file of the embedded queue (BEHALF_QUEUE=embedded); several processes on one machine may share it.",
			apply: func(c *Config, v string) error { c.Queue.Path = v; return nil }},
		{Name: "BEHALF_SERVICEBUS_NAMESPACE", Description: "Fully qualified Service Bus namespace, e.g. behalf.servicebus.windows.net (BEHALF_QUEUE=servicebus; reached with the managed identity).",
			apply: func(c *Config, v string) error {
				if v != "" && (strings.Contains(v, "/") || !strings.Contains(v, ".")) {
					return fmt.Errorf("must be a host name like <name>.servicebus.windows.net, got %q", v)
				}
				c.Queue.Namespace = v
				return nil
			}},
		{Name: "BEHALF_SERVICEBUS_CONNECTION_STRING", Secret: true, Description: "Service Bus connection string instead of the managed identity; development and AWS only.",
			apply: func(c *Config, v string) error { c.Queue.ConnectionString = v; return nil }},
		name("BEHALF_PENDING_QUEUE", "pending-operations", "Session-enabled queue holding pending operations (one session per operation).",
			func(q *Queue, v string) { q.PendingQueue = v }),
		name("BEHALF_AUDIT_QUEUE", "audit", "Queue carrying audit events to audit-writer; must match audit-writer's function.json.",
			func(q *Queue, v string) { q.AuditQueue = v }),
	}
}
