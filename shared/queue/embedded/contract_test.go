package embedded

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/behalf-dev/behalf/shared/queue"
	"github.com/behalf-dev/behalf/shared/queue/queuetest"
)

// factory opens each case's namespace in a fresh file. The lock is far
// longer than the embedded queue needs: the cases assume a few operations
// finish within a quarter lock, which a CPU-starved CI machine running
// the race detector can take seconds to do.
type factory struct{}

func (factory) Timing() queuetest.Timing {
	return queuetest.Timing{Lock: 4 * time.Second, TTL: 200 * time.Millisecond, Slack: 200 * time.Millisecond,
		Wait: 5 * time.Second, Empty: 100 * time.Millisecond}
}

func (factory) Open(t testing.TB, specs ...queuetest.QueueSpec) queue.Queues {
	t.Helper()
	q, err := Open(context.Background(), Config{
		Path:   filepath.Join(t.TempDir(), "queue.db"),
		Queues: queueConfigs(specs),
		Logger: quietLogger(),
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := q.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return q
}

func queueConfigs(specs []queuetest.QueueSpec) []QueueConfig {
	var out []QueueConfig
	for _, s := range specs {
		c := QueueConfig{Name: s.Name, Sessions: s.Sessions, DefaultTTL: s.DefaultTTL, LockDuration: s.LockDuration,
			MaxDeliveries: s.MaxDeliveries, DeadLetterOnExpiry: s.DeadLetterOnExpiry, DuplicateWindow: -1}
		if s.DuplicateDetection {
			c.DuplicateWindow = 0 // the default window
		}
		out = append(out, c)
	}
	return out
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestContract(t *testing.T) {
	queuetest.Run(t, factory{})
}
