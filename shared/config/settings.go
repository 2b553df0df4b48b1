package config

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/behalf-dev/behalf/shared/logging"
)

// Settings returns every setting behalf reads, in documentation order.
// Add new settings here: README.md's table is generated from this list.
func Settings() []Setting {
	return slices.Concat(serverSettings(), identitySettings(), genieSettings(), sqlSettings(), queueSettings(), auditSettings())
}

func serverSettings() []Setting {
	return []Setting{
		{Name: "FUNCTIONS_CUSTOMHANDLER_PORT", Aliases: []string{"PORT"}, Default: "7071",
			Description: "Port `behalf serve` listens on (set by the Functions host; PORT is used by containers).",
			apply: func(c *Config, v string) error {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 || n > 65535 {
					return fmt.Errorf("must be a port number 1-65535, got %q", v)
				}
				c.Port = n
				return nil
			}},
		{Name: "BEHALF_LOG_LEVEL", Default: "info", Description: "Log level: debug, info, warn or error.",
			apply: func(c *Config, v string) error {
				l, ok := logging.ParseLevel(v)
				if !ok {
					return fmt.Errorf("must be debug, info, warn or error, got %q", v)
				}
				c.LogLevel = l
				return nil
			}},
		{Name: "BEHALF_MAX_BODY_BYTES", Default: "1048576", Description: "Largest request body accepted, in bytes (1 KiB to 16 MiB).",
			apply: func(c *Config, v string) error {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n < 1024 || n > 16<<20 {
					return fmt.Errorf("must be a byte count between 1024 and 16777216, got %q", v)
				}
				c.MaxBodyBytes = n
				return nil
			}},
		durationSetting("BEHALF_READ_TIMEOUT", "30s", "Time allowed to read a whole request.", time.Second, 5*time.Minute,
			func(c *Config, d time.Duration) { c.ReadTimeout = d }),
		durationSetting("BEHALF_WRITE_TIMEOUT", "225s", "Time allowed to answer a request; keep it under the Functions HTTP limit of 230 s.", time.Second, 230*time.Second,
			func(c *Config, d time.Duration) { c.WriteTimeout = d }),
		durationSetting("BEHALF_IDLE_TIMEOUT", "120s", "How long an idle keep-alive connection stays open.", time.Second, 10*time.Minute,
			func(c *Config, d time.Duration) { c.IdleTimeout = d }),
		durationSetting("BEHALF_SHUTDOWN_TIMEOUT", "30s", "How long shutdown waits for in-flight requests to finish.", time.Second, 5*time.Minute,
			func(c *Config, d time.Duration) { c.ShutdownTimeout = d }),
	}
}

func durationSetting(name, def, desc string, min, max time.Duration, set func(*Config, time.Duration)) Setting {
	return Setting{Name: name, Default: def, Description: desc, apply: func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < min || d > max {
			return fmt.Errorf("must be a duration between %s and %s (e.g. %q), got %q", min, max, def, v)
		}
		set(c, d)
		return nil
	}}
}
