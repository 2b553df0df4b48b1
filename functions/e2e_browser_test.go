//go:build devstack

package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/behalf-dev/behalf/infra/devstack/directory"
)

// chromium finds Debian's chromium. CI installs it (.ci/run); elsewhere a
// missing browser skips the test and says so.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no chromium on this CI machine: .ci/run installs Debian's chromium package")
	}
	t.Skip("chromium is not installed (apt-get install chromium); the approval-page browser test needs it")
	return ""
}

// artifacts is where the browser test saves its screenshots.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("BEHALF_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "test-artifacts")
	}
	dir = filepath.Join(dir, "approval-page")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newBrowser starts a headless chromium of its own (its own cookies).
func newBrowser(t *testing.T, exe string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
		// The Entra emulator's certificate comes from the dev CA, which this
		// throwaway browser profile does not know.
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 1400),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first run allocates the browser for the life of ctx; steps then
	// run with timeouts of their own derived from it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("saved %s", filepath.Join(dir, name))
}

// fail saves what the browser shows and where, then fails the test.
func fail(t *testing.T, ctx context.Context, dir, step string, err error) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	url, _ := chromedp.Run(sctx, chromedp.Location())
	body, _ := chromedp.Run(sctx, chromedp.Text(chromedp.CSS("body")))
	if png, perr := chromedp.Run(sctx, chromedp.FullScreenshot(100)); perr == nil {
		_ = os.WriteFile(filepath.Join(dir, "failed-"+strings.ReplaceAll(step, " ", "-")+".png"), png, 0o644)
	}
	t.Fatalf("%s: %v (at %s: %.500s)", step, err, url, body)
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return strings.TrimSpace(v)
}

// signInOnPage opens url, which sends a browser without a session through
// /api/auth/login to the Entra emulator, picks the person there and lands
// back on url.
func signInOnPage(ctx context.Context, url, upn string) error {
	p, ok := directory.Demo().PersonByUPN(upn)
	if !ok {
		return errors.New("no such demo person " + upn)
	}
	button := chromedp.CSS(`button[value="` + p.OID + `"]`)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return chromedp.Do(ctx,
		chromedp.Navigate(url),
		chromedp.WaitVisible(button),
		chromedp.Click(button),
		chromedp.WaitVisible(chromedp.CSS(`#status`)),
	)
}

// TestApprovalPageInABrowser is sql-approve's acceptance 7: in a real
// headless browser, the approver signs in through the Review link and
// approves; the proposer signs in and confirms; the outcome shows.
// Screenshots of each step are saved under test-artifacts/approval-page.
func TestApprovalPageInABrowser(t *testing.T) {
	exe := chromium(t)
	dir := artifacts(t)
	s := startDevStack(t, nil)
	r := s.propose(s.token(wendyWest), "DELETE FROM main.sales.deals")
	op, review := r.JSON["op_id"].(string), r.JSON["approve_url"].(string)
	if r.JSON["policy"] != "four-eyes" {
		t.Fatalf("want a four-eyes operation: %s", r.Body)
	}
	// The Review button of the Teams card leads to the approval page.
	cards := s.r.Teams.Cards()
	if len(cards) == 0 || !strings.Contains(string(cards[len(cards)-1].Card), review) {
		t.Fatalf("the card does not link to %s", review)
	}

	approver := newBrowser(t, exe)
	if err := signInOnPage(approver, review, aprilApprove); err != nil {
		fail(t, approver, dir, "approver sign-in", err)
	}
	status, statement := text(t, approver, "#status"), text(t, approver, "#statement")
	if status != "pending" || statement != "DELETE FROM main.sales.deals" {
		t.Fatalf("approver sees %q %q", status, statement)
	}
	screenshot(t, approver, dir, "1-approver-reviews.png")
	step, cancelStep := context.WithTimeout(approver, 30*time.Second)
	defer cancelStep()
	if err := chromedp.Do(step,
		chromedp.SendKeys(chromedp.CSS(`form:has(#action-approve) textarea`), "checked with the data owner"),
		chromedp.Click(chromedp.CSS(`#action-approve`)),
		chromedp.WaitVisible(chromedp.CSS(`#done`)),
	); err != nil {
		fail(t, approver, dir, "approve", err)
	}
	if status = text(t, approver, "#status"); status != "approved" {
		t.Fatalf("after approving: %q", status)
	}
	screenshot(t, approver, dir, "2-approved.png")

	runs := s.executions(wendyWest)
	proposer := newBrowser(t, exe)
	if err := signInOnPage(proposer, review, wendyWest); err != nil {
		fail(t, proposer, dir, "proposer sign-in", err)
	}
	screenshot(t, proposer, dir, "3-proposer-reviews.png")
	step, cancelStep = context.WithTimeout(proposer, 30*time.Second)
	defer cancelStep()
	if err := chromedp.Do(step, chromedp.Click(chromedp.CSS(`#action-confirm`)), chromedp.WaitVisible(chromedp.CSS(`#outcome`))); err != nil {
		fail(t, proposer, dir, "confirm", err)
	}
	status, outcome := text(t, proposer, "#status"), text(t, proposer, "#outcome")
	screenshot(t, proposer, dir, "4-executed.png")
	if status != "executed" || !strings.Contains(outcome, "row(s) affected") {
		t.Fatalf("after confirming: %q %q", status, outcome)
	}
	if d := s.executions(wendyWest) - runs; d != 1 {
		t.Fatalf("%d executions as the proposer", d)
	}
	if v := s.call(http.MethodGet, "/api/sql-approve/"+op, s.token(wendyWest), nil); v.JSON["status"] != "executed" {
		t.Fatalf("API after the browser run: %s", v.Body)
	}
}
