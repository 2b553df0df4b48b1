package entra

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/behalf-dev/behalf/infra/devstack/directory"
)

// appServiceAPIVersion is the App Service managed-identity protocol
// version MSAL Go and azidentity speak.
const appServiceAPIVersion = "2019-08-01"

// miResponse is the App Service managed-identity token answer.
type miResponse struct {
	AccessToken string `json:"access_token"`
	ExpiresOn   string `json:"expires_on"`
	Resource    string `json:"resource"`
	TokenType   string `json:"token_type"`
	ClientID    string `json:"client_id"`
}

// miError is the App Service managed-identity error body.
type miError struct {
	StatusCode    int    `json:"statusCode"`
	Message       string `json:"message"`
	CorrelationID string `json:"correlationId"`
}

// resourceID is the Azure resource id of a user-assigned identity.
func resourceID(m directory.ManagedIdentity) string {
	return "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/behalf-dev/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + m.Name
}

// handleManagedIdentity is the App Service managed-identity endpoint
// (IDENTITY_ENDPOINT): GET with X-IDENTITY-HEADER, api-version, resource
// and one of client_id, object_id/principal_id or mi_res_id. The dev host
// has no system-assigned identity, so a selector is required.
func (e *Emulator) handleManagedIdentity(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, msg string) {
		e.counters.add(func(c *Counters) { c.Errors["managed-identity"]++ })
		e.log.Info("entra managed identity refused", "status", status, "reason", msg)
		writeJSON(w, status, miError{StatusCode: status, Message: msg, CorrelationID: uuid.NewString()})
	}
	if !equalSecret(r.Header.Get("X-IDENTITY-HEADER"), e.cfg.IdentityHeader) {
		fail(http.StatusUnauthorized, "The X-IDENTITY-HEADER header is missing or wrong; send the IDENTITY_HEADER value.")
		return
	}
	q := r.URL.Query()
	if v := q.Get("api-version"); v != appServiceAPIVersion {
		fail(http.StatusBadRequest, "api-version must be "+appServiceAPIVersion+".")
		return
	}
	resName := strings.TrimSuffix(q.Get("resource"), "/.default")
	if resName == "" || len(resName) > 512 {
		fail(http.StatusBadRequest, "The resource parameter is required (at most 512 characters).")
		return
	}
	res, ok := e.world.resource(resName)
	if !ok {
		fail(http.StatusBadRequest, "AADSTS500011: The resource principal named "+clip(resName)+" was not found in the tenant.")
		return
	}
	m, ok := e.selectIdentity(q.Get("client_id"), firstNonEmpty(q.Get("object_id"), q.Get("principal_id")), q.Get("mi_res_id"))
	if !ok {
		fail(http.StatusBadRequest, "No managed identity matches the request. This dev host has no system-assigned identity: pass the user-assigned identity's client_id (BEHALF_MANAGED_IDENTITY_CLIENT_ID), object_id or mi_res_id.")
		return
	}
	now := e.now()
	at, exp, err := e.appAccessToken(appPrincipal{clientID: m.ClientID, objectID: m.PrincipalID, tenantID: m.Tenant, acr: "2", mirid: resourceID(m)}, res, e.life.ManagedIdentityToken)
	if err != nil {
		fail(http.StatusInternalServerError, "The token could not be issued.")
		return
	}
	e.counters.add(func(c *Counters) { c.ManagedIdentityTokens++ })
	e.log.Info("entra managed identity token issued", "client_id", m.ClientID, "resource", res.id, "expires_in_s", int(exp.Sub(now).Seconds()))
	writeJSON(w, http.StatusOK, miResponse{AccessToken: at, ExpiresOn: strconv.FormatInt(exp.Unix(), 10), Resource: resName,
		TokenType: "Bearer", ClientID: m.ClientID})
}

func (e *Emulator) selectIdentity(clientID, objectID, resID string) (directory.ManagedIdentity, bool) {
	n := 0
	for _, s := range []string{clientID, objectID, resID} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return directory.ManagedIdentity{}, false
	}
	for _, m := range e.cfg.Directory.ManagedIdentity {
		switch {
		case clientID != "" && strings.EqualFold(clientID, m.ClientID),
			objectID != "" && strings.EqualFold(objectID, m.PrincipalID),
			resID != "" && strings.EqualFold(resID, resourceID(m)):
			return m, true
		}
	}
	return directory.ManagedIdentity{}, false
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
