package databricks

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

var (
	reStatementID = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	reGenieID     = regexp.MustCompile(`01f0[0-9a-f]{28}`)
	reTimestamp   = regexp.MustCompile(`"(created_timestamp|last_updated_timestamp)": \d+`)
	reRequestID   = regexp.MustCompile(`"request_id": "[0-9a-f]+"`)
)

// normalize replaces what changes from run to run (ids, timestamps, the
// port) so payloads can be compared with golden files.
func normalize(t *testing.T, v *env, body []byte) []byte {
	t.Helper()
	var x any
	if err := json.Unmarshal(body, &x); err != nil {
		t.Fatalf("not JSON: %s", body)
	}
	out, _ := json.MarshalIndent(x, "", "  ")
	ids := map[string]string{}
	rename := func(prefix string) func(string) string {
		return func(s string) string {
			if _, ok := ids[s]; !ok {
				ids[s] = prefix + "-" + string(rune('A'+len(ids)))
			}
			return ids[s]
		}
	}
	out = reStatementID.ReplaceAllFunc(out, func(b []byte) []byte { return []byte(rename("statement")(string(b))) })
	out = reGenieID.ReplaceAllFunc(out, func(b []byte) []byte { return []byte(rename("id")(string(b))) })
	out = reTimestamp.ReplaceAll(out, []byte(`"$1": 0`))
	out = reRequestID.ReplaceAll(out, []byte(`"request_id": "REQUEST"`))
	out = bytes.ReplaceAll(out, []byte(v.e.URL()), []byte("https://WORKSPACE"))
	return append(out, '\n')
}

func golden(t *testing.T, v *env, name string, status int, resp *http.Response, body []byte) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s: HTTP %d: %s", name, resp.StatusCode, body)
	}
	got := normalize(t, v, body)
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s:\n%s", name, path, got)
	}
}

func (v *env) rawBytes(t *testing.T, method, path, token string, body any) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader = strings.NewReader("")
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, v.e.URL()+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Transport: v.transport(), Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// TestGoldenPayloads pins the wire format of the main responses.
func TestGoldenPayloads(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	fiona, wendy := v.idp.entraToken(t, fiona, nil), v.idp.entraToken(t, wendy, nil)
	exec := func(tok, stmt string) (*http.Response, []byte) {
		return v.rawBytes(t, "POST", "/api/2.0/sql/statements", tok, map[string]any{"warehouse_id": DevWarehouseID, "statement": stmt, "wait_timeout": "30s"})
	}
	resp, body := exec(fiona, "SELECT region, COUNT(*) AS deals, ROUND(SUM(amount), 2) AS revenue, MAX(close_date) AS last_close, AVG(margin_pct) > 0 AS has_margin FROM main.sales.deals GROUP BY region ORDER BY region")
	golden(t, v, "statement_succeeded", http.StatusOK, resp, body)
	resp, body = exec(wendy, "SELECT deal_id, region, amount, margin_pct, close_date FROM main.sales.deals ORDER BY deal_id LIMIT 2")
	golden(t, v, "statement_masked", http.StatusOK, resp, body)
	resp, body = exec(wendy, "SELECT * FROM main.finance.forecasts")
	golden(t, v, "statement_failed_permission", http.StatusOK, resp, body)
	resp, body = exec(wendy, "UPDATE main.sales.deals SET stage = stage WHERE deal_id = 'D-00001'")
	golden(t, v, "statement_update", http.StatusOK, resp, body)
	resp, body = v.rawBytes(t, "POST", "/api/2.0/sql/statements", v.idp.entraToken(t, nina, nil), map[string]any{"warehouse_id": DevWarehouseID, "statement": "SELECT 1"})
	golden(t, v, "error_warehouse_permission", http.StatusForbidden, resp, body)
	resp, body = v.rawBytes(t, "GET", "/api/2.0/preview/scim/v2/Me", v.idp.entraToken(t, fiona, func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }), nil)
	golden(t, v, "error_expired_token", http.StatusUnauthorized, resp, body)
	resp, body = v.rawBytes(t, "GET", "/api/2.0/preview/scim/v2/Me", wendy, nil)
	golden(t, v, "scim_me", http.StatusOK, resp, body)

	var start struct {
		ConversationID string `json:"conversation_id"`
		MessageID      string `json:"message_id"`
	}
	resp, body = v.rawBytes(t, "POST", "/api/2.0/genie/spaces/"+SalesSpaceID+"/start-conversation", wendy, map[string]string{"content": "What is the revenue by region?"})
	golden(t, v, "genie_start", http.StatusOK, resp, body)
	_ = json.Unmarshal(body, &start)
	w := v.client(t, wendy)
	pollMessage(t, w, SalesSpaceID, start.ConversationID, start.MessageID)
	resp, body = v.rawBytes(t, "GET", "/api/2.0/genie/spaces/"+SalesSpaceID+"/conversations/"+start.ConversationID+"/messages/"+start.MessageID, wendy, nil)
	golden(t, v, "genie_message_completed", http.StatusOK, resp, body)
	resp, body = v.rawBytes(t, "GET", "/api/2.0/genie/spaces/"+SalesSpaceID+"/conversations/"+start.ConversationID+"/messages/"+start.MessageID+"/query-result", wendy, nil)
	golden(t, v, "genie_query_result", http.StatusOK, resp, body)
	resp, body = v.rawBytes(t, "GET", "/oidc/.well-known/oauth-authorization-server", "", nil)
	golden(t, v, "oauth_discovery", http.StatusOK, resp, body)
}
