package workspace

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/databricks/databricks-sdk-go"
	"github.com/databricks/databricks-sdk-go/config"
	"github.com/databricks/databricks-sdk-go/config/experimental/auth"
	"golang.org/x/oauth2"
)

// AzureDatabricksResource is the Entra application id of Azure Databricks.
const AzureDatabricksResource = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d"

// M2M is behalf's own Databricks identity, for its background work (the
// audit store, exports). It is never used for a person's request: those
// get ForToken clients holding the person's token only.
//
// Exactly one of the two forms is set.
type M2M struct {
	// ClientID and ClientSecret are a Databricks service principal's OAuth
	// secret, exchanged with client credentials at the workspace's
	// /oidc/v1/token (development, and workspaces outside Azure).
	ClientID, ClientSecret string
	// Credential is an Entra credential — in Azure, the managed identity
	// (azidentity) — whose tokens for the Azure Databricks resource the
	// workspace accepts directly.
	Credential azcore.TokenCredential
	// Resource is the Azure Databricks application id for Credential
	// (default AzureDatabricksResource).
	Resource string
}

// ErrM2MConfig marks an M2M identity that is not configured correctly.
var ErrM2MConfig = errors.New("workspace: invalid M2M identity")

// ForM2M returns a client that authenticates as behalf itself and nothing
// else: the same rules as ForToken (no environment variable, profile file
// or metadata service is read; the one credential strategy is pinned).
// The client refreshes its token as it expires, so build it once and keep
// it.
func (f *Factory) ForM2M(m M2M) (*databricks.WorkspaceClient, error) {
	cfg := &databricks.Config{
		Host:                 f.cfg.Host,
		Loaders:              []config.Loader{noLoader{}},
		HostMetadataResolver: func(context.Context, string) (*config.HostMetadata, error) { return nil, nil },
		HTTPTransport:        f.transport,
		HTTPTimeoutSeconds:   int(f.cfg.HTTPTimeout / time.Second),
		RetryTimeoutSeconds:  int(f.cfg.RetryTimeout / time.Second),
		RateLimitPerSecond:   100,
	}
	secret := m.ClientID != "" || m.ClientSecret != ""
	switch {
	case secret && m.Credential != nil:
		return nil, fmt.Errorf("%w: set either a client id and secret or a credential, not both", ErrM2MConfig)
	case secret:
		if m.ClientID == "" || m.ClientSecret == "" {
			return nil, fmt.Errorf("%w: a Databricks OAuth secret needs both the client id and the secret", ErrM2MConfig)
		}
		cfg.ClientID, cfg.ClientSecret = m.ClientID, m.ClientSecret
		cfg.AuthType = "oauth-m2m"
		cfg.Credentials = config.M2mCredentials{}
	case m.Credential != nil:
		resource := m.Resource
		if resource == "" {
			resource = AzureDatabricksResource
		}
		cfg.Credentials = config.NewTokenSourceStrategy("behalf-entra-m2m", entraTokenSource(m.Credential, resource+"/.default"))
	default:
		return nil, fmt.Errorf("%w: no credential", ErrM2MConfig)
	}
	w, err := databricks.NewWorkspaceClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("workspace: M2M client: %w", err)
	}
	return w, nil
}

// entraTokenSource asks the Entra credential for a token for the
// Databricks resource; the SDK caches it until shortly before expiry.
func entraTokenSource(cred azcore.TokenCredential, scope string) auth.TokenSource {
	return auth.TokenSourceFn(func(ctx context.Context) (*oauth2.Token, error) {
		tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
		if err != nil {
			return nil, fmt.Errorf("workspace: Entra token for Databricks: %w", err)
		}
		return &oauth2.Token{AccessToken: tok.Token, TokenType: "Bearer", Expiry: tok.ExpiresOn}, nil
	})
}
