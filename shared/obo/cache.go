package obo

import (
	"context"
	"crypto/sha256"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"
)

// CacheConfig bounds the exchanged-token cache.
type CacheConfig struct {
	// Size is the most entries kept (default 10,000); older ones are
	// evicted whatever the number of distinct people and tokens.
	Size int
	// MinRemaining is how much lifetime a cached token must still have to
	// be reused (default and minimum 2 minutes).
	MinRemaining time.Duration
	Now          func() time.Time
}

// Cache reuses exchanged tokens per incoming assertion. Concurrent
// requests with the same assertion share one exchange. Entries are keyed
// by a hash of the assertion, so the cache never holds a person's inbound
// token.
type Cache struct {
	next  Exchanger
	cfg   CacheConfig
	lru   *lru.Cache[[32]byte, Token]
	group singleflight.Group
}

// NewCache wraps next with a bounded cache.
func NewCache(next Exchanger, cfg CacheConfig) (*Cache, error) {
	if cfg.Size <= 0 {
		cfg.Size = 10_000
	}
	if cfg.MinRemaining < 2*time.Minute {
		cfg.MinRemaining = 2 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	l, err := lru.New[[32]byte, Token](cfg.Size)
	if err != nil {
		return nil, err
	}
	return &Cache{next: next, cfg: cfg, lru: l}, nil
}

// Len is the number of cached tokens.
func (c *Cache) Len() int { return c.lru.Len() }

// Exchange returns a cached token with enough lifetime left, or exchanges.
func (c *Cache) Exchange(ctx context.Context, req Request) (*Token, error) {
	key := sha256.Sum256([]byte(req.Assertion))
	if t, ok := c.lru.Get(key); ok {
		if t.ExpiresAt.Sub(c.cfg.Now()) > c.cfg.MinRemaining {
			return &t, nil
		}
		c.lru.Remove(key)
	}
	ch := c.group.DoChan(string(key[:]), func() (any, error) {
		// The shared exchange must not die with the first caller's request.
		t, err := c.next.Exchange(context.WithoutCancel(ctx), req)
		if err != nil {
			return nil, err
		}
		if t.ExpiresAt.Sub(c.cfg.Now()) > c.cfg.MinRemaining {
			c.lru.Add(key, *t)
		}
		return t, nil
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		t := *res.Val.(*Token)
		return &t, nil
	}
}
