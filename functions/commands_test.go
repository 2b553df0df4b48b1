package main

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
)

func runCmd(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	return code, out.String(), errOut.String()
}

func TestConfigCheck(t *testing.T) {
	good := map[string]string{"BEHALF_CLIENT_ID": "e0000000-0000-4000-8000-0000000000b1", "BEHALF_TENANT_IDS": "7d3e2a10-5b1c-4c8e-9f00-0000000d3e10",
		"BEHALF_DATABRICKS_HOST": "https://adb-1.azuredatabricks.net"}
	code, out, _ := runCmd(t, good, "config", "check")
	if code != 0 || !strings.Contains(out, "BEHALF_MAX_BODY_BYTES") || !strings.Contains(out, "configuration is valid") {
		t.Fatalf("clean config: exit %d\n%s", code, out)
	}
	code, out, _ = runCmd(t, map[string]string{"BEHALF_LOG_LEVEL": "loud", "FUNCTIONS_CUSTOMHANDLER_PORT": "http"}, "config", "check")
	if code != 1 {
		t.Fatalf("bad config: exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{"BEHALF_LOG_LEVEL", "must be debug, info, warn or error", "FUNCTIONS_CUSTOMHANDLER_PORT", "must be a port number", "2 problem(s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("config check output lacks %q:\n%s", want, out)
		}
	}
	// Missing identity settings are problems; a client secret is shown
	// masked and warned about.
	code, out, _ = runCmd(t, map[string]string{"BEHALF_CREDENTIAL": "secret", "BEHALF_CLIENT_SECRET": "s3cr3t-dev-value"}, "config", "check")
	if code != 1 || strings.Contains(out, "s3cr3t-dev-value") {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}
	for _, want := range []string{"BEHALF_CLIENT_ID", "missing", "development only", "hidden"} {
		if !strings.Contains(out, want) {
			t.Errorf("config check output lacks %q:\n%s", want, out)
		}
	}
}

func TestUsageAndVersion(t *testing.T) {
	if code, out, _ := runCmd(t, nil, "version"); code != 0 || !strings.HasPrefix(out, "behalf ") {
		t.Fatalf("version: %d %q", code, out)
	}
	if code, _, errOut := runCmd(t, nil, "frobnicate"); code != 2 || !strings.Contains(errOut, "Usage") {
		t.Fatalf("unknown command: %d %q", code, errOut)
	}
	if code, _, _ := runCmd(t, nil); code != 2 {
		t.Fatalf("no command: exit %d", code)
	}
}

// TestProductionBuildHasNoEmulators proves the packaged binary (built
// without the devstack tag) links no dev-stack package: the emulators mint
// tokens and must never ship.
func TestProductionBuildHasNoEmulators(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := string(out)
	if !strings.Contains(deps, "github.com/behalf-dev/behalf/shared/funchost") {
		t.Fatalf("go list output looks wrong:\n%s", deps)
	}
	if strings.Contains(deps, "/infra/") {
		t.Fatalf("production build depends on infra packages:\n%s", deps)
	}
	// And no production package anywhere imports the dev stack.
	out, err = exec.Command("go", "list", "-deps", "-test", "../shared/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "/infra/devstack") {
		t.Fatalf("a shared package imports the dev stack")
	}
}
