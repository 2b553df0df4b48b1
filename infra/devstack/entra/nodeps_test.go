package entra

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestProductionBuildHasNoEmulator: the emulators mint tokens, so the
// function app built without the devstack tag must not link any package
// under infra/devstack (DESIGN: "keep them out of the production build").
// The same listing with the tag must include them, which shows the check
// can fail.
func TestProductionBuildHasNoEmulator(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command on PATH to list the build's packages: %v", err)
	}
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	list := func(tags ...string) []string {
		t.Helper()
		args := append([]string{"list", "-deps"}, tags...)
		cmd := exec.Command(goBin, append(args, "./functions")...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		var devstack []string
		for _, p := range strings.Fields(string(out)) {
			if strings.Contains(p, "/infra/devstack") {
				devstack = append(devstack, p)
			}
		}
		return devstack
	}
	if got := list(); len(got) > 0 {
		t.Errorf("the production function app links dev-stack packages: %v", got)
	}
	withTag := list("-tags", "devstack")
	found := false
	for _, p := range withTag {
		found = found || strings.HasSuffix(p, "/infra/devstack/entra")
	}
	if !found {
		t.Errorf("with -tags devstack the function app should link the Entra emulator (the check would be vacuous): %v", withTag)
	}
}
