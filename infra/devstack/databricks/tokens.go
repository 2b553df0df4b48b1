package databricks

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// tokenIssuer signs the workspace's own OAuth tokens (what /oidc/v1/token
// returns) with a key that lives only in memory.
type tokenIssuer struct {
	key    *ecdsa.PrivateKey
	kid    string
	signer jose.Signer
	keys   oidc.KeySet
}

func newTokenIssuer() (*tokenIssuer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("databricks: token key: %w", err)
	}
	var kb [8]byte
	if _, err := rand.Read(kb[:]); err != nil {
		return nil, fmt.Errorf("databricks: token key id: %w", err)
	}
	kid := hex.EncodeToString(kb[:])
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", kid))
	if err != nil {
		return nil, fmt.Errorf("databricks: signer: %w", err)
	}
	return &tokenIssuer{key: key, kid: kid, signer: signer, keys: &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{&key.PublicKey}}}, nil
}

func (ti *tokenIssuer) jwks() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &ti.key.PublicKey, KeyID: ti.kid, Algorithm: string(jose.ES256), Use: "sig"}}}
}

// ownClaims are the claims of a workspace token.
type ownClaims struct {
	jwt.Claims
	Scope    string `json:"scope,omitempty"`
	ClientID string `json:"client_id,omitempty"`
}

// IssueToken returns a workspace OAuth token for a user (by UPN) or a
// service principal (by application id), valid for ttl (default
// Config.TokenTTL), as if /oidc/v1/token had issued it. It is for tests
// and tools that need a token without an identity provider; the emulator
// must be started (the token's issuer is its URL).
func (e *Emulator) IssueToken(userName string, ttl time.Duration) (string, error) {
	p := e.principals.byUserName(userName)
	if p == nil {
		return "", fmt.Errorf("databricks: %q is not a workspace user or service principal", userName)
	}
	return e.issueFor(p, ttl, "all-apis", "")
}

func (e *Emulator) issueFor(p *Principal, ttl time.Duration, scope, clientID string) (string, error) {
	iss := e.ownIssuer()
	if iss == "" {
		return "", errors.New("databricks: the emulator is not serving yet, so it has no issuer URL")
	}
	if ttl <= 0 {
		ttl = e.cfg.TokenTTL
	}
	now := time.Now()
	var jti [12]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", fmt.Errorf("databricks: token id: %w", err)
	}
	c := ownClaims{Claims: jwt.Claims{Issuer: iss, Subject: p.UserName, Audience: jwt.Audience{e.ownAudience()},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)), Expiry: jwt.NewNumericDate(now.Add(ttl)),
		ID: hex.EncodeToString(jti[:])}, Scope: scope, ClientID: clientID}
	raw, err := jwt.Signed(e.tokens.signer).Claims(c).Serialize()
	if err != nil {
		return "", fmt.Errorf("databricks: sign token: %w", err)
	}
	return raw, nil
}

func (e *Emulator) ownIssuer() string {
	if u := e.URL(); u != "" {
		return u + "/oidc"
	}
	return ""
}

func (e *Emulator) ownAudience() string { return "databricks-workspace:" + e.cfg.WorkspaceID }

// verifyOwn checks a token this workspace issued.
func (e *Emulator) verifyOwn(ctx context.Context, raw string) (map[string]any, error) {
	return verifyJWT(ctx, e.tokens.keys, e.ownIssuer(), raw, []string{e.ownAudience()})
}
