package sqlitestore

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/behalf-dev/behalf/shared/audit"
	"github.com/behalf-dev/behalf/shared/audit/audittest"
)

func openAt(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestContract(t *testing.T) {
	paths := map[audit.Store]string{}
	audittest.Run(t, audittest.Options{
		New: func(t *testing.T) audit.Store {
			p := filepath.Join(t.TempDir(), "audit.db")
			s := openAt(t, p)
			paths[s] = p
			return s
		},
		// A second handle on the same file is a second connection pool,
		// which SQLite locks exactly as it would another process.
		Second: func(t *testing.T, first audit.Store) audit.Store { return openAt(t, paths[first]) },
	})
}
