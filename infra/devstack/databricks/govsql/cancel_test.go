package govsql

import (
	"context"
	"testing"
	"time"
)

func TestCancelEndlessStatement(t *testing.T) {
	e := newFixture(t)
	for _, q := range []string{
		"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT COUNT(*) FROM c",
		"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT x FROM c",
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		done := make(chan error, 1)
		go func() {
			_, err := e.Execute(ctx, west, Request{SQL: q})
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("%s: finished without error", q)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: not canceled", q)
		}
		cancel()
	}
}
