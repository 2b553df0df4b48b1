package embedded

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
)

// TestConcurrentOpenOfANewFile: two handles opening the same fresh file
// at the same moment (behalf dev's function app and trigger driver) both
// succeed; switching a new file to WAL must not fail one of them with
// "database is locked".
func TestConcurrentOpenOfANewFile(t *testing.T) {
	for i := range 40 {
		path := filepath.Join(t.TempDir(), "queue.db")
		var wg sync.WaitGroup
		errs := make([]error, 3)
		for j := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				q, err := Open(context.Background(), Config{Path: path, Queues: []QueueConfig{{Name: "audit"}, {Name: "pending", Sessions: true}}})
				if err == nil {
					err = q.Close(context.Background())
				}
				errs[j] = err
			}()
		}
		wg.Wait()
		for j, err := range errs {
			if err != nil {
				t.Fatalf("round %d, handle %d: %v", i, j, err)
			}
		}
	}
}
