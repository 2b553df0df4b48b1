// Package oboexchange is the edge of the obo-exchange function: the token
// broker for agent backends. An allow-listed backend posts a person's
// token and gets back a short-lived Databricks token for that person.
package oboexchange

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/behalf-dev/behalf/shared/funchost"
	"github.com/behalf-dev/behalf/shared/httpapi"
	"github.com/behalf-dev/behalf/shared/obo"
	"github.com/behalf-dev/behalf/shared/webauth"
)

// Name is the function (folder) name.
const Name = "obo-exchange"

// Deps are what the broker needs.
type Deps interface {
	Authenticate(w http.ResponseWriter, r *http.Request) (*webauth.Caller, error)
	Exchange(ctx context.Context, r *http.Request, c *webauth.Caller, function string) (*obo.Token, error)
}

// Answer is the broker's response; the only place behalf ever returns a
// token, and only to an allow-listed backend.
type Answer struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope,omitempty"`
}

// Function returns the HTTP function. allowed lists the client app ids
// (azp/appid) that may use the broker.
func Function(d Deps, allowed []string) funchost.HTTPFunction {
	return funchost.HTTPFunction{Name: Name, Route: "obo-exchange", Methods: []string{http.MethodPost}, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := d.Authenticate(w, r)
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		if c.ViaCookie {
			httpapi.WriteError(w, r, httpapi.Errorf(http.StatusForbidden, httpapi.CodePermissionDenied, "the token broker is for agent backends: send the person's token as a bearer token"))
			return
		}
		if c.Principal.ClientAppID == "" || !slices.Contains(allowed, c.Principal.ClientAppID) {
			httpapi.WriteError(w, r, httpapi.Errorf(http.StatusForbidden, httpapi.CodePermissionDenied, "the calling application is not allowed to use the token broker; add its client id to BEHALF_BROKER_ALLOWED_APPS"))
			return
		}
		tok, err := d.Exchange(r.Context(), r, c, Name)
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Pragma", "no-cache")
		httpapi.WriteJSON(w, http.StatusOK, Answer{AccessToken: tok.AccessToken, TokenType: "Bearer", ExpiresIn: expiresIn(tok), Scope: tok.Scope})
	})}
}

// expiresIn is the token's remaining life in seconds; 0 when unknown (a
// forwarded token carries no expiry) or past, so no caller caches it.
func expiresIn(tok *obo.Token) int64 {
	if tok.ExpiresAt.IsZero() {
		return 0
	}
	return max(0, int64(time.Until(tok.ExpiresAt).Seconds()))
}
