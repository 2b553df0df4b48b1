// Package authcallback is the edge of the auth-callback function: browser
// sign-in for behalf's own frontends (login, callback, logout, me) with an
// encrypted cookie session. Redirects only go to allow-listed origins.
package authcallback

import (
	"context"
	"crypto/subtle"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/behalf-dev/behalf/shared/funchost"
	"github.com/behalf-dev/behalf/shared/httpapi"
	"github.com/behalf-dev/behalf/shared/session"
	"github.com/behalf-dev/behalf/shared/signin"
	"github.com/behalf-dev/behalf/shared/webauth"
)

// Name is the function (folder) name.
const Name = "auth-callback"

const loginCookie = "behalf_login"

// Flow is the sign-in flow (shared/signin).
type Flow interface {
	Start(ctx context.Context, redirectAfter, loginHint string) (string, *signin.LoginState, error)
	Finish(ctx context.Context, code string, st *signin.LoginState) (*session.Data, error)
	LogoutURL(postLogout string) string
}

// Authenticator authenticates the caller of /me.
type Authenticator interface {
	Authenticate(w http.ResponseWriter, r *http.Request) (*webauth.Caller, error)
}

// Config holds the function's dependencies; nil Sessions or Flow make the
// sign-in routes answer 503 with what is missing.
type Config struct {
	Sessions       *session.Codec
	Flow           Flow
	Auth           Authenticator
	AllowedOrigins []string
	// PublicURL is behalf's own origin; relative redirects resolve to it.
	PublicURL string
	// Ready reports missing configuration.
	Ready func() error
}

// Function returns the HTTP function.
func Function(cfg Config) funchost.HTTPFunction {
	h := &handler{cfg: cfg}
	return funchost.HTTPFunction{Name: Name, Route: "auth/{action}", Methods: []string{http.MethodGet, http.MethodPost}, Handler: h}
}

type handler struct{ cfg Config }

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var err error
	switch r.PathValue("action") {
	case "login":
		err = h.login(w, r)
	case "callback":
		err = h.callback(w, r)
	case "logout":
		err = h.logout(w, r)
	case "me":
		err = h.me(w, r)
	default:
		err = httpapi.Errorf(http.StatusNotFound, httpapi.CodeNotFound, "unknown auth action; use login, callback, logout or me")
	}
	if err != nil {
		httpapi.WriteError(w, r, err)
	}
}

func (h *handler) ready() error {
	if h.cfg.Ready != nil {
		if err := h.cfg.Ready(); err != nil {
			return err
		}
	}
	if h.cfg.Sessions == nil || h.cfg.Flow == nil {
		return httpapi.Errorf(http.StatusServiceUnavailable, httpapi.CodeUnavailable, "browser sign-in is not configured; set BEHALF_SESSION_KEYS and BEHALF_PUBLIC_URL")
	}
	return nil
}

// safeRedirect accepts a path on behalf itself or a URL on an allow-listed
// origin; everything else (other hosts, //evil, javascript:) is refused.
func (h *handler) safeRedirect(target string) (string, bool) {
	if target == "" {
		return "/api/auth/me", true
	}
	if strings.HasPrefix(target, "/") && !strings.HasPrefix(target, "//") && !strings.Contains(target, `\`) {
		return target, true
	}
	u, err := url.Parse(target)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil {
		return "", false
	}
	origin := u.Scheme + "://" + u.Host
	if origin == h.cfg.PublicURL || slices.Contains(h.cfg.AllowedOrigins, origin) {
		return target, true
	}
	return "", false
}

func (h *handler) login(w http.ResponseWriter, r *http.Request) error {
	if err := h.ready(); err != nil {
		return err
	}
	target, ok := h.safeRedirect(r.URL.Query().Get("redirect"))
	if !ok {
		return httpapi.Errorf(http.StatusBadRequest, httpapi.CodeBadRequest, "redirect must be a path on behalf or a URL on an allowed origin (BEHALF_ALLOWED_ORIGINS)")
	}
	hint := r.URL.Query().Get("login_hint")
	if len(hint) > 256 {
		return httpapi.Errorf(http.StatusBadRequest, httpapi.CodeBadRequest, "login_hint is too long")
	}
	authURL, st, err := h.cfg.Flow.Start(r.Context(), target, hint)
	if err != nil {
		return &httpapi.Error{Status: http.StatusBadGateway, Code: httpapi.CodeUpstreamFailed, Message: "the identity provider could not be reached; retry", Err: err}
	}
	ck, err := h.cfg.Sessions.SealValue(loginCookie, st, 10*time.Minute)
	if err != nil {
		return err
	}
	http.SetCookie(w, ck)
	http.Redirect(w, r, authURL, http.StatusFound)
	return nil
}

func (h *handler) callback(w http.ResponseWriter, r *http.Request) error {
	if err := h.ready(); err != nil {
		return err
	}
	q := r.URL.Query()
	var st signin.LoginState
	if err := h.cfg.Sessions.OpenValue(r, loginCookie, &st); err != nil || time.Since(st.Created) > 10*time.Minute {
		return httpapi.Errorf(http.StatusBadRequest, httpapi.CodeBadRequest, "this sign-in expired or was started in another browser; start again at /api/auth/login")
	}
	// The login state is single use, whatever happens next.
	http.SetCookie(w, h.cfg.Sessions.ClearValue(loginCookie))
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(st.State)) != 1 {
		return httpapi.Errorf(http.StatusBadRequest, httpapi.CodeBadRequest, "sign-in state does not match; start again at /api/auth/login")
	}
	if e := q.Get("error"); e != "" {
		return httpapi.Errorf(http.StatusUnauthorized, httpapi.CodeUnauthenticated, "the identity provider refused the sign-in (%s); start again at /api/auth/login", sanitize(e))
	}
	code := q.Get("code")
	if code == "" || len(code) > 4096 {
		return httpapi.Errorf(http.StatusBadRequest, httpapi.CodeBadRequest, "the callback carries no authorization code")
	}
	d, err := h.cfg.Flow.Finish(r.Context(), code, &st)
	if err != nil {
		return &httpapi.Error{Status: http.StatusUnauthorized, Code: httpapi.CodeUnauthenticated, Message: "the sign-in could not be completed; start again at /api/auth/login", Err: err}
	}
	cookies, err := h.cfg.Sessions.Seal(d)
	if err != nil {
		return err
	}
	for _, c := range cookies {
		http.SetCookie(w, c)
	}
	http.Redirect(w, r, st.RedirectAfter, http.StatusFound)
	return nil
}

func (h *handler) logout(w http.ResponseWriter, r *http.Request) error {
	if err := h.ready(); err != nil {
		return err
	}
	target, ok := h.safeRedirect(r.URL.Query().Get("redirect"))
	if !ok {
		return httpapi.Errorf(http.StatusBadRequest, httpapi.CodeBadRequest, "redirect must be a path on behalf or a URL on an allowed origin")
	}
	for _, c := range h.cfg.Sessions.Clear() {
		http.SetCookie(w, c)
	}
	if strings.HasPrefix(target, "/") {
		target = h.cfg.PublicURL + target
	}
	http.Redirect(w, r, h.cfg.Flow.LogoutURL(target), http.StatusFound)
	return nil
}

// Me is the answer of /api/auth/me.
type Me struct {
	OID       string    `json:"oid"`
	UPN       string    `json:"upn"`
	Name      string    `json:"name"`
	TenantID  string    `json:"tid"`
	Groups    []string  `json:"groups"`
	Roles     []string  `json:"roles"`
	ExpiresAt time.Time `json:"expires_at"`
	// CSRFToken is set for cookie sessions: echo it in X-CSRF-Token on
	// state-changing requests.
	CSRFToken string `json:"csrf_token,omitempty"`
	Via       string `json:"via"`
}

func (h *handler) me(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return httpapi.Errorf(http.StatusMethodNotAllowed, httpapi.CodeMethodNotAllowed, "use GET")
	}
	c, err := h.cfg.Auth.Authenticate(w, r)
	if err != nil {
		return err
	}
	p := c.Principal
	me := Me{OID: p.OID, UPN: p.UPN, Name: p.Name, TenantID: p.TenantID, Groups: nonNil(p.Groups), Roles: nonNil(p.Roles), ExpiresAt: p.ExpiresAt, Via: "bearer"}
	if c.ViaCookie {
		me.Via = "session"
		if d, err := h.cfg.Sessions.Open(r); err == nil {
			me.CSRFToken = d.CSRF
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, me)
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func sanitize(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return -1
	}, s)
}
