package identity

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	lru "github.com/hashicorp/golang-lru/v2"
)

// AllowedAlgorithms are the only signature algorithms accepted: `none`
// and HMAC (which would let a public key act as a shared secret) never.
var allowedAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256}

// maxTokenBytes bounds what is parsed.
const maxTokenBytes = 16 << 10

// Issuer is an additional (non-Entra) OIDC issuer whose tokens are
// accepted, e.g. a partner IdP used with Databricks token federation.
type Issuer struct {
	URL      string
	Audience string
	// JWKSURL skips discovery when set.
	JWKSURL string
}

// Config configures a Validator.
type Config struct {
	// ClientID is behalf's application (client) id; tokens must be for it
	// (aud = ClientID or api://ClientID).
	ClientID string
	// Tenants are the Entra tenant ids whose tokens are accepted.
	Tenants []string
	// AuthorityHost is the Entra host (https://login.microsoftonline.com);
	// v2 issuers are AuthorityHost/{tenant}/v2.0.
	AuthorityHost string
	// V1IssuerHost is the Entra v1 issuer host (https://sts.windows.net);
	// v1 issuers are V1IssuerHost/{tenant}/.
	V1IssuerHost string
	// RequiredScope is the delegated scope a user token must carry.
	RequiredScope string
	// AcceptedRoles are app roles that stand in for the scope.
	AcceptedRoles []string
	// Extra are additional OIDC issuers (federation).
	Extra []Issuer
	// HTTPClient fetches discovery documents and keys.
	HTTPClient *http.Client
	// ClockSkew tolerated on exp/nbf (default 60 s).
	ClockSkew time.Duration
	// CacheSize bounds the verified-token cache (default 10,000).
	CacheSize int
	// KeyRefreshInterval is the least time between key refreshes caused
	// by unknown kids (default 30 s).
	KeyRefreshInterval time.Duration
	Now                func() time.Time
}

// Validator validates bearer tokens. It is safe for concurrent use.
type Validator struct {
	cfg     Config
	baseCtx context.Context
	cache   *lru.Cache[[32]byte, Principal]

	mu      sync.Mutex
	keySets map[string]*keySet
}

// NewValidator returns a validator. ctx must outlive every request: key
// refreshes run under it.
func NewValidator(ctx context.Context, cfg Config) (*Validator, error) {
	var problems []string
	if cfg.ClientID == "" {
		problems = append(problems, "ClientID is required")
	}
	if len(cfg.Tenants) == 0 && len(cfg.Extra) == 0 {
		problems = append(problems, "at least one tenant or issuer is required")
	}
	if cfg.RequiredScope == "" && len(cfg.AcceptedRoles) == 0 {
		problems = append(problems, "RequiredScope or AcceptedRoles is required")
	}
	for _, u := range append([]string{cfg.AuthorityHost, cfg.V1IssuerHost}, issuerURLs(cfg.Extra)...) {
		if u != "" && !strings.HasPrefix(u, "https://") {
			problems = append(problems, fmt.Sprintf("issuer %q must use https", u))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("identity: %s", strings.Join(problems, "; "))
	}
	if cfg.AuthorityHost == "" {
		cfg.AuthorityHost = "https://login.microsoftonline.com"
	}
	if cfg.V1IssuerHost == "" {
		cfg.V1IssuerHost = "https://sts.windows.net"
	}
	cfg.AuthorityHost = strings.TrimRight(cfg.AuthorityHost, "/")
	cfg.V1IssuerHost = strings.TrimRight(cfg.V1IssuerHost, "/")
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if cfg.ClockSkew <= 0 {
		cfg.ClockSkew = 60 * time.Second
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 10_000
	}
	if cfg.KeyRefreshInterval <= 0 {
		cfg.KeyRefreshInterval = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cache, err := lru.New[[32]byte, Principal](cfg.CacheSize)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	return &Validator{cfg: cfg, baseCtx: context.WithoutCancel(ctx), cache: cache, keySets: map[string]*keySet{}}, nil
}

func issuerURLs(is []Issuer) []string {
	out := make([]string, len(is))
	for i, x := range is {
		out[i] = x.URL
	}
	return out
}

// claims are the token claims behalf reads.
type claims struct {
	Issuer     string          `json:"iss"`
	Audience   json.RawMessage `json:"aud"`
	Expiry     *json.Number    `json:"exp"`
	NotBefore  *json.Number    `json:"nbf"`
	TenantID   string          `json:"tid"`
	OID        string          `json:"oid"`
	Subject    string          `json:"sub"`
	UPN        string          `json:"upn"`
	Preferred  string          `json:"preferred_username"`
	UniqueName string          `json:"unique_name"`
	Email      string          `json:"email"`
	Name       string          `json:"name"`
	Scope      string          `json:"scp"`
	Roles      []string        `json:"roles"`
	Groups     []string        `json:"groups"`
	AZP        string          `json:"azp"`
	AppID      string          `json:"appid"`
	Version    string          `json:"ver"`
}

// Validate checks raw and returns its principal, or an *Error.
func (v *Validator) Validate(ctx context.Context, raw string) (*Principal, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, refuse(CodeMissing, "send the person's token as Authorization: Bearer <token>")
	}
	if len(raw) > maxTokenBytes {
		return nil, refuse(CodeMalformed, "token is larger than %d bytes", maxTokenBytes)
	}
	now := v.cfg.Now()
	key := sha256.Sum256([]byte(raw))
	if p, ok := v.cache.Get(key); ok {
		if now.Before(p.ExpiresAt.Add(v.cfg.ClockSkew)) {
			return &p, nil
		}
		v.cache.Remove(key)
	}

	tok, err := jose.ParseSigned(raw, allowedAlgorithms)
	if err != nil {
		if alg := headerAlg(raw); alg != "" && !slices.Contains(allowedAlgorithms, jose.SignatureAlgorithm(alg)) {
			return nil, refuse(CodeAlgNotAllowed, "signature algorithm %q is not allowed; use RS256, PS256 or ES256", sanitize(alg))
		}
		return nil, refuse(CodeMalformed, "token is not a signed JWT")
	}
	if len(tok.Signatures) != 1 {
		return nil, refuse(CodeMalformed, "token must carry exactly one signature")
	}
	var unverified claims
	if err := json.Unmarshal(tok.UnsafePayloadWithoutVerification(), &unverified); err != nil {
		return nil, refuse(CodeMalformed, "token claims are not valid JSON")
	}
	iss, err := v.classify(&unverified)
	if err != nil {
		return nil, err
	}
	ks := v.keySet(iss.URL, iss.JWKSURL)
	kid := tok.Signatures[0].Header.KeyID
	if kid == "" {
		return nil, refuse(CodeMalformed, "token header has no kid")
	}
	jwk, err := ks.key(ctx, kid)
	if err != nil {
		return nil, err
	}
	payload, err := tok.Verify(jwk)
	if err != nil {
		return nil, refuse(CodeBadSignature, "token signature does not verify")
	}
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, refuse(CodeMalformed, "token claims are not valid JSON")
	}
	p, err := v.checkClaims(&c, iss, now)
	if err != nil {
		return nil, err
	}
	v.cache.Add(key, *p)
	return p, nil
}

// classify finds which configured issuer a token claims to come from.
// The result is only trusted after the signature check.
func (v *Validator) classify(c *claims) (Issuer, error) {
	for _, x := range v.cfg.Extra {
		if c.Issuer == x.URL {
			return x, nil
		}
	}
	issTenant, ok := v.entraTenant(c.Issuer)
	switch {
	case !ok:
		return Issuer{}, refuse(CodeWrongIssuer, "the token's issuer is not trusted")
	case !slices.Contains(v.cfg.Tenants, issTenant):
		return Issuer{}, refuse(CodeWrongTenant, "tokens from this tenant are not accepted")
	case c.TenantID != issTenant:
		return Issuer{}, refuse(CodeWrongIssuer, "the token's tid does not match its issuer")
	}
	// v1 and v2 tokens of a tenant are signed by the same keys, published
	// through the v2 discovery document.
	return Issuer{URL: v.cfg.AuthorityHost + "/" + issTenant + "/v2.0"}, nil
}

// entraTenant extracts the tenant from an Entra v2 (host/{t}/v2.0) or v1
// (sts host/{t}/) issuer.
func (v *Validator) entraTenant(iss string) (string, bool) {
	if rest, ok := strings.CutPrefix(iss, v.cfg.AuthorityHost+"/"); ok {
		if t, ok := strings.CutSuffix(rest, "/v2.0"); ok && t != "" && !strings.Contains(t, "/") {
			return t, true
		}
	}
	if rest, ok := strings.CutPrefix(iss, v.cfg.V1IssuerHost+"/"); ok {
		if t, ok := strings.CutSuffix(rest, "/"); ok && t != "" && !strings.Contains(t, "/") {
			return t, true
		}
	}
	return "", false
}

func (v *Validator) keySet(issuer, jwksURL string) *keySet {
	v.mu.Lock()
	defer v.mu.Unlock()
	ks, ok := v.keySets[issuer]
	if !ok {
		ks = &keySet{issuer: issuer, jwksURL: jwksURL, client: v.cfg.HTTPClient, baseCtx: v.baseCtx, minInterval: v.cfg.KeyRefreshInterval, now: func() time.Time { return v.cfg.Now() }}
		v.keySets[issuer] = ks
	}
	return ks
}

func (v *Validator) checkClaims(c *claims, iss Issuer, now time.Time) (*Principal, error) {
	if c.Expiry == nil {
		return nil, refuse(CodeMalformed, "token has no exp")
	}
	exp, err := numericDate(*c.Expiry)
	if err != nil {
		return nil, refuse(CodeMalformed, "token exp is not a number")
	}
	if !now.Before(exp.Add(v.cfg.ClockSkew)) {
		return nil, refuse(CodeExpired, "token expired; get a new one")
	}
	if c.NotBefore != nil {
		nbf, err := numericDate(*c.NotBefore)
		if err != nil {
			return nil, refuse(CodeMalformed, "token nbf is not a number")
		}
		if now.Add(v.cfg.ClockSkew).Before(nbf) {
			return nil, refuse(CodeNotYetValid, "token is not valid yet; check the clock")
		}
	}
	auds, err := audiences(c.Audience)
	if err != nil {
		return nil, refuse(CodeMalformed, "token aud is malformed")
	}
	want := []string{v.cfg.ClientID, "api://" + v.cfg.ClientID}
	if iss.Audience != "" {
		want = []string{iss.Audience}
	}
	if !slices.ContainsFunc(auds, func(a string) bool { return slices.Contains(want, a) }) {
		return nil, refuse(CodeWrongAudience, "the token is not for behalf; request a token for api://%s", v.cfg.ClientID)
	}
	p := &Principal{
		OID: c.OID, TenantID: c.TenantID, Subject: c.Subject, Email: c.Email, Name: c.Name,
		Groups: c.Groups, Roles: c.Roles, Issuer: c.Issuer, Version: c.Version, ExpiresAt: exp,
		External: iss.Audience != "",
		UPN:      firstNonEmpty(c.UPN, c.Preferred, c.UniqueName, c.Email),
		Scopes:   strings.Fields(c.Scope),
	}
	p.ClientAppID = firstNonEmpty(c.AZP, c.AppID)
	if p.External {
		if p.UPN == "" {
			p.UPN = c.Subject
		}
		return p, nil
	}
	scoped := v.cfg.RequiredScope != "" && slices.Contains(p.Scopes, v.cfg.RequiredScope)
	roled := slices.ContainsFunc(p.Roles, func(r string) bool { return slices.Contains(v.cfg.AcceptedRoles, r) })
	if !scoped && !roled {
		return nil, refuse(CodeMissingScope, "the token lacks the %q scope; request api://%s/%s", v.cfg.RequiredScope, v.cfg.ClientID, v.cfg.RequiredScope)
	}
	if p.OID == "" {
		return nil, refuse(CodeMalformed, "token has no oid")
	}
	return p, nil
}

func numericDate(n json.Number) (time.Time, error) {
	f, err := n.Float64()
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(int64(f), 0), nil
}

func audiences(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 {
		return nil, errors.New("no aud")
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	err := json.Unmarshal(raw, &many)
	return many, err
}

// headerAlg reads the alg of a compact JWS header without trusting it.
func headerAlg(raw string) string {
	head, _, ok := strings.Cut(raw, ".")
	if !ok {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(head, "="))
	if err != nil {
		return ""
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(b, &h) != nil {
		return ""
	}
	return h.Alg
}

// sanitize keeps caller-supplied text short and printable in messages.
func sanitize(s string) string {
	if len(s) > 16 {
		s = s[:16]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
