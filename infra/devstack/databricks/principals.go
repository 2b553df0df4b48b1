package databricks

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"strconv"
	"strings"

	"github.com/behalf-dev/behalf/infra/devstack/databricks/govsql"
	"github.com/behalf-dev/behalf/infra/devstack/directory"
)

// Principal is a workspace user or service principal.
type Principal struct {
	// ID is the numeric workspace id (SCIM id, Genie user_id).
	ID int64
	// UserName is current_user(): the UPN for people, the application id
	// for service principals.
	UserName    string
	DisplayName string
	// ExternalID is the Entra object id for people.
	ExternalID       string
	Groups           []string
	ServicePrincipal bool
}

func (p *Principal) sql() govsql.Principal {
	return govsql.Principal{Name: p.UserName, Groups: slices.Clone(p.Groups)}
}

func (p *Principal) memberOf(grantees []string) bool {
	for _, g := range grantees {
		if strings.EqualFold(g, p.UserName) || strings.EqualFold(g, govsql.AllUsers) || slices.ContainsFunc(p.Groups, func(x string) bool { return strings.EqualFold(x, g) }) {
			return true
		}
	}
	return false
}

// stableID derives a JSON-safe numeric id from a name, so ids stay the same
// across runs and directory edits.
func stableID(kind, name string) int64 {
	sum := sha256.Sum256([]byte(kind + ":" + strings.ToLower(name)))
	return int64(binary.BigEndian.Uint64(sum[:8]) >> 11)
}

// principalSet indexes the workspace's users and service principals.
type principalSet struct {
	byName map[string]*Principal // lower-case user name
	byOID  map[string]*Principal
	groups map[string]string // display name → id
}

// newPrincipalSet takes the people of the workspace's tenant (not external
// partner people, who reach the workspace only through role service
// principals) and every Databricks service principal.
func newPrincipalSet(d *directory.Directory, tenantID string) *principalSet {
	ps := &principalSet{byName: map[string]*Principal{}, byOID: map[string]*Principal{}, groups: map[string]string{}}
	for _, g := range d.Groups {
		ps.groups[g.DisplayName] = strconv.FormatInt(stableID("group", g.DisplayName), 10)
	}
	for _, p := range d.People {
		if p.External || p.Tenant != tenantID {
			continue
		}
		pr := &Principal{ID: stableID("user", p.UPN), UserName: p.UPN, DisplayName: p.Name, ExternalID: p.OID, Groups: slices.Clone(p.Groups)}
		ps.byName[strings.ToLower(p.UPN)] = pr
		ps.byOID[p.OID] = pr
	}
	for _, sp := range d.ServicePrincipals {
		pr := &Principal{ID: stableID("sp", sp.ApplicationID), UserName: sp.ApplicationID, DisplayName: sp.DisplayName, Groups: slices.Clone(sp.Groups), ServicePrincipal: true}
		ps.byName[strings.ToLower(sp.ApplicationID)] = pr
	}
	return ps
}

func (ps *principalSet) byUserName(name string) *Principal {
	return ps.byName[strings.ToLower(name)]
}
