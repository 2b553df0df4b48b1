//go:build devstack

package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go"

	dbxemu "github.com/behalf-dev/behalf/infra/devstack/databricks"
	"github.com/behalf-dev/behalf/infra/devstack/directory"
	"github.com/behalf-dev/behalf/infra/devstack/entra"
)

// The end-to-end proof of the Identity issue (5) against the dev stack:
// every request goes through behalf's HTTP API, the Entra ID emulator
// (MSAL Go's OBO flow) and the workspace emulator (databricks-sdk-go).

const (
	adamAdmin    = "adam.admin@contoso.example"
	paulaPartner = "paula@partner.example"
	// databricksResource is the Azure Databricks first-party app id.
	databricksResource = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d"
)

// TestE2ESignInSessionCSRFAndLogout signs a person in through
// /api/auth/login and the Entra emulator's page, uses the cookie session,
// shows that a state-changing cookie request without the CSRF header is
// refused before anything happens, and signs out (issue 5, acceptance 2).
func TestE2ESignInSessionCSRFAndLogout(t *testing.T) {
	s := startDevStack(t, map[string]string{"BEHALF_GENIE_POLL_INITIAL": "20ms", "BEHALF_GENIE_POLL_MAX": "100ms"})
	s.r.Databricks.SetGenieBehaviour("", dbxemu.GenieBehaviour{StepDelay: 10 * time.Millisecond})

	// Login: PKCE S256, state, nonce and a token audience of behalf itself.
	r := s.call(http.MethodGet, "/api/auth/login", "", nil)
	if r.Status != http.StatusFound {
		t.Fatalf("login: %d %s", r.Status, r.Body)
	}
	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), s.r.Authority+"/oauth2/v2.0/authorize") {
		t.Fatalf("login redirects to %q", r.Header.Get("Location"))
	}
	q := loc.Query()
	scopes := strings.Fields(q.Get("scope"))
	for _, want := range []string{"api://" + s.behalf + "/access_as_user", "openid", "profile", "offline_access"} {
		if !containsStr(scopes, want) {
			t.Errorf("scope %q lacks %s", q.Get("scope"), want)
		}
	}
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) < 43 || len(q.Get("state")) < 16 || len(q.Get("nonce")) < 16 {
		t.Errorf("authorize request lacks PKCE S256, state or nonce: %v", q)
	}
	if sc := strings.Join(r.Header.Values("Set-Cookie"), "\n"); !strings.Contains(sc, "behalf_login=") || !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") {
		t.Errorf("login state cookie: %s", sc)
	}
	for _, bad := range []string{"https://evil.example/after", "//evil.example/x", "javascript:alert(1)"} {
		if r := s.call(http.MethodGet, "/api/auth/login?redirect="+url.QueryEscape(bad), "", nil); r.Status != http.StatusBadRequest {
			t.Errorf("login redirect to %s: %d", bad, r.Status)
		}
	}

	c, csrf := s.browser(wendyWest)
	me := s.callWith(c, http.MethodGet, "/api/auth/me", "", nil, nil)
	if me.Status != 200 || me.JSON["upn"] != wendyWest || me.JSON["via"] != "session" || me.JSON["csrf_token"] != csrf {
		t.Fatalf("me: %d %s", me.Status, me.Body)
	}
	appURL, _ := url.Parse(s.r.AppURL + "/api/")
	var cookieValues []string
	for _, ck := range c.Jar.Cookies(appURL) {
		if !strings.HasPrefix(ck.Name, "behalf_session") {
			continue // the Entra emulator's own sign-in cookie (same host, other port)
		}
		cookieValues = append(cookieValues, ck.Value)
		// The cookie is sealed: neither the person nor their token shows.
		if strings.Contains(ck.Value, "wendy") || strings.Contains(ck.Value, "eyJ") {
			t.Errorf("session cookie %s is readable", ck.Name)
		}
	}
	if len(cookieValues) == 0 {
		t.Fatal("no session cookie")
	}

	// State-changing cookie requests need the CSRF header; nothing runs
	// without it.
	ask := map[string]any{"question": "What is the revenue by region?"}
	before := s.r.Databricks.Counters()
	oboBefore := s.r.Entra.Counters().TokenRequests[entra.GrantOnBehalfOf]
	for name, h := range map[string]http.Header{"no header": nil, "wrong header": {"X-Csrf-Token": {"forged-" + csrf[:8]}}} {
		r := s.callWith(c, http.MethodPost, "/api/genie-query", "", ask, h)
		if r.Status != http.StatusForbidden || !strings.Contains(r.JSON["error"].(map[string]any)["message"].(string), "CSRF") {
			t.Fatalf("%s: cookie POST without a valid CSRF token: %d %s", name, r.Status, r.Body)
		}
	}
	after := s.r.Databricks.Counters()
	if after.GenieMessages != before.GenieMessages || after.Requests[dbxemu.EndpointGenieStart] != before.Requests[dbxemu.EndpointGenieStart] ||
		s.r.Entra.Counters().TokenRequests[entra.GrantOnBehalfOf] != oboBefore {
		t.Fatal("a request refused for CSRF still reached the exchange or Genie")
	}
	r = s.callWith(c, http.MethodPost, "/api/genie-query", "", ask, http.Header{"X-Csrf-Token": {csrf}})
	if r.Status != 200 || r.JSON["status"] != "COMPLETED" {
		t.Fatalf("cookie POST with the CSRF token: %d %s", r.Status, r.Body)
	}
	// A bearer request needs no CSRF token (no ambient credential).
	if r := s.call(http.MethodPost, "/api/genie-query", s.token(wendyWest), ask); r.Status != 200 {
		t.Fatalf("bearer POST: %d %s", r.Status, r.Body)
	}

	// Logout clears every session cookie and sends the browser to the
	// IdP's end-session endpoint.
	nc := *c
	nc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	out := s.callWith(&nc, http.MethodGet, "/api/auth/logout", "", nil, nil)
	if out.Status != http.StatusFound || !strings.HasPrefix(out.Header.Get("Location"), s.r.Authority+"/oauth2/v2.0/logout") {
		t.Fatalf("logout: %d %s %s", out.Status, out.Header.Get("Location"), out.Body)
	}
	if sc := strings.Join(out.Header.Values("Set-Cookie"), "\n"); !strings.Contains(sc, "behalf_session=;") || !strings.Contains(sc, "Max-Age=0") {
		t.Fatalf("logout does not clear the session: %s", sc)
	}
	if r := s.callWith(&nc, http.MethodGet, "/api/auth/me", "", nil, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("me after logout: %d %s", r.Status, r.Body)
	}
	if l := s.leaked(append(cookieValues, csrf)...); len(l) > 0 {
		t.Fatalf("session cookies or the CSRF token appear in the logs: %v", l)
	}
}

func containsStr(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// setDeployerEnvironment gives this process every deployer credential the
// Databricks SDK and azidentity know how to find — a workspace token of
// Adam Admin in DATABRICKS_TOKEN and in ~/.databrickscfg, a service
// principal's OAuth secret, ARM_* — and returns Adam's token.
func setDeployerEnvironment(t *testing.T, s *devStack) string {
	t.Helper()
	adam, err := s.r.Databricks.IssueToken(adamAdmin, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := directory.Demo()
	var m2mID, m2mSecret string
	for _, sp := range dir.ServicePrincipals {
		if sp.Secret != "" {
			m2mID, m2mSecret = sp.ApplicationID, sp.Secret
		}
	}
	app, _ := dir.AppNamed("behalf")
	home := t.TempDir()
	cfgFile := filepath.Join(home, ".databrickscfg")
	profile := "[DEFAULT]\nhost = " + s.r.Databricks.URL() + "\ntoken = " + adam + "\n"
	if err := os.WriteFile(cfgFile, []byte(profile), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"HOME": home, "DATABRICKS_CONFIG_FILE": cfgFile, "DATABRICKS_CONFIG_PROFILE": "DEFAULT",
		"DATABRICKS_HOST": s.r.Databricks.URL(), "DATABRICKS_TOKEN": adam, "DATABRICKS_AUTH_TYPE": "pat",
		"DATABRICKS_CLIENT_ID": m2mID, "DATABRICKS_CLIENT_SECRET": m2mSecret,
		"ARM_CLIENT_ID": app.ClientID, "ARM_CLIENT_SECRET": app.Secret, "ARM_TENANT_ID": app.Tenant,
	} {
		t.Setenv(k, v)
	}
	return adam
}

// TestE2EOBORunsAsThePersonNotTheDeployer exchanges a person's token
// through obo-exchange (MSAL Go's OBO flow against the Entra emulator) and
// shows that SCIM Me and SQL on the workspace see that person — while the
// process environment holds a working deployer credential of an admin
// that a careless client would pick up. Repeated calls with the same
// assertion make one token-endpoint call (issue 5, acceptances 3 and 4).
func TestE2EOBORunsAsThePersonNotTheDeployer(t *testing.T) {
	s := startDevStack(t, nil)
	adam := setDeployerEnvironment(t, s)
	ctx := context.Background()

	// Control: the environment really carries a deployer identity.
	naive, err := databricks.NewWorkspaceClient(&databricks.Config{HTTPTransport: s.http.Transport})
	if err != nil {
		t.Fatal(err)
	}
	if me, err := naive.CurrentUser.Me(ctx); err != nil || me.UserName != adamAdmin {
		t.Fatalf("a default client should act as the deployer: %v %v", me, err)
	}

	assertion := s.token(wendyWest)
	var dbxTokens []string
	for i := 0; i < 3; i++ {
		r := s.call(http.MethodPost, "/api/obo-exchange", assertion, nil)
		if r.Status != 200 {
			t.Fatalf("obo-exchange: %d %s", r.Status, r.Body)
		}
		if r.Header.Get("Cache-Control") != "no-store" || r.JSON["token_type"] != "Bearer" || r.JSON["scope"] == nil {
			t.Fatalf("broker answer: %v %s", r.Header, r.Body)
		}
		if exp, _ := r.JSON["expires_in"].(float64); exp <= 120 || exp > 3600 {
			t.Fatalf("expires_in %v", r.JSON["expires_in"])
		}
		dbxTokens = append(dbxTokens, r.JSON["access_token"].(string))
	}
	if dbxTokens[0] != dbxTokens[1] || dbxTokens[1] != dbxTokens[2] {
		t.Fatal("the cached Databricks token was not reused")
	}
	if c := tokenClaims(t, dbxTokens[0]); c["aud"] != databricksResource || c["upn"] != wendyWest {
		t.Fatalf("exchanged token is for aud=%v upn=%v", c["aud"], c["upn"])
	}
	me, err := s.workspace(dbxTokens[0]).CurrentUser.Me(ctx)
	if err != nil || me.UserName != wendyWest {
		t.Fatalf("SCIM Me with the exchanged token: %v %v", me, err)
	}

	// Through behalf itself: the statement runs as the person.
	r := s.call(http.MethodPost, "/api/sql-propose", assertion, map[string]any{"statement": "SELECT current_user()"})
	if r.Status != 200 {
		t.Fatalf("sql-propose: %d %s", r.Status, r.Body)
	}
	rows, _ := r.JSON["rows"].([]any)
	if len(rows) != 1 || rows[0].([]any)[0] != wendyWest {
		t.Fatalf("current_user() through behalf is %v, want %s", r.JSON["rows"], wendyWest)
	}
	dc := s.r.Databricks.Counters()
	if dc.StatementsByPrincipal[adamAdmin] != 0 || dc.StatementsByPrincipal[wendyWest] == 0 {
		t.Fatalf("statements by principal %v", dc.StatementsByPrincipal)
	}

	// Three broker calls and a SQL call with one assertion: one OBO call.
	if n := s.r.Entra.Counters().TokenRequests[entra.GrantOnBehalfOf]; n != 1 {
		t.Fatalf("%d OBO token requests for one assertion, want 1", n)
	}
	// A new assertion of the same person is a new exchange.
	if r := s.call(http.MethodPost, "/api/obo-exchange", s.token(wendyWest), nil); r.Status != 200 {
		t.Fatalf("obo-exchange: %d %s", r.Status, r.Body)
	}
	if n := s.r.Entra.Counters().TokenRequests[entra.GrantOnBehalfOf]; n != 2 {
		t.Fatalf("%d OBO token requests for two assertions, want 2", n)
	}
	if l := s.leaked(append(dbxTokens, assertion, adam)...); len(l) > 0 {
		t.Fatalf("tokens in the logs: %v", l)
	}
}

// TestE2EMFAPersonGetsClaimsChallenge: a person whose tenant requires MFA
// for Azure Databricks gets 401 with the insufficient_claims challenge the
// frontend needs to step up, from the broker and from a function; with
// MFA done the same person gets through (issue 5, acceptance 5).
func TestE2EMFAPersonGetsClaimsChallenge(t *testing.T) {
	s := startDevStack(t, nil)
	tok := s.token(markMFA)
	for _, call := range []struct {
		path string
		body any
	}{
		{"/api/obo-exchange", nil},
		{"/api/genie-query", map[string]any{"question": "What is the revenue by region?"}},
		{"/api/sql-propose", map[string]any{"statement": "SELECT current_user()"}},
	} {
		r := s.call(http.MethodPost, call.path, tok, call.body)
		if r.Status != http.StatusUnauthorized || r.errorCode() != "INSUFFICIENT_CLAIMS" {
			t.Fatalf("%s: %d %s", call.path, r.Status, r.Body)
		}
		e := r.JSON["error"].(map[string]any)
		if msg, _ := e["message"].(string); msg == "" || e["request_id"] == "" {
			t.Fatalf("%s: JSON error %v", call.path, e)
		}
		h := r.Header.Get("WWW-Authenticate")
		if !strings.HasPrefix(h, "Bearer ") || !strings.Contains(h, `error="insufficient_claims"`) {
			t.Fatalf("%s: WWW-Authenticate %q", call.path, h)
		}
		_, rest, ok := strings.Cut(h, `claims="`)
		enc, _, ok2 := strings.Cut(rest, `"`)
		if !ok || !ok2 {
			t.Fatalf("%s: no claims in %q", call.path, h)
		}
		raw, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			t.Fatalf("claims %q are not base64: %v", enc, err)
		}
		var challenge struct {
			AccessToken struct {
				Acrs struct {
					Essential bool   `json:"essential"`
					Value     string `json:"value"`
				} `json:"acrs"`
			} `json:"access_token"`
		}
		if err := json.Unmarshal(raw, &challenge); err != nil || !challenge.AccessToken.Acrs.Essential || challenge.AccessToken.Acrs.Value == "" {
			t.Fatalf("claims challenge %s", raw)
		}
	}
	if n := s.r.Entra.Counters().Errors["AADSTS"+strconv.Itoa(entra.CodeMFARequired)]; n == 0 {
		t.Fatalf("the Entra emulator answered no MFA error: %v", s.r.Entra.Counters().Errors)
	}
	if n := s.r.Databricks.Counters().GenieMessages; n != 0 {
		t.Fatalf("%d Genie messages without a Databricks token", n)
	}
	// After the step-up (a token carrying the MFA claims) it works.
	stepped, err := s.r.Entra.MintUserToken(entra.UserToken{UPN: markMFA, Resource: s.behalf, ClientID: agentApp, MFA: true})
	if err != nil {
		t.Fatal(err)
	}
	if r := s.call(http.MethodPost, "/api/obo-exchange", stepped, nil); r.Status != 200 {
		t.Fatalf("after MFA: %d %s", r.Status, r.Body)
	}
}

// TestE2EBrokerRefusesRogueAppAndLogsNoToken: obo-exchange serves only
// allow-listed caller apps (and bearer callers, not cookie sessions), and
// after a run over every path no user assertion, Databricks token, cookie
// or deployer token appears in any log line of the stack or in the
// queue, audit and export files (issue 5, acceptance 6).
func TestE2EBrokerRefusesRogueAppAndLogsNoToken(t *testing.T) {
	s := startDevStack(t, map[string]string{"BEHALF_LOG_LEVEL": "debug", "BEHALF_GENIE_POLL_INITIAL": "20ms", "BEHALF_GENIE_POLL_MAX": "100ms"})
	s.r.Databricks.SetGenieBehaviour("", dbxemu.GenieBehaviour{StepDelay: 10 * time.Millisecond})
	adam := setDeployerEnvironment(t, s)

	rogue := s.tokenVia(wendyWest, rogueApp)
	r := s.call(http.MethodPost, "/api/obo-exchange", rogue, nil)
	if r.Status != http.StatusForbidden || r.errorCode() != "PERMISSION_DENIED" || !strings.Contains(string(r.Body), "BEHALF_BROKER_ALLOWED_APPS") {
		t.Fatalf("rogue app: %d %s", r.Status, r.Body)
	}
	if n := s.r.Entra.Counters().TokenRequests[entra.GrantOnBehalfOf]; n != 0 {
		t.Fatalf("the rogue app's call reached the OBO exchange (%d)", n)
	}
	c, csrf := s.browser(wendyWest)
	if r := s.callWith(c, http.MethodPost, "/api/obo-exchange", "", nil, http.Header{"X-Csrf-Token": {csrf}}); r.Status != http.StatusForbidden {
		t.Fatalf("cookie session at the broker: %d %s", r.Status, r.Body)
	}

	// Exercise every path that handles a token.
	good := s.token(wendyWest)
	r = s.call(http.MethodPost, "/api/obo-exchange", good, nil)
	if r.Status != 200 {
		t.Fatalf("obo-exchange: %d %s", r.Status, r.Body)
	}
	dbx := r.JSON["access_token"].(string)
	if r := s.call(http.MethodPost, "/api/genie-query", good, map[string]any{"question": "What is the revenue by region?"}); r.Status != 200 {
		t.Fatalf("genie-query: %d %s", r.Status, r.Body)
	}
	if r := s.call(http.MethodPost, "/api/sql-propose", good, map[string]any{"statement": "SELECT current_user()"}); r.Status != 200 {
		t.Fatalf("sql-propose: %d %s", r.Status, r.Body)
	}
	if r := s.call(http.MethodPost, "/api/sql-propose", good, map[string]any{"statement": "DELETE FROM main.sales.deals WHERE deal_id = 'x'"}); r.Status != http.StatusAccepted {
		t.Fatalf("sql-propose (change): %d %s", r.Status, r.Body)
	}
	mark := s.token(markMFA)
	if r := s.call(http.MethodPost, "/api/obo-exchange", mark, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("mfa: %d", r.Status)
	}
	expired, _ := s.r.Entra.MintUserToken(entra.UserToken{UPN: eliEast, Resource: s.behalf, ClientID: agentApp, Lifetime: -time.Hour})
	if r := s.call(http.MethodGet, "/api/auth/me", expired, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("expired: %d", r.Status)
	}
	appURL, _ := url.Parse(s.r.AppURL + "/api/")
	secrets := []string{rogue, good, dbx, mark, expired, adam, csrf}
	for _, ck := range c.Jar.Cookies(appURL) {
		if strings.HasPrefix(ck.Name, "behalf_session") {
			secrets = append(secrets, ck.Value)
		}
	}
	if !strings.Contains(s.out.String(), "obo-exchange") {
		t.Fatalf("the stack logged nothing about the broker:\n%s", s.out)
	}
	if l := s.leaked(secrets...); len(l) > 0 {
		t.Fatalf("tokens in the stack's logs: %v", l)
	}
	// Nothing at rest either: the queue, the audit store and exports.
	for _, f := range stackFiles(t, s.dataDir, "queue.db", "audit.db", "exports") {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, sec := range secrets {
			if strings.Contains(string(b), sec) || strings.Contains(string(b), sec[max(0, len(sec)-24):]) {
				t.Fatalf("%s holds a token (%s)", f, clip(sec))
			}
		}
	}
}

// stackFiles lists the files under dir whose path relative to dir starts
// with one of prefixes.
func stackFiles(t *testing.T, dir string, prefixes ...string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		for _, pre := range prefixes {
			if strings.HasPrefix(rel, pre) {
				out = append(out, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no %v files under %s", prefixes, dir)
	}
	return out
}

// TestE2EFederationRoleAndToolMatrix: with BEHALF_EXCHANGE=federation a
// partner IdP token is exchanged at the workspace's /oidc/v1/token (RFC
// 8693) for a token of the role service principal its group maps to; the
// role runs SQL as itself, and the tool matrix blocks a function the role
// may not call before any exchange or Genie call (issue 5, acceptance 7).
func TestE2EFederationRoleAndToolMatrix(t *testing.T) {
	port := freePort(t)
	entraAddr := "127.0.0.1:" + strconv.Itoa(port)
	partnerIssuer := "https://" + entraAddr + "/partner"
	dir := directory.Demo()
	role := dir.PartnerIdP.GroupRoles["partner-analysts"]
	if role == "" {
		t.Fatal("the demo partner IdP maps no role")
	}
	s := launchDevStack(t, map[string]string{
		"BEHALF_EXCHANGE":             "federation",
		"BEHALF_FEDERATION_ISSUERS":   partnerIssuer + "|" + dir.PartnerIdP.Audience,
		"BEHALF_FEDERATION_ROLES":     "partner-analysts=" + role,
		"BEHALF_FEDERATION_TOOLS":     role + "=sql-propose",
		"BEHALF_GENIE_ALLOWED_SPACES": dbxemu.PartnerSpaceID,
	}, entraAddr)
	if s.r.Entra.PartnerIssuer() != partnerIssuer {
		t.Fatalf("partner issuer %s, configured %s", s.r.Entra.PartnerIssuer(), partnerIssuer)
	}
	paula, err := s.r.Entra.PartnerToken(paulaPartner)
	if err != nil {
		t.Fatal(err)
	}

	for i := 0; i < 2; i++ {
		r := s.call(http.MethodPost, "/api/sql-propose", paula, map[string]any{"statement": "SELECT current_user()"})
		if r.Status != 200 {
			t.Fatalf("sql-propose as the partner: %d %s", r.Status, r.Body)
		}
		if rows, _ := r.JSON["rows"].([]any); len(rows) != 1 || rows[0].([]any)[0] != role {
			t.Fatalf("current_user() is %v, want the role service principal %s", r.JSON["rows"], role)
		}
	}
	r := s.call(http.MethodPost, "/api/sql-propose", paula, map[string]any{"statement": "SELECT DISTINCT region FROM main.sales.partner_pipeline"})
	if r.Status != 200 || len(r.JSON["rows"].([]any)) != 1 || r.JSON["rows"].([]any)[0].([]any)[0] != "WEST" {
		t.Fatalf("the role sees %d %s, want WEST only", r.Status, r.Body)
	}
	dc := s.r.Databricks.Counters()
	if dc.TokenExchanges != 1 || dc.Requests[dbxemu.EndpointOIDCToken] != 1 {
		t.Fatalf("token exchanges %d (oidc calls %d), want exactly 1 (then cached)", dc.TokenExchanges, dc.Requests[dbxemu.EndpointOIDCToken])
	}
	if dc.StatementsByPrincipal[role] == 0 || len(dc.StatementsByPrincipal) != 1 {
		t.Fatalf("statements by principal %v", dc.StatementsByPrincipal)
	}

	// The role may not call genie-query: refused before any exchange.
	r = s.call(http.MethodPost, "/api/genie-query", paula, map[string]any{"question": "What are the top partner deals?", "space_id": dbxemu.PartnerSpaceID})
	if r.Status != http.StatusForbidden || r.errorCode() != "PERMISSION_DENIED" || !strings.Contains(string(r.Body), "genie-query") {
		t.Fatalf("genie-query for the role: %d %s", r.Status, r.Body)
	}
	// Nor the broker (the partner token has no allow-listed caller app).
	if r := s.call(http.MethodPost, "/api/obo-exchange", paula, nil); r.Status != http.StatusForbidden {
		t.Fatalf("obo-exchange for the partner: %d %s", r.Status, r.Body)
	}
	after := s.r.Databricks.Counters()
	if after.GenieMessages != 0 || after.TokenExchanges != dc.TokenExchanges {
		t.Fatalf("a blocked call reached the workspace: messages %d, exchanges %d", after.GenieMessages, after.TokenExchanges)
	}
	// An Entra person with no role group may not federate as themselves
	// when roles are configured.
	if r := s.call(http.MethodPost, "/api/sql-propose", s.token(wendyWest), map[string]any{"statement": "SELECT 1"}); r.Status != http.StatusForbidden {
		t.Fatalf("Entra person without a role: %d %s", r.Status, r.Body)
	}
	if l := s.leaked(paula); len(l) > 0 {
		t.Fatalf("the partner token is in the logs")
	}
}
