package sqlitestore

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/behalf-dev/behalf/shared/audit/audittest"
)

// The helper mode: when the test binary is re-executed with these
// variables, it appends batches to the store and exits.
const (
	envHelperPath  = "BEHALF_AUDIT_SQLITE_HELPER_PATH"
	envHelperIndex = "BEHALF_AUDIT_SQLITE_HELPER_INDEX"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(envHelperPath); path != "" {
		idx, _ := strconv.Atoi(os.Getenv(envHelperIndex))
		os.Exit(helperAppend(path, idx))
	}
	os.Exit(m.Run())
}

func helperAppend(path string, idx int) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Open(ctx, Config{Path: path})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Close()
	for b := range 10 {
		if _, err := s.Append(ctx, audittest.Events(idx*1000+b*5, 5)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

// TestSeveralWriterProcessesKeepOneChain runs three OS processes that
// append to one file at the same time; the chain must come out whole,
// with every event exactly once.
func TestSeveralWriterProcessesKeepOneChain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.db")
	s := openAt(t, path) // creates the schema before the race starts
	defer s.Close()
	const procs = 3
	cmds := make([]*exec.Cmd, procs)
	for i := range cmds {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envHelperPath+"="+path, envHelperIndex+"="+strconv.Itoa(i))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("writer process %d: %v", i, err)
		}
	}
	recs := audittest.MustVerify(t, s)
	if len(recs) != procs*10*5 {
		t.Fatalf("%d records, want %d", len(recs), procs*10*5)
	}
	ids := map[string]bool{}
	for _, r := range recs {
		if ids[r.Event.ID] {
			t.Fatalf("event %s stored twice", r.Event.ID)
		}
		ids[r.Event.ID] = true
	}
}
