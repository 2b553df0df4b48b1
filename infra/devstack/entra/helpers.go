package entra

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/behalf-dev/behalf/infra/devstack/directory"
)

// The functions in this file are dev/test helpers: they mint tokens
// directly, without a sign-in, a client credential or an HTTP call, so
// tests can start from "this person holds a token for that API". The
// tokens are signed by the emulator's tenant keys exactly like the ones
// the token endpoint issues, so every verifier treats them the same.

// UserToken describes a delegated access token to mint.
type UserToken struct {
	// UPN of a member of an Entra tenant (required).
	UPN string
	// Resource is the API the token is for: an app's client id or
	// api://{client id}, or the Azure Databricks resource id (required).
	Resource string
	// ClientID is the client app the token was issued to (azp / appid;
	// required), e.g. the agent backend calling behalf.
	ClientID string
	// Scopes are the scp values (default: every scope the resource
	// exposes).
	Scopes []string
	// Lifetime defaults to Lifetimes.AccessToken; a negative one mints a
	// token that expired that long ago.
	Lifetime time.Duration
	// MFA marks a completed second factor (amr mfa and the MFA acrs).
	MFA bool
}

// ErrUnknown means a helper was given a person, app or resource the
// directory does not have.
var ErrUnknown = errors.New("entra: unknown person, app or resource")

// MintUserToken mints a delegated access token (dev/test helper).
func (e *Emulator) MintUserToken(t UserToken) (string, error) {
	p, ok := e.cfg.Directory.PersonByUPN(t.UPN)
	if !ok || p.External {
		return "", fmt.Errorf("%w: person %q", ErrUnknown, t.UPN)
	}
	a, ok := e.world.appIn(p.Tenant, t.ClientID)
	if !ok {
		return "", fmt.Errorf("%w: app %q in tenant %s", ErrUnknown, t.ClientID, p.Tenant)
	}
	res, ok := e.world.resource(t.Resource)
	if !ok || res.appOnly {
		return "", fmt.Errorf("%w: resource %q", ErrUnknown, t.Resource)
	}
	scopes := t.Scopes
	if len(scopes) == 0 {
		scopes = res.scopes
	}
	for _, s := range scopes {
		if !slices.Contains(res.scopes, s) {
			return "", fmt.Errorf("%w: scope %q of %s", ErrUnknown, s, res.id)
		}
	}
	ttl := t.Lifetime
	if ttl == 0 {
		ttl = e.life.AccessToken
	}
	u := user{person: p, tenantID: p.Tenant, mfa: t.MFA}
	if t.MFA {
		u.acrs = []string{e.cfg.MFAContext}
	}
	raw, _, err := e.userAccessToken(u, caller{app: a, acr: "1"}, res, strings.Join(scopes, " "), ttl)
	return raw, err
}

// UserAccessToken mints a token for a person, for resource, issued to
// clientID, with the resource's scopes and the default lifetime (dev/test
// helper). For behalf's API: UserAccessToken(upn, behalfClientID,
// agentClientID).
func (e *Emulator) UserAccessToken(upn, resource, clientID string) (string, error) {
	return e.MintUserToken(UserToken{UPN: upn, Resource: resource, ClientID: clientID})
}

// MintAppToken mints an app-only token of an app registration for
// resource (dev/test helper); lifetime as for UserToken.
func (e *Emulator) MintAppToken(clientID, resource string, lifetime time.Duration) (string, error) {
	a, ok := e.world.apps[clientID]
	if !ok {
		return "", fmt.Errorf("%w: app %q", ErrUnknown, clientID)
	}
	res, ok := e.world.resource(resource)
	if !ok {
		return "", fmt.Errorf("%w: resource %q", ErrUnknown, resource)
	}
	if lifetime == 0 {
		lifetime = e.life.AccessToken
	}
	raw, _, err := e.appAccessToken(appPrincipal{clientID: a.ClientID, objectID: a.objectID, tenantID: a.Tenant, acr: "1"}, res, lifetime)
	return raw, err
}

// MintManagedIdentityToken mints a managed identity's token for resource
// (e.g. TokenExchangeAudience), as the managed-identity endpoint would
// (dev/test helper); lifetime as for UserToken.
func (e *Emulator) MintManagedIdentityToken(miClientID, resource string, lifetime time.Duration) (string, error) {
	var mi *directory.ManagedIdentity
	for i, m := range e.cfg.Directory.ManagedIdentity {
		if m.ClientID == miClientID {
			mi = &e.cfg.Directory.ManagedIdentity[i]
		}
	}
	if mi == nil {
		return "", fmt.Errorf("%w: managed identity %q", ErrUnknown, miClientID)
	}
	res, ok := e.world.resource(resource)
	if !ok {
		return "", fmt.Errorf("%w: resource %q", ErrUnknown, resource)
	}
	if lifetime == 0 {
		lifetime = e.life.ManagedIdentityToken
	}
	raw, _, err := e.appAccessToken(appPrincipal{clientID: mi.ClientID, objectID: mi.PrincipalID, tenantID: mi.Tenant, acr: "2", mirid: resourceID(*mi)}, res, lifetime)
	return raw, err
}
