// Package session keeps a browser person's sign-in in an encrypted and
// authenticated cookie (AES-256-GCM, with a key id so keys can rotate),
// split into chunks when it outgrows one cookie, and issues the CSRF token
// that state-changing cookie requests must echo. Nothing is stored on the
// server: the cookie is the session.
package session

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Data is what a session holds: enough to act for the person.
type Data struct {
	// AccessToken is the person's token for behalf's API (the OBO
	// assertion).
	AccessToken string    `json:"at"`
	ExpiresAt   time.Time `json:"exp"`
	// MSALCache is the person's own MSAL token cache (it holds the refresh
	// token), used to renew AccessToken near expiry; HomeAccountID finds
	// the account in it.
	MSALCache     []byte    `json:"mc,omitempty"`
	HomeAccountID string    `json:"hid,omitempty"`
	OID           string    `json:"oid"`
	TenantID      string    `json:"tid"`
	UPN           string    `json:"upn"`
	Name          string    `json:"name"`
	CSRF          string    `json:"csrf"`
	IssuedAt      time.Time `json:"iat"`
}

// RefreshWindow is how long before expiry a session's token is renewed.
const RefreshWindow = 5 * time.Minute

// NeedsRefresh reports whether the token expires within RefreshWindow
// and can be renewed.
func (d *Data) NeedsRefresh(now time.Time) bool {
	return len(d.MSALCache) > 0 && d.ExpiresAt.Sub(now) < RefreshWindow
}

// Key is one AEAD key with its id.
type Key struct {
	ID     string
	Secret []byte // 32 bytes
}

// Config configures the cookie codec.
type Config struct {
	// Keys: the first encrypts; all decrypt (rotation).
	Keys []Key
	// Name of the cookie (chunks get .1, .2, ... suffixes).
	Name string
	// Secure marks cookies Secure (always, except plain-http localhost dev).
	Secure bool
	// MaxAge bounds a session's life regardless of token refreshes.
	MaxAge time.Duration
	// Path scopes the cookie (default /api/).
	Path string
	Now  func() time.Time
}

// Codec seals and opens session cookies.
type Codec struct {
	cfg   Config
	aeads map[string]cipher.AEAD
}

const (
	maxCookieValue = 3800 // below browsers' 4096 bytes per cookie, name and attributes included
	maxChunks      = 5
	version        = "v1"
)

// ErrNoSession means the request carries no (valid) session.
var ErrNoSession = errors.New("session: no valid session")

// New validates keys and returns a codec.
func New(cfg Config) (*Codec, error) {
	if len(cfg.Keys) == 0 {
		return nil, errors.New("session: at least one key is required")
	}
	if cfg.Name == "" {
		cfg.Name = "behalf_session"
	}
	if cfg.Path == "" {
		cfg.Path = "/api/"
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 12 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Codec{cfg: cfg, aeads: map[string]cipher.AEAD{}}
	for _, k := range cfg.Keys {
		if len(k.Secret) != 32 {
			return nil, fmt.Errorf("session: key %q must be 32 bytes, got %d", k.ID, len(k.Secret))
		}
		if k.ID == "" || strings.ContainsAny(k.ID, ".:") {
			return nil, fmt.Errorf("session: key id %q must be non-empty without '.' or ':'", k.ID)
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("session: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("session: %w", err)
		}
		c.aeads[k.ID] = aead
	}
	return c, nil
}

// ParseKeys reads "id:base64secret,id2:base64secret" (the setting's form).
func ParseKeys(s string) ([]Key, error) {
	var keys []Key
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, b64, ok := strings.Cut(part, ":")
		if !ok {
			return nil, errors.New("session keys must look like id:base64secret[,id:base64secret]")
		}
		secret, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, fmt.Errorf("session key %q is not base64", id)
		}
		keys = append(keys, Key{ID: id, Secret: secret})
	}
	if len(keys) == 0 {
		return nil, errors.New("no session keys")
	}
	return keys, nil
}

// NewCSRFToken returns a random token for Data.CSRF.
func NewCSRFToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// SealValue encrypts a small value into one cookie (e.g. sign-in state),
// living maxAge.
func (c *Codec) SealValue(name string, v any, maxAge time.Duration) (*http.Cookie, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	value, err := c.seal(name, plain)
	if err != nil {
		return nil, err
	}
	if len(value) > maxCookieValue {
		return nil, fmt.Errorf("session: %s does not fit one cookie", name)
	}
	ck := c.cookie(name, value)
	ck.MaxAge = int(maxAge / time.Second)
	return ck, nil
}

// OpenValue decrypts a cookie made by SealValue into v.
func (c *Codec) OpenValue(r *http.Request, name string, v any) error {
	ck, err := r.Cookie(name)
	if err != nil {
		return ErrNoSession
	}
	plain, err := c.open(name, ck.Value)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return ErrNoSession
	}
	return nil
}

// ClearValue deletes a SealValue cookie.
func (c *Codec) ClearValue(name string) *http.Cookie {
	ck := c.cookie(name, "")
	ck.MaxAge = -1
	return ck
}

// seal encrypts plain; the cookie name and key id are authenticated, so a
// value cannot be moved to another cookie or re-labelled with another key.
func (c *Codec) seal(name string, plain []byte) (string, error) {
	key := c.cfg.Keys[0]
	aead := c.aeads[key.ID]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	sealed := aead.Seal(nonce, nonce, plain, []byte(version+"|"+key.ID+"|"+name))
	return version + "." + key.ID + "." + base64.RawURLEncoding.EncodeToString(sealed), nil
}

func (c *Codec) open(name, value string) ([]byte, error) {
	parts := strings.SplitN(value, ".", 3)
	if len(parts) != 3 || parts[0] != version {
		return nil, ErrNoSession
	}
	aead, ok := c.aeads[parts[1]]
	if !ok {
		return nil, ErrNoSession
	}
	sealed, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sealed) < aead.NonceSize() {
		return nil, ErrNoSession
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(version+"|"+parts[1]+"|"+name))
	if err != nil {
		return nil, ErrNoSession
	}
	return plain, nil
}

// Seal encrypts d and returns the cookie chunks to set (and expired
// cookies for chunks no longer used).
func (c *Codec) Seal(d *Data) ([]*http.Cookie, error) {
	plain, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	value, err := c.seal(c.cfg.Name, plain)
	if err != nil {
		return nil, err
	}

	n := (len(value) + maxCookieValue - 1) / maxCookieValue
	if n > maxChunks {
		return nil, fmt.Errorf("session: %d bytes do not fit in %d cookies", len(value), maxChunks)
	}
	expires := d.ExpiresAt
	if limit := d.IssuedAt.Add(c.cfg.MaxAge); expires.IsZero() || expires.After(limit) {
		expires = limit
	}
	var out []*http.Cookie
	for i := 0; i < maxChunks; i++ {
		ck := c.cookie(c.chunkName(i), "")
		if i < n {
			end := min(len(value), (i+1)*maxCookieValue)
			ck.Value = value[i*maxCookieValue : end]
			if i == 0 {
				ck.Value = strconv.Itoa(n) + "~" + ck.Value
			}
			ck.MaxAge = int(time.Until(expires).Seconds())
			if ck.MaxAge <= 0 {
				ck.MaxAge = 1
			}
		} else {
			ck.MaxAge = -1
		}
		out = append(out, ck)
	}
	return out, nil
}

// Open reads the session from r, or returns ErrNoSession.
func (c *Codec) Open(r *http.Request) (*Data, error) {
	first, err := r.Cookie(c.chunkName(0))
	if err != nil {
		return nil, ErrNoSession
	}
	countS, rest, ok := strings.Cut(first.Value, "~")
	n, err := strconv.Atoi(countS)
	if !ok || err != nil || n < 1 || n > maxChunks {
		return nil, ErrNoSession
	}
	var b strings.Builder
	b.WriteString(rest)
	for i := 1; i < n; i++ {
		ck, err := r.Cookie(c.chunkName(i))
		if err != nil {
			return nil, ErrNoSession
		}
		b.WriteString(ck.Value)
	}
	plain, err := c.open(c.cfg.Name, b.String())
	if err != nil {
		return nil, err
	}
	var d Data
	if err := json.Unmarshal(plain, &d); err != nil {
		return nil, ErrNoSession
	}
	if c.cfg.Now().After(d.IssuedAt.Add(c.cfg.MaxAge)) {
		return nil, ErrNoSession
	}
	return &d, nil
}

// Clear returns cookies that delete every chunk.
func (c *Codec) Clear() []*http.Cookie {
	out := make([]*http.Cookie, maxChunks)
	for i := range out {
		out[i] = c.cookie(c.chunkName(i), "")
		out[i].MaxAge = -1
	}
	return out
}

// CheckCSRF compares the request's CSRF header with the session's token in
// constant time.
func CheckCSRF(d *Data, header string) bool {
	if d == nil || d.CSRF == "" || header == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(d.CSRF), []byte(header)) == 1
}

func (c *Codec) chunkName(i int) string {
	if i == 0 {
		return c.cfg.Name
	}
	return c.cfg.Name + "." + strconv.Itoa(i)
}

func (c *Codec) cookie(name, value string) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: c.cfg.Path, HttpOnly: true, Secure: c.cfg.Secure, SameSite: http.SameSiteLaxMode}
}
