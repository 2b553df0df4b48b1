package databricks

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go"
	"github.com/databricks/databricks-sdk-go/apierr"
	"github.com/databricks/databricks-sdk-go/config"
	"github.com/databricks/databricks-sdk-go/service/sql"

	"github.com/behalf-dev/behalf/infra/devstack/directory"
)

// TestBearerTokens is acceptance 4 plus the accepted forms: Entra v2 and
// v1 tokens for the Azure Databricks resource and the workspace's own
// tokens pass; another audience, an expired token, a token signed by an
// unknown key (or with alg none/HS256), another tenant's or an untrusted
// issuer's token are refused with 401.
func TestBearerTokens(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	own, err := v.e.IssueToken(eli, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	unsigned := func(alg string) string {
		enc := base64.RawURLEncoding.EncodeToString
		claims := `{"iss":"` + v.idp.v2Issuer(tenantID) + `","aud":"` + directory.AzureDatabricksResource + `","preferred_username":"` + wendy + `","tid":"` + tenantID + `","exp":` + "9999999999}"
		return enc([]byte(`{"alg":"`+alg+`","typ":"JWT"}`)) + "." + enc([]byte(claims)) + "." + enc([]byte("sig"))
	}
	cases := []struct {
		name  string
		token string
		user  string // "" means refused
	}{
		{"entra v2", v.idp.entraToken(t, wendy, nil), wendy},
		{"entra v1", v.idp.entraToken(t, fiona, func(c map[string]any) {
			c["iss"], c["ver"], c["upn"] = "https://sts.windows.net/"+tenantID+"/", "1.0", fiona
			delete(c, "preferred_username")
		}), fiona},
		{"by object id only", v.idp.entraToken(t, maya, func(c map[string]any) { delete(c, "preferred_username") }), maya},
		{"workspace token", own, eli},
		{"other audience", v.idp.entraToken(t, wendy, func(c map[string]any) { c["aud"] = "api://some-other-api" }), ""},
		{"expired", v.idp.entraToken(t, wendy, func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }), ""},
		{"unknown key, same kid", v.idp.sign(t, map[string]any{"iss": v.idp.v2Issuer(tenantID), "aud": directory.AzureDatabricksResource, "tid": tenantID,
			"preferred_username": wendy, "exp": time.Now().Add(time.Hour).Unix()}, otherKey, ""), ""},
		{"unknown key, new kid", v.idp.sign(t, map[string]any{"iss": v.idp.v2Issuer(tenantID), "aud": directory.AzureDatabricksResource, "tid": tenantID,
			"preferred_username": wendy, "exp": time.Now().Add(time.Hour).Unix()}, otherKey, "rotated-key"), ""},
		{"alg none", unsigned("none"), ""},
		{"alg HS256", unsigned("HS256"), ""},
		{"other tenant claim", v.idp.entraToken(t, wendy, func(c map[string]any) { c["tid"] = otherTID }), ""},
		{"other tenant issuer", v.idp.entraToken(t, wendy, func(c map[string]any) { c["iss"], c["tid"] = v.idp.v2Issuer(otherTID), otherTID }), ""},
		{"untrusted issuer", v.idp.entraToken(t, wendy, func(c map[string]any) { c["iss"] = "https://evil.example/v2.0" }), ""},
		{"person outside the workspace", v.idp.entraToken(t, wendy, func(c map[string]any) {
			c["preferred_username"], c["oid"] = "oscar.other@fabrikam.example", "b0000000-0000-4000-8000-00000000000b"
		}), ""},
		{"garbage", "not-a-jwt", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			me, err := v.client(t, tc.token).CurrentUser.Me(t.Context())
			if tc.user != "" {
				if err != nil || me.UserName != tc.user {
					t.Fatalf("Me = %v, %v; want %s", me, err, tc.user)
				}
				return
			}
			if tc.name == "person outside the workspace" {
				if !errors.Is(err, apierr.ErrPermissionDenied) {
					t.Fatalf("err = %v, want 403", err)
				}
				return
			}
			var ae *apierr.APIError
			if !errors.Is(err, apierr.ErrUnauthenticated) || !errors.As(err, &ae) || ae.StatusCode != http.StatusUnauthorized || ae.ErrorCode != "UNAUTHENTICATED" {
				t.Fatalf("err = %v, want 401 UNAUTHENTICATED", err)
			}
			if tc.name == "expired" && ae.Message != "Token is expired" {
				t.Errorf("message %q", ae.Message)
			}
			if strings.Contains(ae.Message, tc.token) {
				t.Error("the error echoes the token")
			}
		})
	}
	if resp := v.raw(t, "GET", "/api/2.0/preview/scim/v2/Me", "", nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %d", resp.StatusCode)
	}
	if got := v.e.Counters().Unauthenticated; got != 11 {
		t.Errorf("Unauthenticated = %d", got)
	}
}

func TestSCIMMe(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	me, err := v.as(t, wendy).CurrentUser.Me(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := directory.Demo().PersonByUPN(wendy)
	if me.UserName != wendy || me.DisplayName != "Wendy West" || me.ExternalId != p.OID || me.Id == "" || !me.Active ||
		len(me.Emails) != 1 || me.Emails[0].Value != wendy || len(me.Groups) != 1 || me.Groups[0].Display != "sales-west" || me.Name.GivenName != "Wendy" {
		t.Errorf("Me = %+v", me)
	}
	// Without the metadata stub the SDK reads /.well-known/databricks-config
	// (and then sends the workspace id header).
	w, err := databricks.NewWorkspaceClient(v.sdkConfig(func(c *databricks.Config) {
		c.Token, c.Credentials, c.HostMetadataResolver = v.idp.entraToken(t, eli, nil), config.PatCredentials{}, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if me, err := w.CurrentUser.Me(t.Context()); err != nil || me.UserName != eli || w.Config.WorkspaceID != "1234567890123456" {
		t.Errorf("with host metadata: %v %v workspace %q", me, err, w.Config.WorkspaceID)
	}
	tok, err := v.e.IssueToken(partnerSP, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := v.client(t, tok).CurrentUser.Me(t.Context())
	if err != nil || sp.UserName != partnerSP || sp.DisplayName != "role-partner-analyst" || sp.Groups[0].Display != "partner-analysts" {
		t.Errorf("SP Me = %+v %v", sp, err)
	}
	if _, err := v.e.IssueToken("nobody@contoso.example", time.Minute); err == nil {
		t.Error("issued a token for an unknown user")
	}
}

// TestM2MAuditWriter: the audit writer service principal signs in with its
// secret through the SDK's own oauth-m2m strategy, creates the audit table
// and merges events idempotently.
func TestM2MAuditWriter(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	w, err := databricks.NewWorkspaceClient(v.sdkConfig(func(c *databricks.Config) {
		c.ClientID, c.ClientSecret, c.Credentials = auditWriterSP, auditSecret, config.M2mCredentials{}
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	me, err := w.CurrentUser.Me(ctx)
	if err != nil || me.UserName != auditWriterSP {
		t.Fatalf("Me = %+v %v", me, err)
	}
	run := func(stmt string, params ...sql.StatementParameterListItem) *sql.StatementResponse {
		t.Helper()
		r, err := w.StatementExecution.ExecuteStatement(ctx, sql.ExecuteStatementRequest{WarehouseId: DevWarehouseID, Statement: stmt, Parameters: params, WaitTimeout: "30s"})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status.State != sql.StatementStateSucceeded {
			t.Fatalf("%s: %+v", stmt, r.Status.Error)
		}
		return r
	}
	ddl := `CREATE TABLE IF NOT EXISTS main.behalf.audit_events (
  id STRING NOT NULL, seq BIGINT, ts TIMESTAMP, actor STRING, action STRING, prev_hash STRING, hash STRING
) USING DELTA TBLPROPERTIES ('delta.appendOnly' = 'true')`
	run(ddl)
	run(ddl)
	merge := `MERGE INTO main.behalf.audit_events AS t
USING (SELECT :id AS id, :seq AS seq, :ts AS ts, :actor AS actor, :action AS action, :prev AS prev_hash, :hash AS hash) AS s
ON t.id = s.id
WHEN NOT MATCHED THEN INSERT *`
	params := []sql.StatementParameterListItem{{Name: "id", Value: "evt-1"}, {Name: "seq", Type: "BIGINT", Value: "1"}, {Name: "ts", Type: "TIMESTAMP", Value: "2025-11-20T10:00:00Z"},
		{Name: "actor", Value: wendy}, {Name: "action", Value: "genie.query"}, {Name: "prev", Value: "0000"}, {Name: "hash", Value: "abcd"}}
	if r := run(merge, params...); r.Result.DataArray[0][3] != "1" {
		t.Errorf("first merge %v", r.Result.DataArray)
	}
	if r := run(merge, params...); r.Result.DataArray[0][3] != "0" {
		t.Errorf("replayed merge %v", r.Result.DataArray)
	}
	if r := run("SELECT id, seq, ts FROM main.behalf.audit_events"); !slices.Equal(r.Result.DataArray[0], []string{"evt-1", "1", "2025-11-20T10:00:00.000Z"}) {
		t.Errorf("stored %v", r.Result.DataArray)
	}
	// Auditors may read it; sales may not.
	if r := execute(t, v, carl, "SELECT COUNT(*) FROM main.behalf.audit_events", nil); r.Status.State != sql.StatementStateSucceeded || r.Result.DataArray[0][0] != "1" {
		t.Errorf("auditor: %+v", r.Status)
	}
	if r := execute(t, v, wendy, "SELECT COUNT(*) FROM main.behalf.audit_events", nil); r.Status.State != sql.StatementStateFailed {
		t.Errorf("wendy read the audit table")
	}
	// A wrong secret gets no token.
	bad, err := databricks.NewWorkspaceClient(v.sdkConfig(func(c *databricks.Config) {
		c.ClientID, c.ClientSecret, c.Credentials = auditWriterSP, "wrong", config.M2mCredentials{}
		c.RetryTimeoutSeconds = 1
	}))
	if err == nil {
		if _, err = bad.CurrentUser.Me(ctx); err == nil {
			t.Error("a wrong secret worked")
		}
	}
}

// TestTokenFederationThroughSDK uses databricks-sdk-go's own OIDC token
// exchange (the file-oidc strategy, RFC 8693 at /oidc/v1/token):
// service-principal federation maps a partner IdP group to its role
// service principal; user federation maps a subject to a workspace user.
func TestTokenFederationThroughSDK(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	dir := t.TempDir()
	partnerToken := func(groups []string, aud string, exp time.Time) string {
		return v.idp.sign(t, map[string]any{"iss": v.idp.partnerIssuer(), "sub": "paula-subject", "aud": aud, "groups": groups,
			"email": "paula@partner.example", "exp": exp.Unix(), "iat": time.Now().Unix()}, nil, "")
	}
	exchange := func(name, subjectToken, clientID string) (*databricks.WorkspaceClient, error) {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(subjectToken), 0o600); err != nil {
			t.Fatal(err)
		}
		return databricks.NewWorkspaceClient(v.sdkConfig(func(c *databricks.Config) {
			c.Credentials, c.OIDCTokenFilepath, c.ClientID, c.AuthType = config.FileOIDCCredentials{}, path, clientID, "file-oidc"
			c.RetryTimeoutSeconds = 1
		}))
	}
	ctx := t.Context()
	t.Run("service principal federation", func(t *testing.T) {
		w, err := exchange("partner", partnerToken([]string{"partner-analysts"}, "databricks-federation", time.Now().Add(time.Hour)), partnerSP)
		if err != nil {
			t.Fatal(err)
		}
		me, err := w.CurrentUser.Me(ctx)
		if err != nil || me.UserName != partnerSP {
			t.Fatalf("Me = %+v, %v", me, err)
		}
		r, err := w.StatementExecution.ExecuteStatement(ctx, sql.ExecuteStatementRequest{WarehouseId: DevWarehouseID, WaitTimeout: "30s",
			Statement: "SELECT DISTINCT region FROM main.sales.partner_pipeline"})
		if err != nil || r.Status.State != sql.StatementStateSucceeded || len(r.Result.DataArray) != 1 || r.Result.DataArray[0][0] != "WEST" {
			t.Errorf("partner view: %+v %v", r, err)
		}
	})
	t.Run("user federation", func(t *testing.T) {
		tok := v.idp.entraToken(t, eli, func(c map[string]any) { c["aud"] = "databricks-federation" })
		w, err := exchange("user", tok, "")
		if err != nil {
			t.Fatal(err)
		}
		if me, err := w.CurrentUser.Me(ctx); err != nil || me.UserName != eli {
			t.Fatalf("Me = %+v, %v", me, err)
		}
	})
	if c := v.e.Counters(); c.TokenExchanges != 2 {
		t.Errorf("TokenExchanges = %d", c.TokenExchanges)
	}
	for _, tc := range []struct{ name, token, clientID, want string }{
		{"group without a role", partnerToken([]string{"other"}, "databricks-federation", time.Now().Add(time.Hour)), partnerSP, "invalid_grant"},
		{"wrong audience", partnerToken([]string{"partner-analysts"}, "someone-else", time.Now().Add(time.Hour)), partnerSP, "invalid_grant"},
		{"expired", partnerToken([]string{"partner-analysts"}, "databricks-federation", time.Now().Add(-time.Minute)), partnerSP, "invalid_grant"},
		{"partner person as a user", partnerToken([]string{"partner-analysts"}, "databricks-federation", time.Now().Add(time.Hour)), "", "invalid_grant"},
		{"another service principal", partnerToken([]string{"partner-analysts"}, "databricks-federation", time.Now().Add(time.Hour)), auditWriterSP, "invalid_grant"},
		{"not a JWT", "abc", partnerSP, "invalid_grant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"grant_type": {grantTokenExchange}, "subject_token": {tc.token}, "subject_token_type": {"urn:ietf:params:oauth:token-type:jwt"}, "scope": {"all-apis"}}
			if tc.clientID != "" {
				form.Set("client_id", tc.clientID)
			}
			resp, err := (&http.Client{Transport: v.transport()}).PostForm(v.e.URL()+"/oidc/v1/token", form)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct{ Error string }
			_ = jsonDecode(resp, &body)
			if resp.StatusCode != http.StatusBadRequest || body.Error != tc.want {
				t.Errorf("%d %+v", resp.StatusCode, body)
			}
		})
	}
	if c := v.e.Counters(); c.TokenExchanges != 2 {
		t.Errorf("failed exchanges were counted: %d", c.TokenExchanges)
	}
}
