package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/behalf-dev/behalf/shared/sqlguard"
)

// behalf sql classify: the SQL safety classifier as a filter over JSON
// Lines, for scoring it against a corpus and for scripts that want the same
// verdict sql-propose would give.

const sqlClassifyUsage = `behalf sql classify [flags] < requests.jsonl > verdicts.jsonl

Reads one {"sql": "..."} object per line (an "id" is echoed back) and writes
one line per input line, in order:
  {"read_only": bool, "class": "...", "statements": n, "tables": [...],
   "risk": "...", "policy": "...", "reasons": [...]?, "error": "..."?}
A bad line gets read_only false and an error; the next line is read anyway.

Flags:
`

// cmdSQL runs "behalf sql <subcommand>"; classify is the only one. It reads
// stdin until its end, or until ctx is cancelled: a read from a terminal or
// pipe cannot be interrupted, so the classification runs in a goroutine
// that is abandoned on cancel (the process is about to exit).
func cmdSQL(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "classify" {
		return fmt.Errorf("%w: behalf sql classify [flags] < requests.jsonl", errUsage)
	}
	c, err := classifierFromFlags(args[1:], stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil // the flag set printed the help
	}
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- sqlguard.ClassifyJSONLines(ctx, c, stdin, stdout) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("sql classify: %w", ctx.Err())
	}
}

// classifierFromFlags builds the classifier from the command line; every
// mistake is a usage error.
func classifierFromFlags(args []string, stderr io.Writer) (*sqlguard.Classifier, error) {
	fs := flag.NewFlagSet("sql classify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, sqlClassifyUsage)
		fs.PrintDefaults()
	}
	maxBytes := fs.Int("max-bytes", sqlguard.DefaultMaxLength, "longest statement accepted, in bytes (BEHALF_SQL_MAX_STATEMENT_BYTES on the server)")
	policies := fs.String("policies", "", "approval policy overrides, comma-separated class or risk = self|four-eyes,\ne.g. ddl=four-eyes,medium=four-eyes (BEHALF_SQL_POLICIES on the server)")
	unsafe := fs.String("unsafe-functions", "", "further functions whose use needs approval, comma-separated (BEHALF_SQL_UNSAFE_FUNCTIONS)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected argument %q (the statements come on stdin)", errUsage, fs.Arg(0))
	}
	if *maxBytes <= 0 {
		return nil, fmt.Errorf("%w: -max-bytes must be positive, got %d", errUsage, *maxBytes)
	}
	cfg := sqlguard.Config{MaxLength: *maxBytes}
	for _, pair := range splitComma(*policies) {
		key, value, ok := strings.Cut(pair, "=")
		if !ok {
			return nil, fmt.Errorf("%w: -policies entry %q is not class=policy or risk=policy", errUsage, pair)
		}
		p, err := sqlguard.ParsePolicy(strings.TrimSpace(value))
		if err != nil {
			return nil, fmt.Errorf("%w: -policies: %v", errUsage, err)
		}
		if cfg.Policies == nil {
			cfg.Policies = map[string]sqlguard.Policy{}
		}
		cfg.Policies[strings.TrimSpace(key)] = p
	}
	cfg.UnsafeFunctions = splitComma(*unsafe)
	c, err := sqlguard.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	return c, nil
}

func splitComma(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
