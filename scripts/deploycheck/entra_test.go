package deploycheck

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func setting(t *testing.T, r *Repo, name string) string {
	t.Helper()
	s, ok := r.setting(name)
	if !ok {
		t.Fatalf("%s is not a setting", name)
	}
	return s.Default
}

// TestConsistencyEntraManifest: the app registration exposes exactly what
// behalf's defaults expect, and the script fills in every placeholder.
func TestConsistencyEntraManifest(t *testing.T) {
	r := load(t)
	b, err := os.ReadFile(filepath.Join(root, "infra", "entra", "app-manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		IdentifierURIs []string `json:"identifierUris"`
		API            struct {
			RequestedAccessTokenVersion int `json:"requestedAccessTokenVersion"`
			Scopes                      []struct {
				ID, Value, Type string
				IsEnabled       bool
			} `json:"oauth2PermissionScopes"`
		} `json:"api"`
		AppRoles []struct {
			ID, Value          string
			AllowedMemberTypes []string
		} `json:"appRoles"`
		RequiredResourceAccess []struct {
			ResourceAppID  string `json:"resourceAppId"`
			ResourceAccess []struct{ ID, Type string }
		} `json:"requiredResourceAccess"`
		Web struct {
			RedirectURIs []string `json:"redirectUris"`
		} `json:"web"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.API.Scopes) != 1 || m.API.Scopes[0].Value != setting(t, r, "BEHALF_API_SCOPE") || !m.API.Scopes[0].IsEnabled || m.API.RequestedAccessTokenVersion != 2 {
		t.Errorf("scope: %+v (want %s, v2 tokens)", m.API.Scopes, setting(t, r, "BEHALF_API_SCOPE"))
	}
	var roles []string
	for _, role := range m.AppRoles {
		roles = append(roles, role.Value)
	}
	for _, want := range []string{setting(t, r, "BEHALF_APPROVER_ROLE"), "auditor"} {
		if !slices.Contains(roles, want) {
			t.Errorf("app roles %v lack %s", roles, want)
		}
	}
	var dbx bool
	for _, ra := range m.RequiredResourceAccess {
		if ra.ResourceAppID == setting(t, r, "BEHALF_DATABRICKS_RESOURCE") && len(ra.ResourceAccess) == 1 && ra.ResourceAccess[0].ID == "__DATABRICKS_USER_IMPERSONATION__" {
			dbx = true
		}
	}
	if !dbx {
		t.Error("no delegated permission on the Azure Databricks resource")
	}
	if len(m.IdentifierURIs) != 1 || m.IdentifierURIs[0] != "api://__CLIENT_ID__" || len(m.Web.RedirectURIs) != 1 || m.Web.RedirectURIs[0] != "__REDIRECT_URI__" {
		t.Errorf("identifier %v, redirects %v", m.IdentifierURIs, m.Web.RedirectURIs)
	}
	ids := map[string]bool{}
	for _, id := range []string{m.API.Scopes[0].ID, m.AppRoles[0].ID, m.AppRoles[1].ID} {
		if ids[id] || len(id) != 36 {
			t.Errorf("scope and role ids must be distinct GUIDs: %s", id)
		}
		ids[id] = true
	}

	fb, err := os.ReadFile(filepath.Join(root, "infra", "entra", "federated-credential.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fic struct {
		Name, Issuer, Subject string
		Audiences             []string
	}
	if err := json.Unmarshal(fb, &fic); err != nil {
		t.Fatal(err)
	}
	if fic.Issuer != "https://login.microsoftonline.com/__TENANT_ID__/v2.0" || fic.Subject != "__MI_PRINCIPAL_ID__" || len(fic.Audiences) != 1 || fic.Audiences[0] != "api://AzureADTokenExchange" {
		t.Errorf("federated credential: %+v", fic)
	}

	script, err := os.ReadFile(filepath.Join(root, "scripts", "entra-app.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ph := range []string{"__CLIENT_ID__", "__DATABRICKS_USER_IMPERSONATION__", "__REDIRECT_URI__", "__TENANT_ID__", "__MI_PRINCIPAL_ID__", "/api/auth/callback"} {
		if !strings.Contains(string(script), ph) {
			t.Errorf("scripts/entra-app.sh never fills in %s", ph)
		}
	}
}
