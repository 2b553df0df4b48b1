package obo

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type countingExchanger struct {
	calls atomic.Int64
	ttl   time.Duration
	now   func() time.Time
	delay time.Duration
}

func (c *countingExchanger) Exchange(ctx context.Context, req Request) (*Token, error) {
	c.calls.Add(1)
	if c.delay > 0 {
		time.Sleep(c.delay)
	}
	return &Token{AccessToken: "dbx-for-" + req.Assertion, TokenType: "Bearer", ExpiresAt: c.now().Add(c.ttl), Mode: ModeEntraOBO}, nil
}

func TestCacheReusesUntilTwoMinutesLeft(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	next := &countingExchanger{ttl: time.Hour, now: clock}
	c, err := NewCache(next, CacheConfig{Now: func() time.Time { return clock() }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if _, err := c.Exchange(ctx, Request{Assertion: "a"}); err != nil {
			t.Fatal(err)
		}
	}
	if next.calls.Load() != 1 {
		t.Fatalf("%d exchanges for one assertion", next.calls.Load())
	}
	now = now.Add(58*time.Minute + 30*time.Second) // 90 s left: too little
	if _, err := c.Exchange(ctx, Request{Assertion: "a"}); err != nil {
		t.Fatal(err)
	}
	if next.calls.Load() != 2 {
		t.Fatal("token with under 2 minutes left was reused")
	}
}

func TestCacheSharesConcurrentExchanges(t *testing.T) {
	next := &countingExchanger{ttl: time.Hour, now: time.Now, delay: 20 * time.Millisecond}
	c, _ := NewCache(next, CacheConfig{})
	var wg sync.WaitGroup
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = c.Exchange(context.Background(), Request{Assertion: "same"}) }()
	}
	wg.Wait()
	if next.calls.Load() != 1 {
		t.Fatalf("%d exchanges for 30 concurrent requests with one assertion", next.calls.Load())
	}
}

// TestCacheBoundHoldsFor50000Assertions pushes 50,000 distinct assertions
// through the cache: the entry count never exceeds the bound.
func TestCacheBoundHoldsFor50000Assertions(t *testing.T) {
	next := &countingExchanger{ttl: time.Hour, now: time.Now}
	const bound = 1000
	c, _ := NewCache(next, CacheConfig{Size: bound})
	ctx := context.Background()
	maxLen := 0
	for i := 0; i < 50_000; i++ {
		if _, err := c.Exchange(ctx, Request{Assertion: fmt.Sprintf("assertion-%d", i)}); err != nil {
			t.Fatal(err)
		}
		if n := c.Len(); n > maxLen {
			maxLen = n
		}
	}
	if maxLen > bound {
		t.Fatalf("cache grew to %d entries, bound %d", maxLen, bound)
	}
	if maxLen != bound || next.calls.Load() != 50_000 {
		t.Fatalf("max entries %d, exchanges %d", maxLen, next.calls.Load())
	}
}

func TestTokenStringHidesToken(t *testing.T) {
	tok := &Token{AccessToken: "secret-token-value", Mode: ModeEntraOBO, ExpiresAt: time.Now()}
	if s := fmt.Sprint(tok); s == "" || strings.Contains(s, "secret-token-value") {
		t.Fatalf("token renders as %q", s)
	}
}
