package config

import (
	"fmt"
	"strconv"
	"time"
)

// Genie configures genie-query.
type Genie struct {
	DefaultSpace       string
	AllowedSpaces      []string
	MaxRows            int
	Deadline           time.Duration
	FollowUpDeadline   time.Duration
	PollInitial        time.Duration
	PollMax            time.Duration
	QuestionsPerMinute int
}

func genieSettings() []Setting {
	intSetting := func(name, def, desc string, min, max int, set func(*Genie, int)) Setting {
		return Setting{Name: name, Default: def, Description: desc, apply: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < min || n > max {
				return fmt.Errorf("must be a whole number from %d to %d, got %q", min, max, v)
			}
			set(&c.Genie, n)
			return nil
		}}
	}
	dur := func(name, def, desc string, min, max time.Duration, set func(*Genie, time.Duration)) Setting {
		return Setting{Name: name, Default: def, Description: desc, apply: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < min || d > max {
				return fmt.Errorf("must be a duration between %s and %s, got %q", min, max, v)
			}
			set(&c.Genie, d)
			return nil
		}}
	}
	return []Setting{
		{Name: "BEHALF_GENIE_SPACE_ID", Description: "Genie space asked when a request names none.",
			apply: func(c *Config, v string) error { c.Genie.DefaultSpace = v; return nil }},
		{Name: "BEHALF_GENIE_ALLOWED_SPACES", Description: "Other Genie spaces callers may name, comma-separated (the default space is always allowed).",
			apply: func(c *Config, v string) error { c.Genie.AllowedSpaces = splitList(v); return nil }},
		intSetting("BEHALF_GENIE_MAX_ROWS", "50", "Most rows in a genie-query answer (Genie returns at most 5,000).", 1, 5000,
			func(g *Genie, n int) { g.MaxRows = n }),
		dur("BEHALF_GENIE_DEADLINE", "60s", "How long a new question waits for Genie before answering 202 with ids to poll.", time.Second, 200*time.Second,
			func(g *Genie, d time.Duration) { g.Deadline = d }),
		dur("BEHALF_GENIE_FOLLOWUP_DEADLINE", "40s", "How long a follow-up or a poll waits before answering 202.", time.Second, 200*time.Second,
			func(g *Genie, d time.Duration) { g.FollowUpDeadline = d }),
		dur("BEHALF_GENIE_POLL_INITIAL", "1s", "First interval between status polls; it grows 1.5x per poll.", 10*time.Millisecond, 30*time.Second,
			func(g *Genie, d time.Duration) { g.PollInitial = d }),
		dur("BEHALF_GENIE_POLL_MAX", "5s", "Longest interval between status polls.", 10*time.Millisecond, time.Minute,
			func(g *Genie, d time.Duration) { g.PollMax = d }),
		intSetting("BEHALF_GENIE_QUESTIONS_PER_MINUTE", "5", "Questions per minute per workspace (per instance) before 429; 0 disables.", 0, 10000,
			func(g *Genie, n int) { g.QuestionsPerMinute = n }),
	}
}
