package health

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestRunCombinesChecks(t *testing.T) {
	ok := func(context.Context) error { return nil }
	down := func(context.Context) error { return errors.New("dial tcp 10.0.0.7:443: refused") }
	degraded := func(context.Context) error { return fmt.Errorf("slow: %w", ErrDegraded) }
	hang := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	boom := func(context.Context) error { panic("bug") }

	cases := []struct {
		name   string
		add    func(r *Registry)
		status Status
	}{
		{"no checks is ok", func(r *Registry) {}, StatusOK},
		{"all ok", func(r *Registry) { r.Add("a", true, ok); r.Add("b", false, ok) }, StatusOK},
		{"non-critical down degrades", func(r *Registry) { r.Add("a", true, ok); r.Add("b", false, down) }, StatusDegraded},
		{"degraded critical degrades", func(r *Registry) { r.Add("a", true, degraded) }, StatusDegraded},
		{"critical down is down", func(r *Registry) { r.Add("a", true, down); r.Add("b", false, ok) }, StatusDown},
		{"timeout is down", func(r *Registry) { r.Add("a", true, hang) }, StatusDown},
		{"panic is down", func(r *Registry) { r.Add("a", true, boom) }, StatusDown},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := New(Config{Timeout: 50 * time.Millisecond})
			tc.add(r)
			rep := r.Run(context.Background())
			if rep.Status != tc.status {
				t.Fatalf("status %s, want %s (%+v)", rep.Status, tc.status, rep.Checks)
			}
		})
	}
}
