package entra

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// signingKey is one RSA signing key with the self-signed certificate Entra
// publishes next to it (x5c, x5t).
type signingKey struct {
	kid  string
	priv *rsa.PrivateKey
	cert *x509.Certificate
	// retireAt is when a rotated-out key leaves the JWKS (zero: published).
	retireAt time.Time
}

func newSigningKey(name string) (*signingKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("entra: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, fmt.Errorf("entra: serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return nil, fmt.Errorf("entra: key certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("entra: key certificate: %w", err)
	}
	// Entra's kid is the certificate's SHA-1 thumbprint (base64url), the
	// same value as x5t.
	sum := sha1.Sum(der)
	return &signingKey{kid: base64.RawURLEncoding.EncodeToString(sum[:]), priv: priv, cert: cert}, nil
}

func (k *signingKey) x5t() string { return k.kid }

// keyring holds the keys of one issuer family: the active signing key, the
// next key (published, not yet signing) and rotated-out keys still
// published until every token they signed has expired.
type keyring struct {
	name      string
	retention func() time.Duration
	now       func() time.Time

	mu       sync.RWMutex
	active   *signingKey
	next     *signingKey
	retiring []*signingKey
}

func newKeyring(name string, retention func() time.Duration, now func() time.Time) (*keyring, error) {
	// RSA key generation is the slow part of starting an emulator; the
	// two keys are made side by side.
	var keys [2]*signingKey
	var errs [2]error
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() { keys[i], errs[i] = newSigningKey(name) })
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	return &keyring{name: name, retention: retention, now: now, active: keys[0], next: keys[1]}, nil
}

// lazyKeyring makes its keyring on first use (the partner IdP is not
// used by most tests and runs).
type lazyKeyring struct {
	once sync.Once
	make func() (*keyring, error)
	k    *keyring
	err  error
}

func (l *lazyKeyring) get() (*keyring, error) {
	l.once.Do(func() { l.k, l.err = l.make() })
	return l.k, l.err
}

// rotate makes the already-published next key the signer, keeps the old
// signer published for the token lifetime, and publishes a fresh next key.
// It returns the new active kid.
func (k *keyring) rotate() (string, error) {
	fresh, err := newSigningKey(k.name)
	if err != nil {
		return "", err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	old := k.active
	old.retireAt = k.now().Add(k.retention())
	k.retiring = append(k.retiring, old)
	k.active, k.next = k.next, fresh
	return k.active.kid, nil
}

// published lists the keys in the JWKS now: active, next, and retiring
// keys whose time has not come.
func (k *keyring) published() []*signingKey {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	k.retiring = slices.DeleteFunc(k.retiring, func(s *signingKey) bool { return !now.Before(s.retireAt) })
	out := []*signingKey{k.active, k.next}
	return append(out, k.retiring...)
}

func (k *keyring) activeKey() *signingKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.active
}

// publishedKey finds a published key by kid.
func (k *keyring) publishedKey(kid string) (*signingKey, bool) {
	for _, s := range k.published() {
		if s.kid == kid {
			return s, true
		}
	}
	return nil, false
}

// jwk is one JWKS entry in Entra's shape.
type jwk struct {
	Kty    string   `json:"kty"`
	Use    string   `json:"use"`
	Kid    string   `json:"kid"`
	X5t    string   `json:"x5t"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	X5c    []string `json:"x5c"`
	Issuer string   `json:"issuer,omitempty"`
}

func (k *keyring) jwks(issuer string) map[string][]jwk {
	var keys []jwk
	for _, s := range k.published() {
		keys = append(keys, jwk{
			Kty: "RSA", Use: "sig", Kid: s.kid, X5t: s.x5t(),
			N:   base64.RawURLEncoding.EncodeToString(s.priv.N.Bytes()),
			E:   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(s.priv.E)).Bytes()),
			X5c: []string{base64.StdEncoding.EncodeToString(s.cert.Raw)}, Issuer: issuer,
		})
	}
	return map[string][]jwk{"keys": keys}
}

// sign serialises claims as a JWT signed (RS256) by the active key, with
// Entra's header (typ, alg, kid, x5t).
func (k *keyring) sign(claims any) (string, error) {
	key := k.activeKey()
	return signWith(key, claims)
}

func signWith(key *signingKey, claims any) (string, error) {
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", key.kid).WithHeader("x5t", key.x5t())
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key.priv}, opts)
	if err != nil {
		return "", fmt.Errorf("entra: signer: %w", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("entra: claims: %w", err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("entra: sign: %w", err)
	}
	return jws.CompactSerialize()
}

// errUnknownKey means a JWT names no key this keyring publishes.
var errUnknownKey = errors.New("the token's signing key is not published")

// verify checks that raw was signed (RS256) by a key this keyring
// publishes and returns the payload. Claims are not checked here.
func (k *keyring) verify(raw string) ([]byte, error) {
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, fmt.Errorf("not an RS256 JWT: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("the token must carry exactly one signature")
	}
	key, ok := k.publishedKey(jws.Signatures[0].Header.KeyID)
	if !ok {
		return nil, errUnknownKey
	}
	return jws.Verify(&key.priv.PublicKey)
}

// certThumbprints are the two thumbprint forms a client assertion header
// may name a certificate by.
func certThumbprints(c *x509.Certificate) (s256, s1 []byte) {
	a := sha256.Sum256(c.Raw)
	b := sha1.Sum(c.Raw)
	return a[:], b[:]
}
