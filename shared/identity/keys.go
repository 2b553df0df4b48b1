package identity

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"
)

// keySet caches one issuer's signing keys. It refreshes when a token names
// an unknown kid — at most once per minInterval, shared by all waiting
// requests — so that tokens with made-up kids cannot hammer the IdP. A
// request that finds a refresh in flight waits for it (rather than being
// refused because the rate limit has just been used by that refresh).
// Fetches use the validator's long-lived context, not the request's: a
// refresh started by a request that then ends must still finish for the
// requests waiting on it (the go-oidc key-refresh pitfall).
type keySet struct {
	issuer      string
	client      *http.Client
	baseCtx     context.Context
	minInterval time.Duration
	now         func() time.Time

	group singleflight.Group

	mu          sync.RWMutex
	jwksURL     string
	keys        map[string]jose.JSONWebKey
	lastAttempt time.Time
	lastErr     error // of the last fetch, reported while it is not retried
}

// firstFetchRetry bounds how long a failed first fetch (no keys at all)
// is not retried: without keys every token is refused.
const firstFetchRetry = time.Second

// key returns the key for kid, refreshing the set if kid is unknown and a
// refresh is allowed.
func (k *keySet) key(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	k.mu.RLock()
	key, ok := k.keys[kid]
	k.mu.RUnlock()
	if ok {
		return &key, nil
	}
	// Join the refresh in flight, or start one; refresh applies the rate
	// limit.
	ch := k.group.DoChan("refresh", func() (any, error) { return nil, k.refresh() })
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case res := <-ch:
		if res.Err != nil {
			return nil, &Error{Code: CodeIssuerUnavailable, Message: "the token issuer's signing keys could not be fetched", Err: res.Err}
		}
	}
	k.mu.RLock()
	key, ok = k.keys[kid]
	k.mu.RUnlock()
	if !ok {
		return nil, refuse(CodeUnknownKey, "the token's signing key is not published by its issuer")
	}
	return &key, nil
}

// refresh fetches the key set unless the last attempt is too recent; then
// it reports that attempt's failure, if any.
func (k *keySet) refresh() error {
	k.mu.Lock()
	wait := k.minInterval
	if k.keys == nil {
		wait = min(wait, firstFetchRetry)
	}
	if !k.lastAttempt.IsZero() && k.now().Sub(k.lastAttempt) < wait {
		err := k.lastErr
		k.mu.Unlock()
		return err
	}
	k.lastAttempt = k.now()
	jwksURL := k.jwksURL
	k.mu.Unlock()
	err := k.fetch(jwksURL)
	k.mu.Lock()
	k.lastErr = err
	k.mu.Unlock()
	return err
}

func (k *keySet) fetch(jwksURL string) error {
	ctx, cancel := context.WithTimeout(k.baseCtx, 15*time.Second)
	defer cancel()
	if jwksURL == "" {
		p, err := oidc.NewProvider(oidc.ClientContext(ctx, k.client), k.issuer)
		if err != nil {
			return fmt.Errorf("discovery for %s: %w", k.issuer, err)
		}
		var meta struct {
			JWKSURI string `json:"jwks_uri"`
		}
		if err := p.Claims(&meta); err != nil || meta.JWKSURI == "" {
			return fmt.Errorf("discovery for %s has no jwks_uri", k.issuer)
		}
		jwksURL = meta.JWKSURI
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, jwksURL, nil)
	if err != nil {
		return err
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return fmt.Errorf("fetch keys: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch keys: status %d", resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return fmt.Errorf("decode keys: %w", err)
	}
	keys := make(map[string]jose.JSONWebKey, len(set.Keys))
	for _, key := range set.Keys {
		if key.KeyID != "" && key.Use != "enc" && key.IsPublic() {
			keys[key.KeyID] = key
		}
	}
	k.mu.Lock()
	k.jwksURL, k.keys = jwksURL, keys
	k.mu.Unlock()
	return nil
}
