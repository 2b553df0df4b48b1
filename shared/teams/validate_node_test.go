package teams

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The official Adaptive Cards library, pinned.
const adaptiveCardsPackage = "adaptivecards@3.0.6"

// TestCardsValidateUnderNode checks every card the package can produce
// with the official adaptivecards library under node (testdata/validate.js),
// and checks that the validator rejects deliberately broken cards, so a
// pass means something. It installs the npm package into the user cache
// once; it skips only when node or npm is missing.
func TestCardsValidateUnderNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skipf("node is not installed (%v): the Adaptive Card validation needs node and npm", err)
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skipf("npm is not installed (%v): the Adaptive Card validation needs node and npm", err)
	}
	modules := installAdaptiveCards(t, npm)

	good := t.TempDir()
	n := 0
	for _, c := range allCases() {
		writeEnvelope(t, good, c.name, c.card)
		n++
	}
	writeEnvelope(t, good, "two-cards", ProposalCard(baseProposal()), UpdateCard(Update{Kind: UpdateExpired, OpID: testOpID, Statement: shortSQL, ReviewURL: testReview}))
	n++
	code, results := runValidator(t, node, modules, good)
	if len(results) != n {
		t.Fatalf("validator reported %d files, want %d", len(results), n)
	}
	for file, problems := range results {
		if len(problems) > 0 {
			t.Errorf("%s:\n  %s", file, strings.Join(problems, "\n  "))
		}
	}
	if code != 0 {
		t.Fatalf("validator exit code %d for valid cards", code)
	}

	broken := t.TempDir()
	base, err := Envelope(ProposalCard(baseProposal()))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range brokenCards(t, base) {
		if err := os.WriteFile(filepath.Join(broken, name+".json"), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	code, results = runValidator(t, node, modules, broken)
	if code != 1 {
		t.Errorf("validator exit code %d for broken cards, want 1", code)
	}
	for name, want := range brokenWants {
		problems, ok := results[name+".json"]
		if !ok {
			t.Errorf("%s: not reported", name)
			continue
		}
		if !strings.Contains(strings.Join(problems, "\n"), want) {
			t.Errorf("%s: problems %q, want one containing %q", name, problems, want)
		}
	}
}

// brokenWants names each broken card and what the validator must say.
var brokenWants = map[string]string{
	"unknown-element":    "UnknownElementType",
	"unknown-action":     "UnknownActionType",
	"submit-action":      "Action.Submit does not work on a card posted without a bot",
	"openurl-no-url":     `Property "url" must be set`,
	"openurl-javascript": "is not https",
	"bad-style":          `Invalid value "danger" for property "style"`,
	"bad-font-type":      `Invalid value "mono" for property "fontType"`,
	"unknown-property":   "fontTyp: unknown or invalid property",
	"version-1-6":        `version: must be "1.5"`,
	"no-msteams-width":   `msteams.width: must be "Full"`,
	"not-standalone":     "Parse/Exception",
	"wrong-content-type": "contentType: must be application/vnd.microsoft.card.adaptive",
	"not-a-message":      `type: must be "message"`,
}

// brokenCards derives one deliberately broken message per entry of
// brokenWants from a valid one.
func brokenCards(t *testing.T, good []byte) map[string][]byte {
	t.Helper()
	mutate := func(f func(msg, card map[string]any, body []any)) []byte {
		var msg map[string]any
		if err := json.Unmarshal(good, &msg); err != nil {
			t.Fatal(err)
		}
		card := msg["attachments"].([]any)[0].(map[string]any)["content"].(map[string]any)
		f(msg, card, card["body"].([]any))
		b, err := json.Marshal(msg)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	firstRun := func(body []any) map[string]any {
		return body[1].(map[string]any)["inlines"].([]any)[0].(map[string]any)
	}
	out := map[string][]byte{
		"unknown-element": mutate(func(_, card map[string]any, body []any) {
			card["body"] = append(body, map[string]any{"type": "TextBlok", "text": "typo"})
		}),
		"unknown-action": mutate(func(_, card map[string]any, _ []any) {
			card["actions"] = []any{map[string]any{"type": "Action.Bogus", "title": "x"}}
		}),
		"submit-action": mutate(func(_, card map[string]any, _ []any) {
			card["actions"] = []any{map[string]any{"type": "Action.Submit", "title": "Approve", "data": map[string]any{"op": "x"}}}
		}),
		"openurl-no-url": mutate(func(_, card map[string]any, _ []any) {
			card["actions"] = []any{map[string]any{"type": "Action.OpenUrl", "title": "Review"}}
		}),
		"openurl-javascript": mutate(func(_, card map[string]any, _ []any) {
			card["actions"].([]any)[0].(map[string]any)["url"] = "javascript:alert(1)"
		}),
		"bad-style": mutate(func(_, _ map[string]any, body []any) {
			body[0].(map[string]any)["style"] = "danger"
		}),
		"bad-font-type": mutate(func(_, _ map[string]any, body []any) {
			firstRun(body)["fontType"] = "mono"
		}),
		"unknown-property": mutate(func(_, _ map[string]any, body []any) {
			firstRun(body)["fontTyp"] = "Monospace"
		}),
		"version-1-6": mutate(func(_, card map[string]any, _ []any) { card["version"] = "1.6" }),
		"no-msteams-width": mutate(func(_, card map[string]any, _ []any) {
			delete(card, "msteams")
		}),
		"not-standalone": mutate(func(_, card map[string]any, body []any) {
			card["body"] = append(body, map[string]any{"type": "TextRun", "text": "alone"})
		}),
		"wrong-content-type": mutate(func(msg, _ map[string]any, _ []any) {
			msg["attachments"].([]any)[0].(map[string]any)["contentType"] = "application/json"
		}),
		"not-a-message": mutate(func(msg, _ map[string]any, _ []any) { msg["type"] = "card" }),
	}
	if len(out) != len(brokenWants) {
		t.Fatalf("%d broken cards for %d expectations", len(out), len(brokenWants))
	}
	return out
}

func writeEnvelope(t *testing.T, dir, name string, cards ...Card) {
	t.Helper()
	b, err := Envelope(cards...)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// runValidator runs validate.js on dir and returns its exit code and the
// problems it reported per file.
func runValidator(t *testing.T, node, modules, dir string) (int, map[string][]string) {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("testdata", "validate.js"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, dir)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running node: %v\n%s", err, stderr.Bytes())
	}
	if code != 0 && code != 1 {
		t.Fatalf("validator failed (exit %d):\n%s%s", code, stdout.Bytes(), stderr.Bytes())
	}
	results := map[string][]string{}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			File     string   `json:"file"`
			Problems []string `json:"problems"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("validator output %q: %v", sc.Bytes(), err)
		}
		results[line.File] = line.Problems
	}
	return code, results
}

// installAdaptiveCards installs the pinned package into the user cache
// (once; later runs reuse it) and returns its node_modules directory. It
// installs into a fresh directory and renames it into place, so an
// interrupted install is never mistaken for a complete one.
func installAdaptiveCards(t *testing.T, npm string) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	root := filepath.Join(cache, "behalf-test", "npm")
	final := filepath.Join(root, strings.ReplaceAll(adaptiveCardsPackage, "@", "-"))
	modules := filepath.Join(final, "node_modules")
	if installed(modules) {
		return modules
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(root, "install-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", tmp, adaptiveCardsPackage)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm install %s: %v\n%s", adaptiveCardsPackage, err, out)
	}
	if !installed(filepath.Join(tmp, "node_modules")) {
		t.Fatalf("npm install %s did not produce the package", adaptiveCardsPackage)
	}
	if _, err := os.Stat(final); err == nil && !installed(modules) {
		// A broken earlier install (interrupted by hand, or another
		// version's layout): replace it.
		if err := os.RemoveAll(final); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Rename(tmp, final); err != nil && !installed(modules) {
		t.Fatalf("moving the npm install into place: %v", err)
	}
	return modules
}

func installed(modules string) bool {
	b, err := os.ReadFile(filepath.Join(modules, "adaptivecards", "package.json"))
	if err != nil {
		return false
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(b, &pkg) != nil || "adaptivecards@"+pkg.Version != adaptiveCardsPackage {
		return false
	}
	_, err = os.Stat(filepath.Join(modules, "adaptivecards", "dist", "adaptivecards.js"))
	return err == nil
}
