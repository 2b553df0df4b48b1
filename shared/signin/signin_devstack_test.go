//go:build devstack

package signin

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/behalf-dev/behalf/infra/devstack/devca"
	"github.com/behalf-dev/behalf/infra/devstack/directory"
	"github.com/behalf-dev/behalf/infra/devstack/entra"
)

// The sign-in flow against the Entra ID emulator, with MSAL Go's real
// confidential client: PKCE, state, nonce, the ID token check, single-use
// codes and the refresh of a session near expiry.

const redirectURI = "http://127.0.0.1:7071/api/auth/callback"

type env struct {
	emu  *entra.Emulator
	flow *Flow
	hc   *http.Client
	dir  *directory.Directory
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ca, err := devca.New(devca.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	dir := directory.Demo()
	// Access tokens shorter than the session refresh window, so a fresh
	// session already needs its refresh.
	emu, err := entra.New(entra.Config{Directory: dir, CA: ca, Lifetimes: entra.Lifetimes{AccessToken: 4 * time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close(context.Background()) })
	app, _ := dir.AppNamed("behalf")
	cred, err := confidential.NewCredFromSecret(app.Secret)
	if err != nil {
		t.Fatal(err)
	}
	authority := emu.Authority(app.Tenant)
	f, err := New(context.Background(), Config{Authority: authority, Issuer: authority + "/v2.0", ClientID: app.ClientID, Credential: cred,
		RedirectURI: redirectURI, APIScope: "api://" + app.ClientID + "/access_as_user", HTTPClient: ca.HTTPClient(), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	hc := ca.HTTPClient()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &env{emu: emu, flow: f, hc: hc, dir: dir}
}

var reRequest = regexp.MustCompile(`name="request" value="([^"]+)"`)

// signIn opens authURL, picks upn on the emulator's page and returns the
// query of the redirect back to behalf.
func (e *env) signIn(t *testing.T, authURL, upn string) url.Values {
	t.Helper()
	resp, err := e.hc.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := reRequest.FindSubmatch(page)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("sign-in page %d: %s", resp.StatusCode, page)
	}
	p, ok := e.dir.PersonByUPN(upn)
	if !ok {
		t.Fatalf("no person %s", upn)
	}
	form := url.Values{"request": {string(m[1])}, "person": {p.OID}}
	post, err := e.hc.PostForm(resp.Request.URL.String(), form)
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	loc, err := url.Parse(post.Header.Get("Location"))
	if post.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), redirectURI) {
		t.Fatalf("after sign-in: %d %q", post.StatusCode, post.Header.Get("Location"))
	}
	return loc.Query()
}

func claimsOf(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatal("not a JWT")
	}
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSignInThenRefresh(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	authURL, st, err := e.flow.Start(ctx, "/after", "wendy.west@contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	q, _ := url.Parse(authURL)
	sum := sha256.Sum256([]byte(st.Verifier))
	if got := q.Query(); got.Get("code_challenge") != base64.RawURLEncoding.EncodeToString(sum[:]) || got.Get("code_challenge_method") != "S256" ||
		got.Get("state") != st.State || got.Get("nonce") != st.Nonce || got.Get("login_hint") != "wendy.west@contoso.example" {
		t.Fatalf("authorize URL %s", authURL)
	}
	back := e.signIn(t, authURL, "wendy.west@contoso.example")
	if back.Get("state") != st.State || back.Get("code") == "" {
		t.Fatalf("callback %v", back)
	}
	d, err := e.flow.Finish(ctx, back.Get("code"), st)
	if err != nil {
		t.Fatal(err)
	}
	app, _ := e.dir.AppNamed("behalf")
	if d.UPN != "wendy.west@contoso.example" || d.OID == "" || d.TenantID != app.Tenant || d.CSRF == "" || len(d.MSALCache) == 0 || d.HomeAccountID == "" {
		t.Fatalf("session %+v", d)
	}
	// The session's token is for behalf itself, so it can be exchanged.
	if c := claimsOf(t, d.AccessToken); c["aud"] != app.ClientID || !strings.Contains(c["scp"].(string), "access_as_user") {
		t.Fatalf("session token aud=%v scp=%v", c["aud"], c["scp"])
	}
	if !d.NeedsRefresh(time.Now()) {
		t.Fatalf("a token expiring at %s should need a refresh", d.ExpiresAt)
	}
	before := e.emu.Counters().TokenRequests[entra.GrantRefreshToken]
	nd, err := e.flow.Refresh(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if nd.AccessToken == d.AccessToken || nd.UPN != d.UPN || nd.CSRF != d.CSRF || claimsOf(t, nd.AccessToken)["oid"] != d.OID {
		t.Fatalf("refreshed session %+v", nd)
	}
	if n := e.emu.Counters().TokenRequests[entra.GrantRefreshToken] - before; n != 1 {
		t.Fatalf("%d refresh-token grants, want 1", n)
	}
	// Without the person's MSAL cache there is nothing to refresh with.
	empty := *d
	empty.MSALCache = nil
	if _, err := e.flow.Refresh(ctx, &empty); err == nil {
		t.Fatal("refreshed without a refresh token")
	}
	// A code is single use; replaying it revokes what it issued, so the
	// session cannot be refreshed any more.
	if _, err := e.flow.Finish(ctx, back.Get("code"), st); err == nil {
		t.Fatal("an authorization code was redeemed twice")
	}
	if _, err := e.flow.Refresh(ctx, nd); err == nil {
		t.Fatal("a session refreshed after its code was replayed")
	}
}

func TestFinishRefusesAnotherSignInsNonceAndVerifier(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for name, spoil := range map[string]func(*LoginState){
		"nonce":    func(st *LoginState) { st.Nonce = "someone-elses-nonce" },
		"verifier": func(st *LoginState) { st.Verifier = strings.Repeat("v", 64) },
	} {
		t.Run(name, func(t *testing.T) {
			authURL, st, err := e.flow.Start(ctx, "/", "")
			if err != nil {
				t.Fatal(err)
			}
			back := e.signIn(t, authURL, "fiona.finance@contoso.example")
			spoiled := *st
			spoil(&spoiled)
			if d, err := e.flow.Finish(ctx, back.Get("code"), &spoiled); err == nil {
				t.Fatalf("a sign-in with a wrong %s made a session for %s", name, d.UPN)
			}
		})
	}
}
