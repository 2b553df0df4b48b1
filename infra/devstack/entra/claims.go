package entra

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"slices"
	"time"

	"github.com/behalf-dev/behalf/infra/devstack/directory"
)

// claims is the claim set of every token the emulator issues for an Entra
// tenant; which members are set depends on the token kind and version.
type claims struct {
	Aud        string   `json:"aud"`
	Iss        string   `json:"iss"`
	Iat        int64    `json:"iat"`
	Nbf        int64    `json:"nbf"`
	Exp        int64    `json:"exp"`
	Acrs       []string `json:"acrs,omitempty"`
	Amr        []string `json:"amr,omitempty"`
	AppID      string   `json:"appid,omitempty"`
	AppIDAcr   string   `json:"appidacr,omitempty"`
	Azp        string   `json:"azp,omitempty"`
	Azpacr     string   `json:"azpacr,omitempty"`
	Groups     []string `json:"groups,omitempty"`
	IDTyp      string   `json:"idtyp,omitempty"`
	Name       string   `json:"name,omitempty"`
	Nonce      string   `json:"nonce,omitempty"`
	OID        string   `json:"oid,omitempty"`
	Preferred  string   `json:"preferred_username,omitempty"`
	Roles      []string `json:"roles,omitempty"`
	Scp        string   `json:"scp,omitempty"`
	Sub        string   `json:"sub"`
	TID        string   `json:"tid"`
	UniqueName string   `json:"unique_name,omitempty"`
	UPN        string   `json:"upn,omitempty"`
	Uti        string   `json:"uti"`
	Ver        string   `json:"ver"`
	MIRID      string   `json:"xms_mirid,omitempty"`
}

// user is the person a delegated grant acts for, and how they signed in.
type user struct {
	person   directory.Person
	tenantID string
	// mfa records a completed (dev) second factor; acrs the satisfied
	// authentication contexts.
	mfa  bool
	acrs []string
}

func (u user) amr() []string {
	if u.mfa {
		return []string{"pwd", "mfa"}
	}
	return []string{"pwd"}
}

// caller is the client app a token is issued to, and how it proved itself
// ("1" secret, "2" certificate or federated assertion).
type caller struct {
	app *app
	acr string
}

func (e *Emulator) v2Issuer(tenantID string) string { return e.URL() + "/" + tenantID + "/v2.0" }
func v1Issuer(tenantID string) string               { return V1IssuerHost + "/" + tenantID + "/" }

// userAccessToken mints a delegated access token for res.
func (e *Emulator) userAccessToken(u user, c caller, res *resource, scp string, ttl time.Duration) (string, time.Time, error) {
	iat, exp := e.window(ttl)
	cl := claims{
		Aud: res.id, Iat: iat.Unix(), Nbf: iat.Unix(), Exp: exp.Unix(), TID: u.tenantID, OID: u.person.OID,
		Sub: pairwiseSub(u.person.OID, res.id), Name: u.person.Name, Scp: scp, Groups: e.world.groupIDs(u.person),
		Acrs: u.acrs, IDTyp: "user", Uti: uti(),
	}
	for _, r := range u.person.AppRoles {
		if slices.Contains(res.appRoles, r) {
			cl.Roles = append(cl.Roles, r)
		}
	}
	if res.v1 {
		cl.Iss, cl.Ver = v1Issuer(u.tenantID), "1.0"
		cl.UPN, cl.UniqueName, cl.AppID, cl.AppIDAcr, cl.Amr = u.person.UPN, u.person.UPN, c.app.ClientID, c.acr, u.amr()
	} else {
		cl.Iss, cl.Ver = e.v2Issuer(u.tenantID), "2.0"
		cl.Preferred, cl.Azp, cl.Azpacr = u.person.UPN, c.app.ClientID, c.acr
	}
	raw, err := e.keys.sign(cl)
	return raw, exp, err
}

// window is a token's issue and expiry time for a lifetime; a negative
// lifetime (test helpers) gives a token that expired that long ago, issued
// an hour before.
func (e *Emulator) window(ttl time.Duration) (iat, exp time.Time) {
	now := e.now()
	if ttl < 0 {
		return now.Add(ttl - time.Hour), now.Add(ttl)
	}
	return now, now.Add(ttl)
}

// idToken mints the ID token for the client app that signed the person in.
func (e *Emulator) idToken(u user, client *app, nonce string) (string, error) {
	now := e.now()
	cl := claims{
		Aud: client.ClientID, Iss: e.v2Issuer(u.tenantID), Iat: now.Unix(), Nbf: now.Unix(), Exp: now.Add(e.life.IDToken).Unix(),
		Name: u.person.Name, Nonce: nonce, OID: u.person.OID, Preferred: u.person.UPN,
		Sub: pairwiseSub(u.person.OID, client.ClientID), TID: u.tenantID, Uti: uti(), Ver: "2.0", Acrs: u.acrs,
	}
	return e.keys.sign(cl)
}

// appPrincipal is who an app-only token is for: an app registration's
// service principal or a managed identity.
type appPrincipal struct {
	clientID, objectID, tenantID, acr, mirid string
}

// appAccessToken mints an app-only token (client credentials, managed
// identity).
func (e *Emulator) appAccessToken(p appPrincipal, res *resource, ttl time.Duration) (string, time.Time, error) {
	iat, exp := e.window(ttl)
	cl := claims{
		Aud: res.id, Iat: iat.Unix(), Nbf: iat.Unix(), Exp: exp.Unix(), TID: p.tenantID, OID: p.objectID, Sub: p.objectID,
		IDTyp: "app", Uti: uti(), MIRID: p.mirid,
	}
	if res.v1 {
		cl.Iss, cl.Ver, cl.AppID, cl.AppIDAcr = v1Issuer(p.tenantID), "1.0", p.clientID, p.acr
	} else {
		cl.Iss, cl.Ver, cl.Azp, cl.Azpacr = e.v2Issuer(p.tenantID), "2.0", p.clientID, p.acr
	}
	raw, err := e.keys.sign(cl)
	return raw, exp, err
}

// clientInfo is MSAL's client_info: base64url {"uid": oid, "utid": tid}.
func clientInfo(oid, tid string) string {
	b, _ := json.Marshal(map[string]string{"uid": oid, "utid": tid})
	return base64.RawURLEncoding.EncodeToString(b)
}

// uti is Entra's unique token identifier.
func uti() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// randomToken is an opaque credential (code, refresh token, request id).
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
