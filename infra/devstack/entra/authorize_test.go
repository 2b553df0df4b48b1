package entra

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// authorizeParams are a valid authorize request of behalf for Wendy.
func authorizeParams(challenge string) url.Values {
	return url.Values{"client_id": {behalfID}, "response_type": {"code"}, "redirect_uri": {behalfRedirect},
		"scope": {behalfScope + " openid profile offline_access"}, "state": {"st"}, "nonce": {"nn"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
}

func (v *env) authorize(t *testing.T, b *http.Client, q url.Values) *http.Response {
	t.Helper()
	resp, err := b.Get(v.authority() + "/oauth2/v2.0/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// TestAuthorizeErrorsGoToTheRedirectURI: once client and redirect URI are
// known, errors return there in Entra's form with the state.
func TestAuthorizeErrorsGoToTheRedirectURI(t *testing.T) {
	v := newEnv(t, nil)
	_, challenge := pkce(t)
	cases := []struct {
		name   string
		mutate func(url.Values)
		oauth  string
		code   int
	}{
		{"PKCE plain is refused", func(q url.Values) { q.Set("code_challenge_method", "plain") }, "invalid_request", CodePKCERequired},
		{"PKCE method missing", func(q url.Values) { q.Del("code_challenge_method") }, "invalid_request", CodePKCERequired},
		{"PKCE missing", func(q url.Values) { q.Del("code_challenge") }, "invalid_request", CodePKCERequired},
		{"challenge of the wrong size", func(q url.Values) { q.Set("code_challenge", "short") }, "invalid_request", CodeChallengeSize},
		{"token response type", func(q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type", CodeUnsupportedResponse},
		{"unknown prompt", func(q url.Values) { q.Set("prompt", "create") }, "invalid_request", CodeInvalidPrompt},
		{"prompt=none without a session", func(q url.Values) { q.Set("prompt", "none") }, "login_required", CodeLoginRequired},
		{"scope of an unknown API", func(q url.Values) { q.Set("scope", "api://nope/.default openid") }, "invalid_resource", CodeResourceNotFound},
		{"malformed claims", func(q url.Values) { q.Set("claims", "{not json") }, "invalid_request", CodeInvalidParameter},
		{"no consent for the resource", func(q url.Values) {
			q.Set("client_id", noConsentID)
			q.Set("redirect_uri", "http://localhost:8402/callback")
			q.Set("scope", dbxScope)
		}, "consent_required", CodeConsentRequired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := authorizeParams(challenge)
			tc.mutate(q)
			back := redirectQuery(t, v.authorize(t, v.browser(t), q))
			if back.Get("error") != tc.oauth || !strings.HasPrefix(back.Get("error_description"), "AADSTS") ||
				!strings.Contains(back.Get("error_description"), "Trace ID:") || back.Get("state") != "st" || back.Get("code") != "" {
				t.Errorf("redirect query %v", back)
			}
			if !strings.HasPrefix(back.Get("error_description"), "AADSTS"+strconv.Itoa(tc.code)+":") {
				t.Errorf("error_description %q, want AADSTS%d", back.Get("error_description"), tc.code)
			}
		})
	}
}

// TestAuthorizeNeverRedirectsToUnregisteredURIs: unknown clients and
// redirect URIs get an error page, not a redirect.
func TestAuthorizeNeverRedirectsToUnregisteredURIs(t *testing.T) {
	v := newEnv(t, nil)
	_, challenge := pkce(t)
	for name, mutate := range map[string]func(url.Values){
		"unregistered redirect URI": func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") },
		"redirect URI prefix":       func(q url.Values) { q.Set("redirect_uri", behalfRedirect+"/more") },
		"redirect URI of another app": func(q url.Values) {
			q.Set("redirect_uri", "http://localhost:8400/callback")
		},
		"unknown client": func(q url.Values) { q.Set("client_id", "00000000-0000-0000-0000-000000000000") },
		"unknown tenant": func(q url.Values) { q.Set("client_id", behalfID) },
	} {
		t.Run(name, func(t *testing.T) {
			q := authorizeParams(challenge)
			mutate(q)
			base := v.authority()
			if name == "unknown tenant" {
				base = v.e.URL() + "/nope.example"
			}
			resp, err := v.browser(t).Get(base + "/oauth2/v2.0/authorize?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(string(body), "AADSTS") {
				t.Errorf("%d %q %s", resp.StatusCode, resp.Header.Get("Location"), body)
			}
		})
	}
	// A URI the stack registers at run time is accepted exactly.
	if err := v.e.AddRedirectURI(behalfID, "http://127.0.0.1:53123/api/auth/callback"); err != nil {
		t.Fatal(err)
	}
	q := authorizeParams(challenge)
	q.Set("redirect_uri", "http://127.0.0.1:53123/api/auth/callback")
	if resp := v.authorize(t, v.browser(t), q); resp.StatusCode != http.StatusOK {
		t.Errorf("registered URI: %d", resp.StatusCode)
	}
	if err := v.e.AddRedirectURI(behalfID, "http://evil.example/cb"); err == nil {
		t.Error("a plain-http redirect URI off localhost was registered")
	}
}

// TestSessionPromptAndLoginHint: a sign-in leaves a session; later
// requests sign in silently unless prompt says otherwise; login_hint picks
// the person.
func TestSessionPromptAndLoginHint(t *testing.T) {
	v := newEnv(t, nil)
	_, challenge := pkce(t)
	b := v.browser(t)

	q := authorizeParams(challenge)
	q.Set("login_hint", april)
	resp := v.authorize(t, b, q)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-in page: %d", resp.StatusCode)
	}
	page := parseSignIn(t, resp.Body)
	if page.first != april {
		t.Errorf("login_hint person is not first: %s", page.first)
	}
	back := v.signIn(t, b, v.authority()+"/oauth2/v2.0/authorize?"+authorizeParams(challenge).Encode(), wendy)
	if back.Get("code") == "" || back.Get("state") != "st" {
		t.Fatalf("sign-in: %v", back)
	}

	t.Run("single sign-on", func(t *testing.T) {
		if back := redirectQuery(t, v.authorize(t, b, authorizeParams(challenge))); back.Get("code") == "" {
			t.Errorf("no silent sign-in: %v", back)
		}
	})
	t.Run("prompt=none with the session's person", func(t *testing.T) {
		q := authorizeParams(challenge)
		q.Set("prompt", "none")
		q.Set("login_hint", wendy)
		if back := redirectQuery(t, v.authorize(t, b, q)); back.Get("code") == "" {
			t.Errorf("prompt=none: %v", back)
		}
	})
	t.Run("prompt=none hinting someone else", func(t *testing.T) {
		q := authorizeParams(challenge)
		q.Set("prompt", "none")
		q.Set("login_hint", april)
		if back := redirectQuery(t, v.authorize(t, b, q)); back.Get("error") != "login_required" {
			t.Errorf("prompt=none for another person: %v", back)
		}
	})
	for _, p := range []string{"login", "select_account", "consent"} {
		t.Run("prompt="+p, func(t *testing.T) {
			q := authorizeParams(challenge)
			q.Set("prompt", p)
			if resp := v.authorize(t, b, q); resp.StatusCode != http.StatusOK {
				t.Errorf("prompt=%s did not show the page: %d", p, resp.StatusCode)
			}
		})
	}
	t.Run("form_post", func(t *testing.T) {
		q := authorizeParams(challenge)
		q.Set("response_mode", "form_post")
		resp := v.authorize(t, b, q)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `name="code"`) || !strings.Contains(string(body), `action="`+behalfRedirect+`"`) {
			t.Errorf("form_post: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("logout ends the session", func(t *testing.T) {
		resp, err := b.Get(v.authority() + "/oauth2/v2.0/logout?post_logout_redirect_uri=" + url.QueryEscape("http://localhost:7071/"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "http://localhost:7071/" {
			t.Errorf("logout: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		q := authorizeParams(challenge)
		q.Set("prompt", "none")
		if back := redirectQuery(t, v.authorize(t, b, q)); back.Get("error") != "login_required" {
			t.Errorf("session survived logout: %v", back)
		}
		evil, err := b.Get(v.authority() + "/oauth2/v2.0/logout?post_logout_redirect_uri=" + url.QueryEscape("https://evil.example/"))
		if err != nil {
			t.Fatal(err)
		}
		evil.Body.Close()
		if evil.StatusCode != http.StatusOK || evil.Header.Get("Location") != "" {
			t.Errorf("logout redirected to an unregistered origin: %d %s", evil.StatusCode, evil.Header.Get("Location"))
		}
	})
}

// TestSignInFormIsSingleUse: a sign-in page's form works once, and only
// for people of the tenant.
func TestSignInFormIsSingleUse(t *testing.T) {
	v := newEnv(t, nil)
	_, challenge := pkce(t)
	b := v.browser(t)
	resp := v.authorize(t, b, authorizeParams(challenge))
	f := parseSignIn(t, resp.Body)
	if _, ok := f.people[paula]; ok {
		t.Error("the external partner is listed on the tenant's sign-in page")
	}
	if _, ok := f.people["oscar.other@fabrikam.example"]; ok {
		t.Error("a person of another tenant is listed")
	}
	form := url.Values{"request": {f.hidden.Get("request")}, "person": {f.people[wendy]}}
	first, err := b.PostForm(v.e.URL()+f.action, form)
	if err != nil {
		t.Fatal(err)
	}
	first.Body.Close()
	if first.StatusCode != http.StatusFound {
		t.Fatalf("first post: %d", first.StatusCode)
	}
	again, err := b.PostForm(v.e.URL()+f.action, form)
	if err != nil {
		t.Fatal(err)
	}
	again.Body.Close()
	if again.StatusCode != http.StatusBadRequest {
		t.Errorf("second post of the same form: %d", again.StatusCode)
	}
}
