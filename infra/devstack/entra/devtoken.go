package entra

import (
	"errors"
	"net/http"
)

// handleDevToken mints a demo person's access token for an API without a
// browser (POST /{tenant}/dev/token, form username=<upn>, client_id=<the
// calling app>, resource=<the API's client id>): what an agent backend
// would hold after signing the person in. It exists so that `make run` can
// be tried with curl; the emulator never ships in a deployment.
func (e *Emulator) handleDevToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		e.writeOAuthError(w, r, invalidRequest(CodeInvalidParameter, "The request body must be a small form."))
		return
	}
	upn, client, resource := r.PostForm.Get("username"), r.PostForm.Get("client_id"), r.PostForm.Get("resource")
	if upn == "" || client == "" || resource == "" || len(upn) > maxLoginHint {
		e.writeOAuthError(w, r, invalidRequest(CodeMissingParameter, "The request body must contain 'username' (a demo person's UPN), 'client_id' (the calling app) and 'resource' (the API's client id)."))
		return
	}
	now := e.now()
	tok, err := e.UserAccessToken(upn, resource, client)
	if errors.Is(err, ErrUnknown) {
		e.writeOAuthError(w, r, invalidGrant(CodeInvalidParameter, "%s", clip(err.Error())))
		return
	}
	if err != nil {
		e.writeOAuthError(w, r, serverError(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": expiresIn(now, now.Add(e.life.AccessToken))})
}
