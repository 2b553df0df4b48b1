// Package directory holds the demo identities shared by the offline dev stack:
// one tenant, its people and groups, the app registrations, the managed
// identity and the external partner IdP. The Entra ID emulator issues tokens
// for these people and the Databricks workspace emulator governs data by the
// same people and groups, so both read this one definition.
//
// It is development data only: nothing under infra/devstack is imported by
// production packages.
package directory

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// AzureDatabricksResource is the well-known application id of the Azure
// Databricks first-party resource; OBO tokens for Databricks carry it as aud.
const AzureDatabricksResource = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d"

// Directory is the whole demo world.
type Directory struct {
	Tenants         []Tenant          `json:"tenants"`
	Groups          []Group           `json:"groups"`
	People          []Person          `json:"people"`
	Apps            []App             `json:"apps"`
	ManagedIdentity []ManagedIdentity `json:"managed_identities"`
	PartnerIdP      PartnerIdP        `json:"partner_idp"`
	// ServicePrincipals are Databricks service principals (role principals for
	// federated partners, behalf's own M2M identity).
	ServicePrincipals []ServicePrincipal `json:"service_principals"`
	// TokenLifetimes are the Entra emulator's token lifetimes (empty
	// fields: the emulator's defaults).
	TokenLifetimes TokenLifetimes `json:"token_lifetimes"`
}

// TokenLifetimes are Go durations ("1h", "10m"); see the Entra emulator's
// Lifetimes for the defaults.
type TokenLifetimes struct {
	AccessToken          string `json:"access_token,omitempty"`
	IDToken              string `json:"id_token,omitempty"`
	RefreshToken         string `json:"refresh_token,omitempty"`
	AuthorizationCode    string `json:"authorization_code,omitempty"`
	ManagedIdentityToken string `json:"managed_identity_token,omitempty"`
}

// Each lists the lifetimes by name, for validation and messages.
func (l TokenLifetimes) Each() map[string]string {
	return map[string]string{"access_token": l.AccessToken, "id_token": l.IDToken, "refresh_token": l.RefreshToken,
		"authorization_code": l.AuthorizationCode, "managed_identity_token": l.ManagedIdentityToken}
}

// ParseLifetime parses one lifetime; "" is zero (use the default).
func ParseLifetime(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > 90*24*time.Hour {
		return 0, fmt.Errorf("token lifetime %q must be a positive Go duration up to 90 days", s)
	}
	return d, nil
}

// Tenant is an Entra tenant.
type Tenant struct {
	ID     string `json:"id"`
	Domain string `json:"domain"`
	Name   string `json:"name"`
}

// Group is a security group; Databricks uses DisplayName, Entra tokens carry ID.
type Group struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
}

// Person is a human in the tenant (or, with External set, in the partner IdP).
type Person struct {
	OID    string   `json:"oid"`
	Tenant string   `json:"tenant"`
	UPN    string   `json:"upn"`
	Name   string   `json:"name"`
	Role   string   `json:"role"`   // human-readable demo role
	Groups []string `json:"groups"` // group display names
	// AppRoles are app roles of behalf's API granted to this person
	// ("approver", "auditor").
	AppRoles []string `json:"app_roles,omitempty"`
	// RequireMFAFor lists resources (app ids) for which a token request must
	// satisfy an MFA claims challenge first.
	RequireMFAFor []string `json:"require_mfa_for,omitempty"`
	// External people sign in at the partner IdP, not at Entra.
	External bool `json:"external,omitempty"`
}

// App is an app registration.
type App struct {
	ClientID     string   `json:"client_id"`
	Name         string   `json:"name"`
	Tenant       string   `json:"tenant"`
	Secret       string   `json:"secret,omitempty"` // development secret
	RedirectURIs []string `json:"redirect_uris,omitempty"`
	// ExposedScopes are delegated scopes this app exposes as an API
	// (e.g. "access_as_user" → api://{client_id}/access_as_user).
	ExposedScopes []string `json:"exposed_scopes,omitempty"`
	// AppRoles this app defines ("approver", "auditor").
	AppRoles []string `json:"app_roles,omitempty"`
	// OBOResources are the resources (app ids or api:// URIs) this app may call
	// on behalf of users, with consent granted.
	OBOResources []string `json:"obo_resources,omitempty"`
	// CallsAPIs are the APIs (client ids) this app may get user tokens for.
	CallsAPIs []string `json:"calls_apis,omitempty"`
	// FederatedManagedIdentities are managed identity client ids trusted as
	// federated credentials (client_assertion from the MI endpoint).
	FederatedManagedIdentities []string `json:"federated_managed_identities,omitempty"`
	// Certificates are PEM X.509 certificates (public part only) whose keys
	// may sign client assertions for this app.
	Certificates []string `json:"certificates,omitempty"`
	// BrokerAllowed marks an agent backend allow-listed to call behalf's
	// token broker (obo-exchange).
	BrokerAllowed bool `json:"broker_allowed,omitempty"`
}

// ManagedIdentity is a user-assigned managed identity.
type ManagedIdentity struct {
	ClientID    string `json:"client_id"`
	PrincipalID string `json:"principal_id"`
	Name        string `json:"name"`
	Tenant      string `json:"tenant"`
}

// PartnerIdP is an external OIDC identity provider whose people reach
// Databricks only through role service principals (token federation).
type PartnerIdP struct {
	Issuer   string `json:"issuer_path"` // path on the emulator host, e.g. /partner
	Audience string `json:"audience"`
	// GroupRoles maps a partner IdP group to a Databricks role service
	// principal application id.
	GroupRoles map[string]string `json:"group_roles"`
}

// ServicePrincipal is a Databricks service principal.
type ServicePrincipal struct {
	ApplicationID string   `json:"application_id"`
	DisplayName   string   `json:"display_name"`
	Groups        []string `json:"groups"`
	Secret        string   `json:"secret,omitempty"` // Databricks OAuth M2M secret (dev)
}

//go:embed demo.json
var demoJSON []byte

// Demo returns the built-in demo directory.
func Demo() *Directory {
	d, err := Parse(demoJSON)
	if err != nil {
		// The file is embedded and covered by tests; a failure here is a build defect.
		panic(fmt.Sprintf("directory: embedded demo.json is invalid: %v", err))
	}
	return d
}

// Load reads a directory from a JSON file.
func Load(path string) (*Directory, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("directory: read %s: %w", path, err)
	}
	return Parse(b)
}

// Parse decodes and validates a directory.
func Parse(b []byte) (*Directory, error) {
	var d Directory
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("directory: decode: %w", err)
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return &d, nil
}

// Validate checks references between entries.
func (d *Directory) Validate() error {
	var problems []string
	groups := map[string]bool{}
	for _, g := range d.Groups {
		groups[g.DisplayName] = true
	}
	tenants := map[string]bool{}
	for _, t := range d.Tenants {
		tenants[t.ID] = true
	}
	seen := map[string]bool{}
	for _, p := range d.People {
		if p.OID == "" || p.UPN == "" {
			problems = append(problems, fmt.Sprintf("person %q: oid and upn are required", p.Name))
		}
		if seen[strings.ToLower(p.UPN)] {
			problems = append(problems, fmt.Sprintf("person %q: duplicate upn", p.UPN))
		}
		seen[strings.ToLower(p.UPN)] = true
		if !p.External && !tenants[p.Tenant] {
			problems = append(problems, fmt.Sprintf("person %q: unknown tenant %q", p.UPN, p.Tenant))
		}
		for _, g := range p.Groups {
			if !groups[g] {
				problems = append(problems, fmt.Sprintf("person %q: unknown group %q", p.UPN, g))
			}
		}
	}
	mis := map[string]bool{}
	for _, m := range d.ManagedIdentity {
		mis[m.ClientID] = true
	}
	for _, a := range d.Apps {
		if a.ClientID == "" || !tenants[a.Tenant] {
			problems = append(problems, fmt.Sprintf("app %q: client_id and a known tenant are required", a.Name))
		}
		for _, m := range a.FederatedManagedIdentities {
			if !mis[m] {
				problems = append(problems, fmt.Sprintf("app %q: unknown federated managed identity %q", a.Name, m))
			}
		}
	}
	for name, v := range d.TokenLifetimes.Each() {
		if _, err := ParseLifetime(v); err != nil {
			problems = append(problems, name+": "+err.Error())
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("directory: %s", strings.Join(problems, "; "))
	}
	return nil
}

// PersonByUPN finds a person by UPN (case-insensitive).
func (d *Directory) PersonByUPN(upn string) (Person, bool) {
	for _, p := range d.People {
		if strings.EqualFold(p.UPN, upn) {
			return p, true
		}
	}
	return Person{}, false
}

// PersonByOID finds a person by object id.
func (d *Directory) PersonByOID(oid string) (Person, bool) {
	for _, p := range d.People {
		if p.OID == oid {
			return p, true
		}
	}
	return Person{}, false
}

// GroupByName finds a group by display name.
func (d *Directory) GroupByName(name string) (Group, bool) {
	for _, g := range d.Groups {
		if g.DisplayName == name {
			return g, true
		}
	}
	return Group{}, false
}

// AppNamed finds an app registration by name.
func (d *Directory) AppNamed(name string) (App, bool) {
	for _, a := range d.Apps {
		if a.Name == name {
			return a, true
		}
	}
	return App{}, false
}

// App finds an app registration by client id.
func (d *Directory) App(clientID string) (App, bool) {
	for _, a := range d.Apps {
		if a.ClientID == clientID {
			return a, true
		}
	}
	return App{}, false
}
