package entra

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"
)

// partnerClaims is a partner IdP token: a plain OIDC token whose groups
// are display names (what Databricks federation policies match on).
type partnerClaims struct {
	Iss       string   `json:"iss"`
	Aud       string   `json:"aud"`
	Sub       string   `json:"sub"`
	Iat       int64    `json:"iat"`
	Nbf       int64    `json:"nbf"`
	Exp       int64    `json:"exp"`
	JTI       string   `json:"jti"`
	Email     string   `json:"email"`
	Preferred string   `json:"preferred_username"`
	Name      string   `json:"name"`
	Groups    []string `json:"groups"`
}

// ErrNotPartner means the UPN is not an external person of the partner IdP.
var ErrNotPartner = errors.New("entra: not a person of the partner IdP")

// PartnerToken mints a partner IdP token for an external person (a
// dev/test helper; the HTTP form is POST {PartnerIssuer}/dev/token).
func (e *Emulator) PartnerToken(upn string) (string, error) {
	return e.partnerToken(upn, e.life.AccessToken)
}

func (e *Emulator) partnerToken(upn string, ttl time.Duration) (string, error) {
	p, ok := e.cfg.Directory.PersonByUPN(upn)
	if !ok || !p.External {
		return "", ErrNotPartner
	}
	keys, err := e.partner.get()
	if err != nil {
		return "", err
	}
	now := e.now()
	return keys.sign(partnerClaims{
		Iss: e.PartnerIssuer(), Aud: e.cfg.Directory.PartnerIdP.Audience, Sub: p.OID, Iat: now.Unix(), Nbf: now.Unix(),
		Exp: now.Add(ttl).Unix(), JTI: uuid.NewString(), Email: p.UPN, Preferred: p.UPN, Name: p.Name,
		Groups: slices.Clone(p.Groups),
	})
}

// handlePartnerToken is the partner IdP's dev sign-in: POST username=<upn>
// of an external person returns their token. There is no password, as on
// the Entra sign-in page: this is development-only.
func (e *Emulator) handlePartnerToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		e.writeOAuthError(w, r, invalidRequest(CodeInvalidParameter, "The request body must be a small form."))
		return
	}
	upn := r.PostForm.Get("username")
	if upn == "" || len(upn) > maxLoginHint {
		e.writeOAuthError(w, r, invalidRequest(CodeMissingParameter, "The request body must contain the following parameter: 'username' (a partner person's UPN)."))
		return
	}
	now := e.now()
	tok, err := e.PartnerToken(upn)
	if errors.Is(err, ErrNotPartner) {
		oe := invalidGrant(CodeInvalidParameter, "'%s' is not a person of the partner IdP.", clip(upn))
		e.writeOAuthError(w, r, oe)
		return
	}
	if err != nil {
		e.writeOAuthError(w, r, serverError(err))
		return
	}
	e.counters.add(func(c *Counters) { c.PartnerTokens++ })
	exp := now.Add(e.life.AccessToken)
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "id_token": tok, "token_type": "Bearer",
		"expires_in": expiresIn(now, exp)})
}
