package lambdahost

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/behalf-dev/behalf/shared/config"
)

// SecretARNSuffix names a setting's Secrets Manager reference on AWS: the
// value of NAME is read from the secret whose ARN is in NAME_SECRET_ARN.
// Lambda environment variables are readable by anyone who may read the
// function's configuration, so secrets never go there themselves.
const SecretARNSuffix = "_SECRET_ARN"

// maxSecretBytes is Secrets Manager's own limit on a secret value.
const maxSecretBytes = 64 << 10

// SecretSetting is a setting that may come from Secrets Manager.
type SecretSetting struct {
	Name string
	// File settings hold a path: the secret is written to a private file
	// and the setting points at it (e.g. a certificate with its key).
	File bool
}

// SecretSettings picks the settings that may be read from Secrets
// Manager: every secret setting, and certificate paths (whose file holds
// a private key).
func SecretSettings(settings []config.Setting) []SecretSetting {
	var out []SecretSetting
	for _, s := range settings {
		switch {
		case s.Secret:
			out = append(out, SecretSetting{Name: s.Name})
		case strings.HasSuffix(s.Name, "_CERTIFICATE_PATH"):
			out = append(out, SecretSetting{Name: s.Name, File: true})
		}
	}
	return out
}

// SecretSource reads one secret's string value.
type SecretSource interface {
	SecretString(ctx context.Context, arn string) (string, error)
}

// SecretsConfig configures ResolveSecrets.
type SecretsConfig struct {
	// Settings may be read from Secrets Manager (SecretSettings).
	Settings []SecretSetting
	// Lookup reads the environment.
	Lookup func(name string) (string, bool)
	// Environ lists the environment's variable names (NAME=value entries
	// are accepted), so that a reference to no known setting — a typo
	// that would leave a secret unset — is an error.
	Environ []string
	// NewSource builds the Secrets Manager client; it is called only when
	// a reference is set.
	NewSource func(ctx context.Context) (SecretSource, error)
	// Dir receives file secrets (default os.TempDir()).
	Dir string
	// Timeout bounds all the reads (default 10 s).
	Timeout time.Duration
}

// ErrSecretRef marks a malformed or conflicting secret reference.
var ErrSecretRef = errors.New("lambdahost: secret reference")

// ResolveSecrets reads every NAME_SECRET_ARN the environment sets and
// returns a lookup that answers NAME with the secret (or, for file
// settings, with the path of a 0600 file holding it). Values are never
// logged; errors name the setting, not the value.
func ResolveSecrets(ctx context.Context, cfg SecretsConfig) (func(string) (string, bool), error) {
	if cfg.Lookup == nil {
		return nil, errors.New("lambdahost: SecretsConfig.Lookup is required")
	}
	known := map[string]SecretSetting{}
	for _, s := range cfg.Settings {
		known[s.Name+SecretARNSuffix] = s
	}
	var problems []string
	for _, kv := range cfg.Environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "BEHALF_") && strings.HasSuffix(name, SecretARNSuffix) {
			if _, ok := known[name]; !ok {
				problems = append(problems, fmt.Sprintf("%s names no setting that may come from Secrets Manager", name))
			}
		}
	}
	type ref struct {
		s   SecretSetting
		arn string
	}
	var refs []ref
	for _, s := range cfg.Settings {
		arn, ok := cfg.Lookup(s.Name + SecretARNSuffix)
		if arn = strings.TrimSpace(arn); !ok || arn == "" {
			continue
		}
		if v, set := cfg.Lookup(s.Name); set && strings.TrimSpace(v) != "" {
			problems = append(problems, fmt.Sprintf("%s and %s are both set; set only one", s.Name, s.Name+SecretARNSuffix))
			continue
		}
		if !validSecretARN(arn) {
			problems = append(problems, fmt.Sprintf("%s must be a Secrets Manager ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)", s.Name+SecretARNSuffix))
			continue
		}
		refs = append(refs, ref{s, arn})
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("%w: %s", ErrSecretRef, strings.Join(problems, "; "))
	}
	if len(refs) == 0 {
		return cfg.Lookup, nil
	}
	if cfg.NewSource == nil {
		return nil, errors.New("lambdahost: secret references are set but no Secrets Manager client is configured")
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	src, err := cfg.NewSource(ctx)
	if err != nil {
		return nil, fmt.Errorf("lambdahost: Secrets Manager client: %w", err)
	}
	values := map[string]string{}
	var dir string
	for _, r := range refs {
		v, err := src.SecretString(ctx, r.arn)
		if err != nil {
			return nil, fmt.Errorf("lambdahost: reading %s: %w", r.s.Name+SecretARNSuffix, err)
		}
		if len(v) > maxSecretBytes {
			return nil, fmt.Errorf("lambdahost: %s: secret is larger than %d bytes", r.s.Name+SecretARNSuffix, maxSecretBytes)
		}
		if strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("lambdahost: %s: the secret is empty", r.s.Name+SecretARNSuffix)
		}
		if !r.s.File {
			values[r.s.Name] = v
			continue
		}
		if dir == "" {
			base := cfg.Dir
			if base == "" {
				base = os.TempDir()
			}
			// Lambda's /tmp survives warm invocations of this one
			// environment only; MkdirTemp makes it 0700.
			if dir, err = os.MkdirTemp(base, "behalf-secrets-"); err != nil {
				return nil, fmt.Errorf("lambdahost: secret files: %w", err)
			}
		}
		p := filepath.Join(dir, strings.ToLower(r.s.Name))
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			return nil, fmt.Errorf("lambdahost: writing %s: %w", r.s.Name, err)
		}
		values[r.s.Name] = p
	}
	next := cfg.Lookup
	return func(name string) (string, bool) {
		if v, ok := values[name]; ok {
			return v, true
		}
		return next(name)
	}, nil
}

func validSecretARN(arn string) bool {
	parts := strings.SplitN(arn, ":", 7)
	return len(parts) == 7 && parts[0] == "arn" && strings.HasPrefix(parts[1], "aws") && parts[2] == "secretsmanager" &&
		parts[3] != "" && parts[4] != "" && parts[5] == "secret" && parts[6] != ""
}
