package databricks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/behalf-dev/behalf/infra/devstack/directory"
)

// TrustedIssuer is an identity provider whose access tokens the workspace
// accepts directly as "Authorization: Bearer" (Azure Databricks accepts
// Entra ID tokens for its resource this way).
type TrustedIssuer struct {
	// Issuer must equal the token's iss.
	Issuer string
	// JWKSURL is where the signing keys are; empty means discover it from
	// Issuer + "/.well-known/openid-configuration".
	JWKSURL string
	// Audiences accepted in aud (default: the Azure Databricks resource id).
	Audiences []string
	// TenantID, if set, must equal the token's tid.
	TenantID string
}

// EntraIssuers returns the two issuer forms of an Entra ID tenant served
// at baseURL (e.g. the Entra emulator's https://127.0.0.1:8443): v2
// (baseURL/{tenant}/v2.0) and v1 (https://sts.windows.net/{tenant}/), both
// verified with the keys at baseURL/{tenant}/discovery/v2.0/keys and
// accepted for the Azure Databricks resource.
func EntraIssuers(baseURL, tenantID string) []TrustedIssuer {
	base := strings.TrimRight(baseURL, "/")
	jwks := base + "/" + tenantID + "/discovery/v2.0/keys"
	aud := []string{directory.AzureDatabricksResource}
	return []TrustedIssuer{
		{Issuer: base + "/" + tenantID + "/v2.0", JWKSURL: jwks, Audiences: aud, TenantID: tenantID},
		{Issuer: "https://sts.windows.net/" + tenantID + "/", JWKSURL: jwks, Audiences: aud, TenantID: tenantID},
	}
}

// FederationPolicy lets /oidc/v1/token exchange tokens of another identity
// provider (RFC 8693 token federation).
//
// Without ServicePrincipal it is a user federation policy: an exchange
// without client_id maps the token's SubjectClaim to a workspace user (by
// user name, or Entra object id). With ServicePrincipal it is a service
// principal federation policy: an exchange with client_id equal to
// ServicePrincipal succeeds when the token's SubjectClaim equals (or, for a
// list claim such as groups, contains) Subject, and yields a token for
// that service principal.
type FederationPolicy struct {
	Issuer string
	// JWKSURL as for TrustedIssuer (empty: discovered from the issuer).
	JWKSURL string
	// Audiences accepted in aud (default: this workspace's token endpoint
	// URL, which is what databricks-sdk-go requests when unconfigured).
	Audiences []string
	// SubjectClaim names the claim to match (default "sub").
	SubjectClaim     string
	Subject          string
	ServicePrincipal string
}

// PartnerFederationPolicies builds service-principal federation policies
// from the directory's partner IdP: a partner token carrying a group listed
// in PartnerIdP.GroupRoles (in its "groups" claim) may be exchanged for a
// token of that group's role service principal. issuer is the partner
// IdP's issuer URL (the Entra emulator's base URL + PartnerIdP.Issuer);
// jwksURL may be empty to use discovery.
func PartnerFederationPolicies(d *directory.Directory, issuer, jwksURL string) []FederationPolicy {
	var out []FederationPolicy
	groups := make([]string, 0, len(d.PartnerIdP.GroupRoles))
	for g := range d.PartnerIdP.GroupRoles {
		groups = append(groups, g)
	}
	slices.Sort(groups)
	for _, g := range groups {
		out = append(out, FederationPolicy{Issuer: issuer, JWKSURL: jwksURL, Audiences: []string{d.PartnerIdP.Audience},
			SubjectClaim: "groups", Subject: g, ServicePrincipal: d.PartnerIdP.GroupRoles[g]})
	}
	return out
}

// signingAlgs are the JWT algorithms accepted from identity providers: no
// "none", no HMAC.
var signingAlgList = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}

func joseAlgs() []jose.SignatureAlgorithm {
	out := make([]jose.SignatureAlgorithm, len(signingAlgList))
	for i, a := range signingAlgList {
		out[i] = jose.SignatureAlgorithm(a)
	}
	return out
}

// keySets caches one remote key set per JWKS URL (go-oidc refreshes it
// when a token carries an unknown kid) and discovered JWKS URLs.
type keySets struct {
	client *http.Client
	mu     sync.Mutex
	sets   map[string]*oidc.RemoteKeySet
	jwks   map[string]string // issuer → discovered jwks_uri
}

func (k *keySets) forIssuer(ctx context.Context, issuer, jwksURL string) (*oidc.RemoteKeySet, error) {
	if jwksURL == "" {
		var err error
		if jwksURL, err = k.discover(ctx, issuer); err != nil {
			return nil, err
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if s, ok := k.sets[jwksURL]; ok {
		return s, nil
	}
	s := oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), k.client), jwksURL)
	k.sets[jwksURL] = s
	return s, nil
}

func (k *keySets) discover(ctx context.Context, issuer string) (string, error) {
	k.mu.Lock()
	u, ok := k.jwks[issuer]
	k.mu.Unlock()
	if ok {
		return u, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(issuer, "/")+"/.well-known/openid-configuration", nil)
	if err != nil {
		return "", fmt.Errorf("discovery for %s: %w", issuer, err)
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("discovery for %s: %w", issuer, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("discovery for %s: HTTP %d", issuer, resp.StatusCode)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&doc); err != nil {
		return "", fmt.Errorf("discovery for %s: %w", issuer, err)
	}
	if doc.Issuer != issuer || doc.JWKSURI == "" {
		return "", fmt.Errorf("discovery for %s: issuer %q and jwks_uri %q do not fit", issuer, doc.Issuer, doc.JWKSURI)
	}
	k.mu.Lock()
	k.jwks[issuer] = doc.JWKSURI
	k.mu.Unlock()
	return doc.JWKSURI, nil
}

// errExpired marks an expired token.
var errExpired = errors.New("token is expired")

// peekIssuer reads iss from a JWT without verifying it, only to choose the
// verifier; nothing else is trusted before verification.
func peekIssuer(raw string) (string, error) {
	tok, err := jwt.ParseSigned(raw, joseAlgs())
	if err != nil {
		return "", fmt.Errorf("not a signed JWT: %w", err)
	}
	var c struct {
		Issuer string `json:"iss"`
	}
	if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil {
		return "", fmt.Errorf("unreadable claims: %w", err)
	}
	return c.Issuer, nil
}

// verifyJWT checks signature, issuer, expiry and audience and returns the
// claims.
func verifyJWT(ctx context.Context, ks oidc.KeySet, issuer, raw string, audiences []string) (map[string]any, error) {
	v := oidc.NewVerifier(issuer, ks, &oidc.Config{SkipClientIDCheck: true, SupportedSigningAlgs: signingAlgList})
	tok, err := v.Verify(ctx, raw)
	if err != nil {
		var te *oidc.TokenExpiredError
		if errors.As(err, &te) {
			return nil, errExpired
		}
		return nil, err
	}
	if !slices.ContainsFunc(tok.Audience, func(a string) bool { return slices.Contains(audiences, a) }) {
		return nil, fmt.Errorf("audience %v is not accepted", tok.Audience)
	}
	claims := map[string]any{}
	if err := tok.Claims(&claims); err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	return claims, nil
}

func claimString(c map[string]any, name string) string {
	s, _ := c[name].(string)
	return s
}

// claimValues returns a claim as a list of strings (a string claim is a
// list of one).
func claimValues(c map[string]any, name string) []string {
	switch v := c[name].(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
