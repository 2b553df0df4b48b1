// Package config reads behalf's settings from environment variables (the
// Functions app settings). Every setting has a documented name, default
// and meaning; Load validates all of them and reports every problem at
// once, and Check renders what is set, missing and wrong with secrets
// masked (behalf config check). The README's configuration table is
// generated from the same definitions and checked by a test.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Config is the validated configuration.
type Config struct {
	Identity        Identity
	Genie           Genie
	Audit           Audit
	SQL             SQL
	Queue           Queue
	Port            int
	LogLevel        slog.Level
	MaxBodyBytes    int64
	ReadTimeout     time.Duration
	WriteTimeout    time.Duration
	IdleTimeout     time.Duration
	ShutdownTimeout time.Duration
}

// Setting is one documented environment variable.
type Setting struct {
	Name        string
	Default     string
	Description string
	// Secret values are never printed.
	Secret bool
	// Required settings have no default and must be set.
	Required bool
	// Aliases are read, in order, when Name is unset (e.g. PORT).
	Aliases []string
	// apply parses the value into cfg.
	apply func(cfg *Config, value string) error
}

// Lookup reads a variable (os.LookupEnv in production).
type Lookup func(name string) (string, bool)

// Problem is one invalid or missing setting.
type Problem struct {
	Name    string
	Message string
}

// Problems is every problem found by Load.
type Problems []Problem

func (p Problems) Error() string {
	parts := make([]string, len(p))
	for i, x := range p {
		parts[i] = x.Name + ": " + x.Message
	}
	return "invalid configuration: " + strings.Join(parts, "; ")
}

// Load reads and validates every setting. The error, if any, is Problems.
func Load(lookup Lookup) (*Config, error) {
	cfg := &Config{}
	var problems Problems
	for _, s := range Settings() {
		v, _, set := s.value(lookup)
		if !set && s.Required {
			problems = append(problems, Problem{s.Name, "is required: " + s.Description})
			continue
		}
		if err := s.apply(cfg, v); err != nil {
			problems = append(problems, Problem{s.Name, err.Error()})
		}
	}
	problems = append(problems, crossChecks(cfg)...)
	if len(problems) > 0 {
		return nil, problems
	}
	return cfg, nil
}

// value returns the setting's value, where it came from and whether it was set.
func (s Setting) value(lookup Lookup) (value, source string, set bool) {
	for _, name := range append([]string{s.Name}, s.Aliases...) {
		if v, ok := lookup(name); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v), name, true
		}
	}
	return s.Default, "default", false
}

func crossChecks(cfg *Config) Problems {
	var p Problems
	if cfg.WriteTimeout > 0 && cfg.WriteTimeout <= cfg.ReadTimeout {
		p = append(p, Problem{"BEHALF_WRITE_TIMEOUT", "must be longer than BEHALF_READ_TIMEOUT"})
	}
	id := cfg.Identity
	switch id.Credential {
	case "certificate":
		if id.CertificatePath == "" {
			p = append(p, Problem{"BEHALF_CLIENT_CERTIFICATE_PATH", "is required when BEHALF_CREDENTIAL=certificate"})
		}
	case "secret":
		if id.ClientSecret == "" {
			p = append(p, Problem{"BEHALF_CLIENT_SECRET", "is required when BEHALF_CREDENTIAL=secret"})
		}
	}
	if cfg.Queue.Kind == "servicebus" && cfg.Queue.Namespace == "" && cfg.Queue.ConnectionString == "" {
		p = append(p, Problem{"BEHALF_SERVICEBUS_NAMESPACE", "is required when BEHALF_QUEUE=servicebus (or BEHALF_SERVICEBUS_CONNECTION_STRING for development)"})
	}
	if id.Exchange == "federation" && len(id.FederationIssuers) == 0 {
		p = append(p, Problem{"BEHALF_FEDERATION_ISSUERS", "is required when BEHALF_EXCHANGE=federation"})
	}
	p = append(p, auditChecks(cfg)...)
	return p
}

// Item is one line of a configuration report.
type Item struct {
	Name    string
	Value   string // masked for secrets
	Source  string // the variable it came from, or "default", or "unset"
	Problem string
	Warning string
}

// Check reports every setting, masking secrets, with any problem.
func Check(lookup Lookup) []Item {
	items := check(Settings(), lookup)
	set := func(name string, f func(*Item)) {
		for i := range items {
			if items[i].Name == name {
				f(&items[i])
			}
		}
	}
	cfg, err := Load(lookup)
	if err == nil {
		for _, name := range cfg.Identity.Missing() {
			set(name, func(it *Item) { it.Problem = "missing: every function but health answers 503 until it is set" })
		}
		if cfg.Identity.Credential == "secret" {
			set("BEHALF_CLIENT_SECRET", func(it *Item) {
				it.Warning = "client secrets are for development only; use BEHALF_CREDENTIAL=managed-identity in production"
			})
		}
	}
	if err != nil {
		// Cross-setting problems only show up in Load.
		var ps Problems
		if errors.As(err, &ps) {
			for _, p := range ps {
				for i := range items {
					if items[i].Name == p.Name && items[i].Problem == "" {
						items[i].Problem = p.Message
					}
				}
			}
		}
	}
	return items
}

func check(settings []Setting, lookup Lookup) []Item {
	items := make([]Item, 0, len(settings))
	for _, s := range settings {
		v, src, set := s.value(lookup)
		it := Item{Name: s.Name, Source: src, Value: v}
		switch {
		case !set && s.Default == "":
			it.Source, it.Value = "unset", ""
			if s.Required {
				it.Problem = "missing: " + s.Description
			}
		case s.Secret && set:
			it.Value = Mask(v)
		}
		if set || s.Default != "" {
			if err := s.apply(&Config{}, v); err != nil {
				it.Problem = err.Error()
			}
		}
		items = append(items, it)
	}
	return items
}

// Mask shows that a secret is set without revealing any of it.
func Mask(v string) string {
	if v == "" {
		return ""
	}
	return fmt.Sprintf("set (%d characters, hidden)", len(v))
}

// MarkdownTable renders the settings as the README's configuration table.
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| Setting | Default | Meaning |\n|---|---|---|\n")
	for _, s := range Settings() {
		def := "`" + s.Default + "`"
		switch {
		case s.Required:
			def = "required"
		case s.Default == "":
			def = "unset"
		}
		name := "`" + s.Name + "`"
		for _, a := range s.Aliases {
			name += " (or `" + a + "`)"
		}
		desc := s.Description
		if s.Secret {
			desc += " Secret: never printed."
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", name, def, strings.ReplaceAll(desc, "|", "\\|"))
	}
	return b.String()
}
