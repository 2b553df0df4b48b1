package entra

import (
	"crypto/sha256"
	"errors"
	"sync"
	"time"
)

// codeGrant is an issued authorization code.
type codeGrant struct {
	clientID    string
	redirectURI string
	challenge   string
	user        user
	nonce       string
	expiresAt   time.Time
	redeemed    bool
	// family is the refresh-token family the redemption started; a
	// second redemption attempt revokes it (RFC 6749 §4.1.2).
	family string
}

// refreshGrant is an issued refresh token.
type refreshGrant struct {
	clientID  string
	user      user
	nonce     string
	expiresAt time.Time
	// used marks a rotated-out (or revoked) token.
	used   bool
	family string
}

// errStoreFull means the bounded store holds only live entries.
var errStoreFull = errors.New("too many outstanding grants")

// grantStore keeps codes, refresh tokens and pending sign-ins in memory,
// keyed by a hash of the credential (the raw value is never stored), each
// map bounded by max entries.
type grantStore struct {
	max int
	now func() time.Time

	mu      sync.Mutex
	codes   map[[32]byte]*codeGrant
	refresh map[[32]byte]*refreshGrant
	pending map[[32]byte]*authRequest
}

func newGrantStore(max int, now func() time.Time) *grantStore {
	return &grantStore{max: max, now: now, codes: map[[32]byte]*codeGrant{}, refresh: map[[32]byte]*refreshGrant{}, pending: map[[32]byte]*authRequest{}}
}

func key(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// room makes space in m for one more entry by dropping expired ones.
func room[V any](m map[[32]byte]V, max int, expired func(V) bool) error {
	if len(m) < max {
		return nil
	}
	for k, v := range m {
		if expired(v) {
			delete(m, k)
		}
	}
	if len(m) >= max {
		return errStoreFull
	}
	return nil
}

func (s *grantStore) putCode(g *codeGrant) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if err := room(s.codes, s.max, func(c *codeGrant) bool { return !now.Before(c.expiresAt) }); err != nil {
		return "", err
	}
	code := "1.A" + randomToken(48)
	s.codes[key(code)] = g
	return code, nil
}

// takeCode returns the code's grant and marks it redeemed; the caller
// checks expiry and prior redemption under the returned flags.
func (s *grantStore) takeCode(code string) (g codeGrant, alreadyRedeemed, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[key(code)]
	if !ok {
		return codeGrant{}, false, false
	}
	was := c.redeemed
	c.redeemed = true
	return *c, was, true
}

// setCodeFamily records the refresh-token family a code redemption began.
func (s *grantStore) setCodeFamily(code, family string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.codes[key(code)]; ok {
		c.family = family
	}
}

func (s *grantStore) putRefresh(g *refreshGrant) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if err := room(s.refresh, s.max, func(r *refreshGrant) bool { return !now.Before(r.expiresAt) }); err != nil {
		return "", err
	}
	rt := "1.AR" + randomToken(64)
	s.refresh[key(rt)] = g
	return rt, nil
}

// takeRefresh rotates a refresh token out: it returns the grant and marks
// it used. wasUsed reports a replay.
func (s *grantStore) takeRefresh(rt string) (g refreshGrant, wasUsed, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.refresh[key(rt)]
	if !ok {
		return refreshGrant{}, false, false
	}
	was := r.used
	r.used = true
	return *r, was, true
}

// revokeFamily invalidates every refresh token of a family.
func (s *grantStore) revokeFamily(family string) {
	if family == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.refresh {
		if r.family == family {
			r.used = true
		}
	}
}

func (s *grantStore) putPending(ar *authRequest) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if err := room(s.pending, s.max, func(p *authRequest) bool { return !now.Before(p.expiresAt) }); err != nil {
		return "", err
	}
	id := randomToken(24)
	s.pending[key(id)] = ar
	return id, nil
}

// takePending returns a pending sign-in once (it is single use).
func (s *grantStore) takePending(id string) (*authRequest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key(id)
	ar, ok := s.pending[k]
	if !ok {
		return nil, false
	}
	delete(s.pending, k)
	if !s.now().Before(ar.expiresAt) {
		return nil, false
	}
	return ar, true
}
