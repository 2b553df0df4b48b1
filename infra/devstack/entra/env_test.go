package entra

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"golang.org/x/net/html"

	"github.com/behalf-dev/behalf/infra/devstack/devca"
	"github.com/behalf-dev/behalf/infra/devstack/directory"
)

// Demo identities (infra/devstack/directory/demo.json).
const (
	tenantID        = "7d3e2a10-5b1c-4c8e-9f00-0000000d3e10"
	otherTenantID   = "9a8b7c6d-0000-4000-8000-00000000f0e1"
	behalfID        = "e0000000-0000-4000-8000-0000000000b1"
	behalfSecret    = "dev-only-behalf-secret"
	behalfRedirect  = "http://localhost:7071/api/auth/callback"
	agentID         = "e0000000-0000-4000-8000-0000000000a1"
	agentSecret     = "dev-only-agent-secret"
	noConsentID     = "e0000000-0000-4000-8000-0000000000c1"
	noConsentSecret = "dev-only-noconsent-secret"
	miClientID      = "f0000000-0000-4000-8000-0000000000f1"
	miPrincipalID   = "f0000000-0000-4000-8000-0000000000f2"
	dbx             = directory.AzureDatabricksResource
	dbxScope        = dbx + "/.default"
	behalfScope     = "api://" + behalfID + "/access_as_user"
	wendy           = "wendy.west@contoso.example"
	wendyOID        = "b0000000-0000-4000-8000-000000000001"
	mark            = "mark.mfa@contoso.example"
	april           = "april.approver@contoso.example"
	paula           = "paula@partner.example"
)

type env struct {
	e    *Emulator
	ca   *devca.CA
	http *http.Client
}

// newEnv starts an emulator on a random port with the demo directory.
func newEnv(t *testing.T, mutate func(*Config)) *env {
	t.Helper()
	ca, err := devca.New(devca.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Directory: directory.Demo(), CA: ca}
	if mutate != nil {
		mutate(&cfg)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return &env{e: e, ca: ca, http: ca.HTTPClient()}
}

func (v *env) authority() string { return v.e.Authority(tenantID) }

// msal is a confidential client the way behalf builds one (fact sheet §1).
func (v *env) msal(t *testing.T, clientID string, cred confidential.Credential) confidential.Client {
	t.Helper()
	c, err := confidential.New(v.authority(), clientID, cred, confidential.WithHTTPClient(v.http),
		confidential.WithInstanceDiscovery(false), confidential.WithAzureRegion("DisableMsalForceRegion"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (v *env) secretClient(t *testing.T, clientID, secret string) confidential.Client {
	t.Helper()
	cred, err := confidential.NewCredFromSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	return v.msal(t, clientID, cred)
}

// pkce is a verifier and its S256 challenge.
func pkce(t *testing.T) (verifier, challenge string) {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// browser is a cookie-keeping client that does not follow redirects, so
// tests see where the emulator sends the browser.
func (v *env) browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := v.ca.HTTPClient()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// authURL builds an authorize URL with MSAL (as behalf's sign-in does) and
// adds PKCE, state and nonce; extra overrides or removes (empty) params.
func (v *env) authURL(t *testing.T, c confidential.Client, clientID, redirect string, scopes []string, challenge string, extra map[string]string) string {
	t.Helper()
	raw, err := c.AuthCodeURL(context.Background(), clientID, redirect, scopes)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("code_challenge", challenge)
	q.Set("code_challenge_method", "S256")
	q.Set("state", "state-123")
	q.Set("nonce", "nonce-456")
	for k, val := range extra {
		if val == "" {
			q.Del(k)
		} else {
			q.Set(k, val)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// signInForm is the sign-in page as a browser sees it.
type signInForm struct {
	action string
	hidden url.Values
	// people maps UPN (as shown) to the button value.
	people map[string]string
	first  string
}

func parseSignIn(t *testing.T, body io.Reader) *signInForm {
	t.Helper()
	doc, err := html.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	f := &signInForm{hidden: url.Values{}, people: map[string]string{}}
	attr := func(n *html.Node, k string) string {
		for _, a := range n.Attr {
			if a.Key == k {
				return a.Val
			}
		}
		return ""
	}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				f.action = attr(n, "action")
			case "input":
				if attr(n, "type") == "hidden" {
					f.hidden.Set(attr(n, "name"), attr(n, "value"))
				}
			case "button":
				text := textOf(n)
				for _, w := range strings.Fields(text) {
					if strings.Contains(w, "@") {
						f.people[w] = attr(n, "value")
						if f.first == "" {
							f.first = w
						}
						break
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return f
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data + " ")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// signIn drives the sign-in page: GET it, pick upn the way its form does,
// and return the query of the redirect back to the app.
func (v *env) signIn(t *testing.T, b *http.Client, authURL, upn string) url.Values {
	t.Helper()
	resp, err := b.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("authorize: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	f := parseSignIn(t, resp.Body)
	oid, ok := f.people[upn]
	if !ok {
		t.Fatalf("sign-in page does not list %s (lists %v)", upn, f.people)
	}
	form := url.Values{}
	for k, vs := range f.hidden {
		form[k] = vs
	}
	form.Set("person", oid)
	post, err := b.PostForm(v.e.URL()+f.action, form)
	if err != nil {
		t.Fatal(err)
	}
	defer post.Body.Close()
	return redirectQuery(t, post)
}

// redirectQuery is the query of a 302 back to the app.
func redirectQuery(t *testing.T, resp *http.Response) url.Values {
	t.Helper()
	if resp.StatusCode != http.StatusFound {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("want a redirect to the app, got %d: %s", resp.StatusCode, b)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc.Query()
}

// claimsOf decodes a JWT payload without verifying it (tests verify
// separately where that matters).
func claimsOf(t *testing.T, raw string) map[string]any {
	t.Helper()
	b := decodeSegment(t, raw, 1)
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// decodeSegment decodes part i of a compact JWT.
func decodeSegment(t *testing.T, raw string, i int) []byte {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// postToken sends a raw token request and decodes the answer.
func (v *env) postToken(t *testing.T, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := v.http.PostForm(v.authority()+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m := map[string]any{}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, m
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}
