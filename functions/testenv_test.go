package main

import (
	"path/filepath"
	"testing"
)

// withTempStores adds the embedded queue and audit store files, in a
// folder of the test's own, to env: tests never write into the repository.
func withTempStores(t testing.TB, env map[string]string) map[string]string {
	t.Helper()
	out := map[string]string{}
	dir := t.TempDir()
	out["BEHALF_QUEUE_PATH"] = filepath.Join(dir, "queue.db")
	out["BEHALF_AUDIT_SQLITE_PATH"] = filepath.Join(dir, "audit.db")
	for k, v := range env {
		out[k] = v
	}
	return out
}

// lookupIn reads settings from env.
func lookupIn(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}
