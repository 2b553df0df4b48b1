package entra

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/behalf-dev/behalf/infra/devstack/directory"
)

// TokenExchangeAudience is the audience of managed-identity tokens used as
// federated client assertions (api://AzureADTokenExchange), and
// TokenExchangeAppID the application id behind it.
const (
	TokenExchangeAudience = "api://AzureADTokenExchange"
	TokenExchangeAppID    = "fb60f99c-7a34-4190-8149-302f77469936"
)

// V1IssuerHost is the host of v1 token issuers (https://sts.windows.net/{tid}/),
// as in Entra ID: tokens for resources that accept v1 tokens (Azure
// Databricks) carry it. They are signed by the emulator's tenant keys.
const V1IssuerHost = "https://sts.windows.net"

// oidcScopes are added by MSAL to every request and never name a resource.
var oidcScopes = []string{"openid", "profile", "offline_access", "email"}

// resource is an API tokens can be issued for.
type resource struct {
	// id is the application id: the aud of its tokens.
	id   string
	name string
	// identifiers are the forms a scope may name it by (id, api://id).
	identifiers []string
	// scopes are the delegated scopes it exposes.
	scopes []string
	// appRoles it defines; people's app roles appear in its tokens.
	appRoles []string
	// v1 resources get v1 tokens (sts.windows.net issuer, upn, appid).
	v1 bool
	// appOnly resources accept only app tokens (AzureADTokenExchange).
	appOnly bool
}

func (r *resource) named(id string) bool {
	return slices.ContainsFunc(r.identifiers, func(s string) bool { return strings.EqualFold(s, id) })
}

// app is an app registration with its parsed credentials.
type app struct {
	directory.App
	certs []*x509.Certificate
	// objectID is the service principal's object id (oid of app tokens).
	objectID string
}

// world is the directory as the emulator serves it.
type world struct {
	dir       *directory.Directory
	tenants   []directory.Tenant
	apps      map[string]*app
	resources []*resource
}

func newWorld(d *directory.Directory) (*world, error) {
	w := &world{dir: d, tenants: d.Tenants, apps: map[string]*app{}}
	for _, a := range d.Apps {
		ap := &app{App: a, objectID: derivedID("sp", a.ClientID)}
		for i, p := range a.Certificates {
			blk, _ := pem.Decode([]byte(p))
			if blk == nil || blk.Type != "CERTIFICATE" {
				return nil, fmt.Errorf("entra: app %q certificate %d is not a PEM certificate", a.Name, i)
			}
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("entra: app %q certificate %d: %w", a.Name, i, err)
			}
			ap.certs = append(ap.certs, c)
		}
		w.apps[a.ClientID] = ap
		if len(a.ExposedScopes) > 0 || len(a.AppRoles) > 0 {
			w.resources = append(w.resources, &resource{id: a.ClientID, name: a.Name,
				identifiers: []string{a.ClientID, "api://" + a.ClientID}, scopes: a.ExposedScopes, appRoles: a.AppRoles})
		}
	}
	w.resources = append(w.resources,
		&resource{id: directory.AzureDatabricksResource, name: "AzureDatabricks",
			identifiers: []string{directory.AzureDatabricksResource}, scopes: []string{"user_impersonation"}, v1: true},
		&resource{id: TokenExchangeAudience, name: "AzureADTokenExchange",
			identifiers: []string{TokenExchangeAudience, TokenExchangeAppID}, appOnly: true},
	)
	return w, nil
}

// tenant finds a tenant by id or domain.
func (w *world) tenant(s string) (directory.Tenant, bool) {
	for _, t := range w.tenants {
		if strings.EqualFold(t.ID, s) || (t.Domain != "" && strings.EqualFold(t.Domain, s)) {
			return t, true
		}
	}
	return directory.Tenant{}, false
}

// appIn finds an app registered in tenant.
func (w *world) appIn(tenantID, clientID string) (*app, bool) {
	a, ok := w.apps[clientID]
	if !ok || a.Tenant != tenantID {
		return nil, false
	}
	return a, true
}

func (w *world) resource(identifier string) (*resource, bool) {
	for _, r := range w.resources {
		if r.named(identifier) {
			return r, true
		}
	}
	return nil, false
}

// person finds a tenant member by object id.
func (w *world) person(tenantID, oid string) (directory.Person, bool) {
	p, ok := w.dir.PersonByOID(oid)
	if !ok || p.External || p.Tenant != tenantID {
		return directory.Person{}, false
	}
	return p, true
}

// people lists the tenant's members (for the sign-in page).
func (w *world) people(tenantID string) []directory.Person {
	var out []directory.Person
	for _, p := range w.dir.People {
		if !p.External && p.Tenant == tenantID {
			out = append(out, p)
		}
	}
	return out
}

func (w *world) groupIDs(p directory.Person) []string {
	var out []string
	for _, g := range p.Groups {
		if grp, ok := w.dir.GroupByName(g); ok {
			out = append(out, grp.ID)
		}
	}
	return out
}

// consented says whether client may get delegated tokens for res: its own
// API, the APIs it calls, and the resources it may call on behalf of users.
func (w *world) consented(client *app, res *resource) bool {
	if res.appOnly {
		return false
	}
	if res.named(client.ClientID) {
		return true
	}
	for _, id := range append(slices.Clone(client.CallsAPIs), client.OBOResources...) {
		if res.named(id) || res.named(strings.TrimPrefix(id, "api://")) {
			return true
		}
	}
	return false
}

// scopeRequest is a parsed scope parameter.
type scopeRequest struct {
	res *resource
	// requested are the resource scopes as sent (echoed in "scope").
	requested []string
	// names are the scope names (after the resource), ".default" included.
	names []string
	// openid, offline are the OIDC scopes present.
	openid, offline bool
}

const (
	maxScopeParam = 4096
	maxScopes     = 50
)

// parseScopes reads a scope parameter. Every non-OIDC scope must name the
// same known resource.
func (w *world) parseScopes(raw string) (*scopeRequest, *Error) {
	if len(raw) > maxScopeParam {
		return nil, invalidScope(CodeInvalidScope, "The provided value for the input parameter 'scope' is too long.")
	}
	fields := strings.Fields(raw)
	if len(fields) > maxScopes {
		return nil, invalidScope(CodeInvalidScope, "The provided value for the input parameter 'scope' has too many scopes.")
	}
	sr := &scopeRequest{}
	for _, f := range fields {
		lf := strings.ToLower(f)
		if slices.Contains(oidcScopes, lf) {
			sr.openid = sr.openid || lf == "openid"
			sr.offline = sr.offline || lf == "offline_access"
			continue
		}
		i := strings.LastIndex(f, "/")
		if i <= 0 || i == len(f)-1 {
			return nil, invalidScope(CodeInvalidScope, "The provided value for the input parameter 'scope' is not valid: %q does not name a resource of this tenant (use <resource>/<scope>).", clip(f))
		}
		res, ok := w.resource(f[:i])
		if !ok {
			return nil, oauthErr("invalid_resource", CodeResourceNotFound, "The resource principal named %s was not found in the tenant.", clip(f[:i]))
		}
		if sr.res != nil && sr.res != res {
			return nil, invalidScope(CodeMultipleResources, "Provided value for the input parameter scope is not valid because it contains more than one resource.")
		}
		sr.res = res
		name := f[i+1:]
		if name != ".default" && !slices.Contains(res.scopes, name) {
			return nil, invalidScope(CodeInvalidScope, "The application asked for scope '%s' that doesn't exist on the resource '%s'.", clip(name), res.id)
		}
		if !slices.Contains(sr.requested, f) {
			sr.requested = append(sr.requested, f)
			sr.names = append(sr.names, name)
		}
	}
	if sr.res == nil {
		return nil, invalidScope(CodeInvalidScope, "The provided value for the input parameter 'scope' names no API; request a scope of a registered API (e.g. api://<app id>/access_as_user) next to openid/profile/offline_access.")
	}
	return sr, nil
}

// delegated is the scp claim for a delegated token.
func (sr *scopeRequest) delegated() string {
	var out []string
	for _, n := range sr.names {
		if n == ".default" {
			out = append(out, sr.res.scopes...)
		} else {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return strings.Join(slices.Compact(out), " ")
}

// derivedID is a stable GUID for something the directory does not name
// (a service principal's object id, a pairwise subject).
func derivedID(kind string, parts ...string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + strings.Join(parts, "\x00")))
	u, _ := uuid.FromBytes(sum[:16])
	// Mark it as a version-4 style GUID so it looks like Entra's.
	u[6] = (u[6] & 0x0f) | 0x40
	u[8] = (u[8] & 0x3f) | 0x80
	return u.String()
}

// pairwiseSub is Entra's sub: stable per person and app, not the oid.
func pairwiseSub(oid, appID string) string {
	sum := sha256.Sum256([]byte(oid + "\x00" + strings.ToLower(appID)))
	return base64.RawURLEncoding.EncodeToString(sum[:])[:43]
}

// clip keeps caller text short in error descriptions.
func clip(s string) string {
	if len(s) > 128 {
		s = s[:128] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
