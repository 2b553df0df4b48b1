package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) Lookup {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestLoadDefaults(t *testing.T) {
	cfg, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Port != 7071 || cfg.MaxBodyBytes != 1<<20 || cfg.WriteTimeout != 225*time.Second {
		t.Fatalf("defaults %+v", cfg)
	}
}

func TestPortPrecedence(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want int
	}{
		{map[string]string{"FUNCTIONS_CUSTOMHANDLER_PORT": "9123", "PORT": "8080"}, 9123},
		{map[string]string{"PORT": "8080"}, 8080},
		{nil, 7071},
	}
	for _, tc := range cases {
		cfg, err := Load(env(tc.env))
		if err != nil || cfg.Port != tc.want {
			t.Errorf("env %v: port %v err %v, want %d", tc.env, cfg, err, tc.want)
		}
	}
}

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	_, err := Load(env(map[string]string{
		"FUNCTIONS_CUSTOMHANDLER_PORT": "70000",
		"BEHALF_LOG_LEVEL":             "loud",
		"BEHALF_MAX_BODY_BYTES":        "lots",
		"BEHALF_READ_TIMEOUT":          "60s",
		"BEHALF_WRITE_TIMEOUT":         "45s",
	}))
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want Problems, got %v", err)
	}
	got := map[string]bool{}
	for _, p := range ps {
		got[p.Name] = true
	}
	for _, name := range []string{"FUNCTIONS_CUSTOMHANDLER_PORT", "BEHALF_LOG_LEVEL", "BEHALF_MAX_BODY_BYTES", "BEHALF_WRITE_TIMEOUT"} {
		if !got[name] {
			t.Errorf("problem with %s not reported; got %v", name, ps)
		}
	}
}

func TestCheckMasksSecretsAndMarksProblems(t *testing.T) {
	defs := []Setting{
		{Name: "X_SECRET", Secret: true, Description: "a secret", apply: func(*Config, string) error { return nil }},
		{Name: "X_NEEDED", Required: true, Description: "needed", apply: func(*Config, string) error { return nil }},
	}
	got := check(defs, env(map[string]string{"X_SECRET": "hunter2-value"}))
	if strings.Contains(got[0].Value, "hunter2") || got[0].Value == "" || got[0].Problem != "" {
		t.Fatalf("secret reported as %+v", got[0])
	}
	if got[1].Source != "unset" || !strings.HasPrefix(got[1].Problem, "missing") {
		t.Fatalf("missing required setting reported as %+v", got[1])
	}
	items := Check(env(map[string]string{"BEHALF_LOG_LEVEL": "loud"}))
	for _, it := range items {
		if it.Name == "BEHALF_LOG_LEVEL" && it.Problem == "" {
			t.Fatal("bad log level not marked")
		}
		if it.Name == "BEHALF_MAX_BODY_BYTES" && (it.Problem != "" || it.Source != "default") {
			t.Fatalf("default setting reported as %+v", it)
		}
	}
}

func TestEverySettingDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Settings() {
		if s.Description == "" || s.apply == nil {
			t.Errorf("%s lacks a description or parser", s.Name)
		}
		if seen[s.Name] {
			t.Errorf("%s defined twice", s.Name)
		}
		seen[s.Name] = true
		if s.Default != "" {
			if err := s.apply(&Config{}, s.Default); err != nil {
				t.Errorf("%s default %q is invalid: %v", s.Name, s.Default, err)
			}
		}
	}
}

// TestREADMETableMatchesSettings keeps README.md's configuration table
// generated from Settings(); run with -update-readme to rewrite it.
func TestREADMETableMatchesSettings(t *testing.T) {
	path := filepath.Join("..", "..", "README.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const start, end = "<!-- config:start -->\n", "<!-- config:end -->"
	s := string(b)
	i, j := strings.Index(s, start), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %q ... %q markers", start, end)
	}
	want := MarkdownTable()
	if got := s[i+len(start) : j]; got != want {
		if *updateReadme {
			s = s[:i+len(start)] + want + s[j:]
			if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Fatalf("README.md configuration table is stale; run go test ./shared/config -run README -update-readme\nwant:\n%s", want)
	}
}

var updateReadme = flag.Bool("update-readme", false, "rewrite README.md's configuration table")
