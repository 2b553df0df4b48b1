// Package identity validates the bearer tokens that reach behalf and turns
// them into a Principal: signature from the issuer's discovery + JWKS,
// algorithm allow-list, issuer, tenant, audience, expiry with skew, and the
// required delegated scope or app role. Every refusal carries a stable
// code. The package knows nothing of HTTP.
package identity

import (
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// Principal is a verified person (or, for app-only tokens, an app). It
// never holds the token it came from.
type Principal struct {
	OID         string
	TenantID    string
	Subject     string
	UPN         string
	Email       string
	Name        string
	Groups      []string
	Roles       []string
	Scopes      []string
	Issuer      string
	ClientAppID string // azp (v2) or appid (v1): the app that called behalf
	Version     string
	ExpiresAt   time.Time
	// External is true for tokens from an additional (federated) OIDC
	// issuer rather than the Entra tenants.
	External bool
}

// String identifies the principal without any credential.
func (p *Principal) String() string {
	if p == nil {
		return "principal(none)"
	}
	return fmt.Sprintf("principal(oid=%s upn=%s tid=%s app=%s)", p.OID, p.UPN, p.TenantID, p.ClientAppID)
}

// LogValue is what log lines show of a principal.
func (p *Principal) LogValue() slog.Value {
	if p == nil {
		return slog.StringValue("none")
	}
	return slog.GroupValue(
		slog.String("oid", p.OID), slog.String("upn", p.UPN), slog.String("tid", p.TenantID),
		slog.String("client_app_id", p.ClientAppID), slog.Bool("external", p.External),
	)
}

// HasRole reports whether the principal holds an app role.
func (p *Principal) HasRole(role string) bool { return slices.Contains(p.Roles, role) }

// InGroup reports whether the principal's token lists the group.
func (p *Principal) InGroup(group string) bool { return slices.Contains(p.Groups, group) }

// DisplayName is the best human-readable name.
func (p *Principal) DisplayName() string {
	switch {
	case p.Name != "":
		return p.Name
	case p.UPN != "":
		return p.UPN
	}
	return p.OID
}
