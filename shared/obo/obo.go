// Package obo exchanges a verified person's token for a short-lived
// Databricks token for that same person. Strategies sit behind one small
// interface: Entra on-behalf-of through MSAL Go, Databricks token
// federation (RFC 8693) for any OIDC IdP including external people mapped
// to role service principals, and the token forwarded by the Databricks
// Apps proxy. A bounded cache reuses exchanged tokens until shortly before
// they expire. behalf's own background identity (M2M) lives elsewhere and
// is never used for a person's request.
package obo

import (
	"context"
	"fmt"
	"time"

	"github.com/behalf-dev/behalf/shared/identity"
)

// Mode names how a Databricks token was obtained; it is recorded in audit
// events.
type Mode string

// Exchange modes.
const (
	ModeEntraOBO   Mode = "entra-obo"
	ModeFederation Mode = "federation"
	ModeForwarded  Mode = "forwarded"
	ModeM2M        Mode = "m2m"
)

// Request is one exchange: the person's incoming token and who it
// verified as.
type Request struct {
	// Assertion is the person's verified inbound token.
	Assertion string
	Principal *identity.Principal
}

// Token is a Databricks access token for one person.
type Token struct {
	AccessToken string
	TokenType   string
	ExpiresAt   time.Time
	Scope       string
	Mode        Mode
	// Role is the role service principal a federated person acts as.
	Role string
}

// String never shows the token itself.
func (t *Token) String() string {
	return fmt.Sprintf("token(mode=%s expires=%s role=%s)", t.Mode, t.ExpiresAt.UTC().Format(time.RFC3339), t.Role)
}

// Exchanger turns a person's token into a Databricks token for them.
type Exchanger interface {
	Exchange(ctx context.Context, req Request) (*Token, error)
}
