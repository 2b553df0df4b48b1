package deploycheck

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func scripts(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "scripts", "*.sh"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts/*.sh: %v", err)
	}
	return files
}

// runScript runs a script with a clean environment plus env, bounded in time.
func runScript(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TMPDIR=" + t.TempDir()}, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// TestShellScriptsSyntax is acceptance 4: bash -n on every script.
func TestShellScriptsSyntax(t *testing.T) {
	for _, f := range scripts(t) {
		if out, err := exec.Command("bash", "-n", f).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", f, err, out)
		}
	}
}

// TestShellScriptsShellcheck is acceptance 4: shellcheck (Debian's
// package; .ci/run installs it) clean on every script, sourced files
// followed.
func TestShellScriptsShellcheck(t *testing.T) {
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shellcheck is not installed; .ci/run installs it (apt-get install shellcheck): %v", err)
		}
		t.Skipf("shellcheck is not installed (apt-get install shellcheck; .ci/run installs it in CI): %v", err)
	}
	args := append([]string{"--external-sources", "--severity=style", "--shell=bash"}, scripts(t)...)
	if out, err := exec.Command(sc, args...).CombinedOutput(); err != nil {
		t.Fatalf("shellcheck: %v\n%s", err, out)
	}
}

// TestShellScriptsConventions: every runnable script is executable, strict
// (set -euo pipefail) and answers --help.
func TestShellScriptsConventions(t *testing.T) {
	for _, f := range scripts(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		if !strings.HasPrefix(text, "#!/usr/bin/env bash\n") {
			t.Errorf("%s: first line must be #!/usr/bin/env bash", f)
		}
		if filepath.Base(f) == "lib.sh" {
			continue // sourced by the others, which set the options
		}
		if st, _ := os.Stat(f); st.Mode().Perm()&0o111 == 0 {
			t.Errorf("%s is not executable", f)
		}
		if !strings.Contains(text, "\nset -euo pipefail\n") {
			t.Errorf("%s: no set -euo pipefail", f)
		}
		out, err := runScript(t, nil, f, "--help")
		if err != nil || !strings.Contains(out, "Usage: scripts/"+filepath.Base(f)) || !strings.Contains(out, "--dry-run") {
			t.Errorf("%s --help: %v\n%s", f, err, out)
		}
		if out, err := runScript(t, nil, f, "--no-such-option"); err == nil || !strings.Contains(out, "unknown argument") {
			t.Errorf("%s accepts an unknown option: %s", f, out)
		}
	}
}

// TestShellScriptsDryRun: each deploy script shows its plan without
// running anything, and a secret given through a file never shows.
func TestShellScriptsDryRun(t *testing.T) {
	webhook := filepath.Join(t.TempDir(), "webhook")
	const secretURL = "https://prod.example.invalid/workflows/abc?sig=SECRET-SIGNATURE-VALUE"
	if err := os.WriteFile(webhook, []byte(secretURL), 0o600); err != nil {
		t.Fatal(err)
	}
	sh := func(name string) string { return filepath.Join(root, "scripts", name) }
	cases := []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"package", nil, []string{sh("package.sh"), "--dry-run", "--version", "v1"},
			[]string{"[dry-run] go run ./scripts/package -out dist -version v1 -lambda-arch arm64"}},
		{"deploy-azure", []string{"TEAMS_WEBHOOK_URL_FILE=" + webhook}, []string{sh("deploy-azure.sh"), "--resource-group", "rg-behalf-test", "--env", "prod", "--dry-run"},
			[]string{"az deployment group create --resource-group rg-behalf-test --name behalf-prod --parameters bicep/main.prod.bicepparam",
				"az keyvault secret set", "config-zip", "dry-run.invalid/api/health"}},
		{"deploy-aws", nil, []string{sh("deploy-aws.sh"), "--stack", "behalf-test", "--params", filepath.Join(root, "infra", "aws", "params.example"), "--dry-run"},
			[]string{"sam deploy --template-file infra/aws/template.yaml --stack-name behalf-test", "PublicUrl=https://dry-run.invalid", "CAPABILITY_IAM"}},
		{"entra-app", nil, []string{sh("entra-app.sh"), "--name", "behalf-test", "--redirect-base", "https://behalf.example.com", "--mi-principal-id", "5a5a5a5a-0000-4000-8000-000000000001", "--dry-run"},
			[]string{"az ad app create --display-name behalf-test", "az rest --method PATCH", "az ad app federated-credential create", "admin-consent"}},
		{"smoke", []string{"BEHALF_SMOKE_TOKEN=eyJhbGciOiJSUzI1NiJ9.SMOKE-TOKEN-VALUE"}, []string{sh("smoke.sh"), "--url", "https://behalf.example.com", "--dry-run"},
			[]string{"curl --silent --fail https://behalf.example.com/api/health", "/api/auth/me"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := runScript(t, c.env, c.args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("dry run lacks %q:\n%s", w, out)
				}
			}
			for _, secret := range []string{"SECRET-SIGNATURE-VALUE", "SMOKE-TOKEN-VALUE"} {
				if strings.Contains(out, secret) {
					t.Errorf("a secret reached the output:\n%s", out)
				}
			}
		})
	}
	if out, err := runScript(t, nil, sh("deploy-aws.sh"), "--stack", "x", "--params", writeParams(t, "ClientSecret=hunter2\n"), "--dry-run"); err == nil || !strings.Contains(out, "looks like a secret") || strings.Contains(out, "hunter2") {
		t.Fatalf("a secret value in the AWS parameters was accepted or shown: %v\n%s", err, out)
	}
	if out, err := runScript(t, nil, sh("smoke.sh"), "--url", "http://evil.example.com", "--dry-run"); err == nil || !strings.Contains(out, "https") {
		t.Fatalf("smoke accepted a plain-http remote URL: %s", out)
	}
}

func writeParams(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "params")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestShellSmokeAgainstLocalServer runs smoke.sh for real against a local
// behalf stand-in: health, a 401 without a token, a 200 with it — and the
// token reaches the server but never the script's output.
func TestShellSmokeAgainstLocalServer(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skipf("curl is not installed: %v", err)
	}
	const token = "eyJhbGciOiJSUzI1NiJ9.LOCAL-SMOKE-TOKEN.sig"
	var sawToken bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/health":
			_, _ = w.Write([]byte(`{"status":"ok"}`))
		case "/api/auth/me":
			if r.Header.Get("Authorization") != "Bearer "+token {
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte(`{"error":{"code":"TOKEN_MISSING"}}`))
				return
			}
			sawToken = true
			_, _ = w.Write([]byte(`{"oid":"o1"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	url := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	out, err := runScript(t, []string{"BEHALF_SMOKE_TOKEN=" + token}, filepath.Join(root, "scripts", "smoke.sh"), "--url", url, "--attempts", "2")
	if err != nil || !sawToken || !strings.Contains(out, "authenticated call as the token's person: ok") {
		t.Fatalf("smoke: %v (token seen %v)\n%s", err, sawToken, out)
	}
	if strings.Contains(out, "LOCAL-SMOKE-TOKEN") {
		t.Fatalf("the token reached the output:\n%s", out)
	}
	// A wrong token fails the run.
	out, err = runScript(t, []string{"BEHALF_SMOKE_TOKEN=wrong"}, filepath.Join(root, "scripts", "smoke.sh"), "--url", url, "--attempts", "1")
	if err == nil || !strings.Contains(out, "answered 401") {
		t.Fatalf("a refused token passed the smoke test:\n%s", out)
	}
}
