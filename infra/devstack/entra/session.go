package entra

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// sessionCookie is the emulator's own sign-in session (Entra's ESTSAUTH):
// it lets a later authorize request sign the same person in without the
// page (single sign-on, prompt=none).
const sessionCookie = "behalf_dev_estsauth"

type sessionData struct {
	OID    string `json:"oid"`
	Tenant string `json:"tid"`
	MFA    bool   `json:"mfa,omitempty"`
	At     int64  `json:"iat"`
}

func (e *Emulator) sessionMAC(payload string) string {
	m := hmac.New(sha256.New, e.sessionKey)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (e *Emulator) writeSession(w http.ResponseWriter, u user) {
	b, _ := json.Marshal(sessionData{OID: u.person.OID, Tenant: u.tenantID, MFA: u.mfa, At: e.now().Unix()})
	payload := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: payload + "." + e.sessionMAC(payload), Path: "/",
		MaxAge: int(e.life.Session / time.Second), Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

func (e *Emulator) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// readSession returns the signed-in person of tenantID, if the cookie is
// authentic, fresh and names a current member.
func (e *Emulator) readSession(r *http.Request, tenantID string) (user, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || len(c.Value) > 1024 {
		return user{}, false
	}
	payload, mac, ok := strings.Cut(c.Value, ".")
	if !ok || !hmac.Equal([]byte(mac), []byte(e.sessionMAC(payload))) {
		return user{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return user{}, false
	}
	var s sessionData
	if json.Unmarshal(b, &s) != nil || s.Tenant != tenantID || e.now().Sub(time.Unix(s.At, 0)) > e.life.Session {
		return user{}, false
	}
	p, ok := e.world.person(tenantID, s.OID)
	if !ok {
		return user{}, false
	}
	return user{person: p, tenantID: tenantID, mfa: s.MFA}, true
}
