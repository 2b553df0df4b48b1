// Package signin is the browser sign-in for behalf's own frontends: the
// OAuth authorization-code flow with PKCE (S256), state and nonce against
// Entra, through MSAL Go's confidential client. The ID token is verified
// (signature, issuer, audience, expiry, nonce) before a session is made,
// and the person comes from its claims. Each sign-in and each refresh uses
// a fresh MSAL client whose only cache is that person's, carried in their
// session, so no two people ever share an MSAL cache.
package signin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/behalf-dev/behalf/shared/session"
)

// Config configures the flow.
type Config struct {
	// Authority is https://<host>/<tenant>.
	Authority string
	// Issuer is the v2 issuer of ID tokens (Authority + /v2.0).
	Issuer     string
	ClientID   string
	Credential confidential.Credential
	// RedirectURI is behalf's /api/auth/callback URL, registered in Entra.
	RedirectURI string
	// APIScope is api://{client id}/access_as_user: the session's token is
	// for behalf itself (so it can be exchanged on behalf of the person).
	APIScope                 string
	HTTPClient               *http.Client
	DisableInstanceDiscovery bool
}

// Flow runs sign-ins.
type Flow struct {
	cfg     Config
	baseCtx context.Context

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
}

// LoginState is what must survive the round trip to the IdP; it is kept in
// a short-lived encrypted cookie bound to the browser.
type LoginState struct {
	State         string    `json:"s"`
	Nonce         string    `json:"n"`
	Verifier      string    `json:"v"`
	RedirectAfter string    `json:"r"`
	Created       time.Time `json:"c"`
}

// New prepares the flow; discovery of the ID-token issuer happens lazily.
func New(ctx context.Context, cfg Config) (*Flow, error) {
	if cfg.Authority == "" || cfg.ClientID == "" || cfg.RedirectURI == "" || cfg.APIScope == "" || cfg.Issuer == "" {
		return nil, errors.New("signin: Authority, Issuer, ClientID, RedirectURI and APIScope are required")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	return &Flow{cfg: cfg, baseCtx: context.WithoutCancel(ctx)}, nil
}

func (f *Flow) scopes() []string { return []string{f.cfg.APIScope} }

// personalCache is one person's MSAL cache: loaded from their session,
// captured after every MSAL write.
type personalCache struct {
	blob []byte
}

func (p *personalCache) Replace(_ context.Context, c cache.Unmarshaler, _ cache.ReplaceHints) error {
	if len(p.blob) == 0 {
		return c.Unmarshal([]byte("{}"))
	}
	return c.Unmarshal(p.blob)
}

func (p *personalCache) Export(_ context.Context, c cache.Marshaler, _ cache.ExportHints) error {
	b, err := c.Marshal()
	if err != nil {
		return err
	}
	p.blob = b
	return nil
}

func (f *Flow) client(pc *personalCache) (confidential.Client, error) {
	opts := []confidential.Option{confidential.WithCache(pc), confidential.WithAzureRegion("DisableMsalForceRegion"), confidential.WithHTTPClient(f.cfg.HTTPClient)}
	if f.cfg.DisableInstanceDiscovery {
		opts = append(opts, confidential.WithInstanceDiscovery(false))
	}
	return confidential.New(f.cfg.Authority, f.cfg.ClientID, f.cfg.Credential, opts...)
}

// Start returns the IdP URL to send the browser to, and the state to keep.
func (f *Flow) Start(ctx context.Context, redirectAfter, loginHint string) (string, *LoginState, error) {
	st := &LoginState{State: random(), Nonce: random(), Verifier: random() + random(), RedirectAfter: redirectAfter, Created: time.Now()}
	c, err := f.client(&personalCache{})
	if err != nil {
		return "", nil, fmt.Errorf("signin: msal: %w", err)
	}
	var opts []confidential.AuthCodeURLOption
	if loginHint != "" {
		opts = append(opts, confidential.WithLoginHint(loginHint))
	}
	raw, err := c.AuthCodeURL(ctx, f.cfg.ClientID, f.cfg.RedirectURI, []string{f.cfg.APIScope, "openid", "profile", "offline_access"}, opts...)
	if err != nil {
		return "", nil, fmt.Errorf("signin: authorize URL: %w", err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", nil, err
	}
	// MSAL's confidential AuthCodeURL sets neither PKCE nor nonce; a
	// confidential app still uses both.
	q := u.Query()
	sum := sha256.Sum256([]byte(st.Verifier))
	q.Set("code_challenge", base64.RawURLEncoding.EncodeToString(sum[:]))
	q.Set("code_challenge_method", "S256")
	q.Set("state", st.State)
	q.Set("nonce", st.Nonce)
	q.Set("response_mode", "query")
	u.RawQuery = q.Encode()
	return u.String(), st, nil
}

// Finish redeems the code and returns the new session.
func (f *Flow) Finish(ctx context.Context, code string, st *LoginState) (*session.Data, error) {
	pc := &personalCache{}
	c, err := f.client(pc)
	if err != nil {
		return nil, fmt.Errorf("signin: msal: %w", err)
	}
	res, err := c.AcquireTokenByAuthCode(ctx, code, f.cfg.RedirectURI, f.scopes(), confidential.WithChallenge(st.Verifier))
	if err != nil {
		return nil, fmt.Errorf("signin: redeem code: %w", err)
	}
	idt, err := f.verifyIDToken(ctx, res.IDToken.RawToken)
	if err != nil {
		return nil, err
	}
	if idt.Nonce == "" || idt.Nonce != st.Nonce {
		return nil, errors.New("signin: ID token nonce does not match this sign-in")
	}
	var claims struct {
		OID  string `json:"oid"`
		TID  string `json:"tid"`
		Name string `json:"name"`
		UPN  string `json:"preferred_username"`
	}
	if err := idt.Claims(&claims); err != nil {
		return nil, fmt.Errorf("signin: ID token claims: %w", err)
	}
	now := time.Now()
	return &session.Data{
		AccessToken: res.AccessToken, ExpiresAt: res.ExpiresOn, MSALCache: pc.blob, HomeAccountID: res.Account.HomeAccountID,
		OID: claims.OID, TenantID: claims.TID, UPN: claims.UPN, Name: claims.Name, CSRF: session.NewCSRFToken(), IssuedAt: now,
	}, nil
}

// Refresh renews the session's token with the refresh token in the
// person's own MSAL cache.
func (f *Flow) Refresh(ctx context.Context, d *session.Data) (*session.Data, error) {
	pc := &personalCache{blob: d.MSALCache}
	c, err := f.client(pc)
	if err != nil {
		return nil, fmt.Errorf("signin: msal: %w", err)
	}
	acct, err := c.Account(ctx, d.HomeAccountID)
	if err != nil {
		return nil, fmt.Errorf("signin: account: %w", err)
	}
	res, err := c.AcquireTokenSilent(ctx, f.scopes(), confidential.WithSilentAccount(acct))
	if err != nil {
		return nil, fmt.Errorf("signin: refresh: %w", err)
	}
	nd := *d
	nd.AccessToken, nd.ExpiresAt, nd.MSALCache = res.AccessToken, res.ExpiresOn, pc.blob
	return &nd, nil
}

func (f *Flow) verifyIDToken(ctx context.Context, raw string) (*oidc.IDToken, error) {
	f.mu.Lock()
	if f.verifier == nil {
		p, err := oidc.NewProvider(oidc.ClientContext(f.baseCtx, f.cfg.HTTPClient), f.cfg.Issuer)
		if err != nil {
			f.mu.Unlock()
			return nil, fmt.Errorf("signin: discovery: %w", err)
		}
		f.verifier = p.Verifier(&oidc.Config{ClientID: f.cfg.ClientID, SupportedSigningAlgs: []string{"RS256", "PS256", "ES256"}})
	}
	verifier := f.verifier
	f.mu.Unlock()
	idt, err := verifier.Verify(oidc.ClientContext(ctx, f.cfg.HTTPClient), raw)
	if err != nil {
		return nil, fmt.Errorf("signin: ID token: %w", err)
	}
	return idt, nil
}

// LogoutURL is the IdP's end-session URL, returning to postLogout.
func (f *Flow) LogoutURL(postLogout string) string {
	v := url.Values{}
	if postLogout != "" {
		v.Set("post_logout_redirect_uri", postLogout)
	}
	return strings.TrimRight(f.cfg.Authority, "/") + "/oauth2/v2.0/logout?" + v.Encode()
}

func random() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
