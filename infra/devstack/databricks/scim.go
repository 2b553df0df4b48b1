package databricks

import (
	"net/http"
	"strconv"
	"strings"
)

type scimValue struct {
	Display string `json:"display,omitempty"`
	Value   string `json:"value,omitempty"`
	Type    string `json:"type,omitempty"`
	Ref     string `json:"$ref,omitempty"`
	Primary bool   `json:"primary,omitempty"`
}

type scimName struct {
	GivenName  string `json:"givenName,omitempty"`
	FamilyName string `json:"familyName,omitempty"`
}

type scimUser struct {
	Schemas       []string    `json:"schemas"`
	ID            string      `json:"id"`
	UserName      string      `json:"userName"`
	DisplayName   string      `json:"displayName"`
	Active        bool        `json:"active"`
	ExternalID    string      `json:"externalId,omitempty"`
	ApplicationID string      `json:"applicationId,omitempty"`
	Name          *scimName   `json:"name,omitempty"`
	Emails        []scimValue `json:"emails,omitempty"`
	Groups        []scimValue `json:"groups"`
	Entitlements  []scimValue `json:"entitlements"`
	Roles         []scimValue `json:"roles"`
}

// handleMe serves GET /api/2.0/preview/scim/v2/Me for people and service
// principals (whose userName is their application id).
func (e *Emulator) handleMe(w http.ResponseWriter, _ *http.Request, p *Principal) {
	u := scimUser{
		Schemas:      []string{"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:workspace:2.0:User"},
		ID:           strconv.FormatInt(p.ID, 10),
		UserName:     p.UserName,
		DisplayName:  p.DisplayName,
		Active:       true,
		Groups:       []scimValue{},
		Entitlements: []scimValue{{Value: "workspace-access"}, {Value: "databricks-sql-access"}},
		Roles:        []scimValue{},
	}
	if p.ServicePrincipal {
		u.Schemas = []string{"urn:ietf:params:scim:schemas:core:2.0:ServicePrincipal"}
		u.ApplicationID = p.UserName
	} else {
		u.ExternalID = p.ExternalID
		given, family, _ := strings.Cut(p.DisplayName, " ")
		u.Name = &scimName{GivenName: given, FamilyName: family}
		u.Emails = []scimValue{{Type: "work", Value: p.UserName, Primary: true}}
	}
	for _, g := range p.Groups {
		id := e.principals.groups[g]
		u.Groups = append(u.Groups, scimValue{Display: g, Value: id, Type: "direct", Ref: "Groups/" + id})
	}
	writeJSON(w, http.StatusOK, u)
}
