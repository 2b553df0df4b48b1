package embedded

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/behalf-dev/behalf/shared/queue"
)

// Benchmarks of the embedded queue (go test -bench); every commit is
// synchronous, so these measure the disk as much as the code.

func benchQueues(b *testing.B) *Queues {
	b.Helper()
	q, err := Open(context.Background(), Config{Path: filepath.Join(b.TempDir(), "q.db"), Logger: quietLogger(),
		Queues: []QueueConfig{{Name: "work"}, {Name: "ops", Sessions: true}}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { q.Close(context.Background()) })
	return q
}

func BenchmarkSend(b *testing.B) {
	q := benchQueues(b)
	ctx := context.Background()
	body := make([]byte, 1024)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := q.Send(ctx, "work", queue.Message{ID: fmt.Sprint(i), Body: body}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSendBatch100(b *testing.B) {
	q := benchQueues(b)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := q.Send(ctx, "work", batch(i)...); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReceiveComplete(b *testing.B) {
	q := benchQueues(b)
	ctx := context.Background()
	for i := 0; i < b.N; i += batchSize {
		if err := q.Send(ctx, "work", batch(i)...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ds, err := q.Receive(ctx, "work", 1, 0)
		if err != nil || len(ds) != 1 {
			b.Fatalf("Receive: %d, %v", len(ds), err)
		}
		if err := ds[0].Complete(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAcceptSession(b *testing.B) {
	q := benchQueues(b)
	ctx := context.Background()
	if err := q.Send(ctx, "ops", queue.Message{ID: "op", SessionID: "op-1"}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s, err := q.AcceptSession(ctx, "ops", "op-1")
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Close(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
