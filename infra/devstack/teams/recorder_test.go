package teams

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	shared "github.com/behalf-dev/behalf/shared/teams"
)

const (
	opID   = "0b6f4d1e-7a55-4c1b-9a7e-3f0c2d9e8b11"
	review = "http://127.0.0.1:7071/api/sql-approve/" + opID
	stmt   = "DELETE FROM main.sales.orders\nWHERE region = 'WEST'\n  AND order_date < '2020-01-01'"
)

func proposal() shared.Card {
	return shared.ProposalCard(shared.Proposal{
		OpID: opID, Proposer: shared.Person{Name: "Alice West", UPN: "alice@contoso.example"},
		Statement: stmt, Class: "write", Risk: "high", Policy: "four-eyes",
		Tables: []string{"main.sales.orders"}, Warehouse: "4b9b953939869799", Catalog: "main", Schema: "sales",
		ExpiresAt: time.Date(2026, 11, 22, 18, 0, 0, 0, time.UTC), ReviewURL: review,
	})
}

func executed() shared.Card {
	n := int64(42)
	return shared.UpdateCard(shared.Update{Kind: shared.UpdateExecuted, OpID: opID, Statement: stmt, RowsAffected: &n, ReviewURL: review})
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// started is a recorder on its own listener.
func started(t *testing.T, cfg RecorderConfig) *Recorder {
	t.Helper()
	cfg.Logger = quiet()
	r, err := NewRecorder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return r
}

type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func notifier(t *testing.T, url string, edit func(*shared.NotifierConfig)) (*shared.Notifier, *sleeps) {
	t.Helper()
	s := &sleeps{}
	cfg := shared.NotifierConfig{WebhookURL: url, MaxAttempts: 4, MinInterval: -1, Logger: quiet(), Sleep: s.sleep}
	if edit != nil {
		edit(&cfg)
	}
	n, err := shared.NewNotifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return n, s
}

func TestRoundTripThroughNotifier(t *testing.T) {
	r := started(t, RecorderConfig{})
	if !strings.Contains(r.URL(), "sig=") || !strings.HasPrefix(r.URL(), "http://127.0.0.1:") || !strings.HasSuffix(r.PageURL(), "/") {
		t.Fatalf("URL %q, page %q", r.URL(), r.PageURL())
	}
	n, _ := notifier(t, r.URL(), nil)
	for _, c := range []shared.Card{proposal(), executed()} {
		if err := n.Post(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	cards := r.Cards()
	if len(cards) != 2 || r.Attempts() != 2 {
		t.Fatalf("%d cards, %d attempts", len(cards), r.Attempts())
	}
	p := cards[0]
	if p.Seq != 1 || p.Version != "1.5" || p.Title != "SQL change awaiting approval" || p.Statement != stmt {
		t.Errorf("proposal card: %+v", p)
	}
	for title, want := range map[string]string{
		"Risk": "high", "Class": "write", "Tables": "main.sales.orders", "Warehouse": "4b9b953939869799",
		"Catalog / schema": "main / sales", "Expires": "2026-11-22 18:00 UTC", "Operation": opID,
	} {
		if got, ok := p.Fact(title); !ok || got != want {
			t.Errorf("fact %q = %q, want %q", title, got, want)
		}
	}
	if len(p.Links) != 1 || p.Links[0] != (Link{"Review", review}) {
		t.Errorf("links = %v", p.Links)
	}
	if !strings.Contains(strings.Join(p.Text, "\n"), "Alice West (alice@contoso.example)") || !strings.Contains(p.FallbackText, opID) {
		t.Errorf("text %q, fallback %q", p.Text, p.FallbackText)
	}
	var got, want any
	posted, _ := json.Marshal(proposal())
	if json.Unmarshal(p.Card, &got) != nil || json.Unmarshal(posted, &want) != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("recorded card JSON differs from the posted one")
	}
	e := cards[1]
	if e.Seq != 2 || e.Title != "SQL change executed" || !strings.Contains(strings.Join(e.Text, " "), "42 rows affected") {
		t.Errorf("update card: %+v", e)
	}
}

func TestFaultsDriveRetries(t *testing.T) {
	r := started(t, RecorderConfig{})

	r.FailNext(2, http.StatusTooManyRequests, 3*time.Second)
	n, s := notifier(t, r.URL(), nil)
	if err := n.Post(context.Background(), proposal()); err != nil {
		t.Fatalf("Post after two 429s: %v", err)
	}
	if r.Attempts() != 3 || len(r.Cards()) != 1 || len(s.d) != 2 || s.d[0] < 3*time.Second || s.d[1] < 3*time.Second {
		t.Errorf("attempts %d, cards %d, sleeps %v", r.Attempts(), len(r.Cards()), s.d)
	}

	r.Reset()
	r.FailNext(10, http.StatusServiceUnavailable, 0)
	n, _ = notifier(t, r.URL(), func(c *shared.NotifierConfig) { c.MaxAttempts = 3 })
	err := n.Post(context.Background(), proposal())
	if !errors.Is(err, shared.ErrWebhookUnavailable) || r.Attempts() != 3 || len(r.Cards()) != 0 {
		t.Errorf("err %v, attempts %d, cards %d", err, r.Attempts(), len(r.Cards()))
	}

	r.Reset()
	r.FailNext(1, http.StatusBadRequest, 0)
	err = n.Post(context.Background(), proposal())
	if !errors.Is(err, shared.ErrWebhookRejected) || r.Attempts() != 1 || strings.Contains(err.Error(), "sig=") {
		t.Errorf("err %v, attempts %d", err, r.Attempts())
	}

	r.Reset()
	r.SetLatency(300 * time.Millisecond)
	n, _ = notifier(t, r.URL(), func(c *shared.NotifierConfig) {
		c.MaxAttempts = 2
		c.HTTPClient = &http.Client{Timeout: 50 * time.Millisecond}
	})
	err = n.Post(context.Background(), proposal())
	if !errors.Is(err, shared.ErrWebhookUnavailable) || r.Attempts() != 2 {
		t.Errorf("slow webhook: err %v, attempts %d", err, r.Attempts())
	}
	r.SetLatency(0)
	if err := n.Post(context.Background(), proposal()); err != nil {
		t.Errorf("after the latency is gone: %v", err)
	}
}

func TestWebhookRefusesBadRequests(t *testing.T) {
	r, err := NewRecorder(RecorderConfig{Signature: "devsig0123456789", Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r)
	defer srv.Close()
	hook := r.WebhookURL(srv.URL)
	good, err := shared.Envelope(proposal())
	if err != nil {
		t.Fatal(err)
	}
	envelope := func(edit func(m map[string]any)) string {
		var m map[string]any
		_ = json.Unmarshal(good, &m)
		edit(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	att := func(m map[string]any) map[string]any { return m["attachments"].([]any)[0].(map[string]any) }
	tests := []struct {
		name, method, url, ctype, body string
		status                         int
	}{
		{"good", "POST", hook, "application/json", string(good), 202},
		{"good with charset", "POST", hook, "application/json; charset=utf-8", string(good), 202},
		{"wrong sig", "POST", strings.Replace(hook, "devsig0123456789", "devsig0123456780", 1), "application/json", string(good), 401},
		{"no sig", "POST", srv.URL + webhookPath + "?api-version=1", "application/json", string(good), 401},
		{"no api-version", "POST", strings.Replace(hook, "api-version=1&", "", 1), "application/json", string(good), 400},
		{"GET", "GET", hook, "", "", 405},
		{"unknown path", "POST", srv.URL + "/other", "application/json", string(good), 404},
		{"text body", "POST", hook, "text/plain", string(good), 415},
		{"not JSON", "POST", hook, "application/json", "{", 400},
		{"trailing data", "POST", hook, "application/json", string(good) + "{}", 400},
		{"not a message", "POST", hook, "application/json", envelope(func(m map[string]any) { m["type"] = "card" }), 400},
		{"no attachments", "POST", hook, "application/json", envelope(func(m map[string]any) { m["attachments"] = []any{} }), 400},
		{"11 attachments", "POST", hook, "application/json", envelope(func(m map[string]any) {
			small := map[string]any{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": nil,
				"content": map[string]any{"type": "AdaptiveCard", "version": "1.5", "body": []any{}}}
			a := []any{}
			for range 11 {
				a = append(a, small)
			}
			m["attachments"] = a
		}), 400},
		{"wrong content type", "POST", hook, "application/json", envelope(func(m map[string]any) { att(m)["contentType"] = "application/json" }), 400},
		{"content URL", "POST", hook, "application/json", envelope(func(m map[string]any) { att(m)["contentUrl"] = "https://x" }), 400},
		{"not a card", "POST", hook, "application/json", envelope(func(m map[string]any) { att(m)["content"] = map[string]any{"type": "HeroCard"} }), 400},
		{"no version", "POST", hook, "application/json", envelope(func(m map[string]any) { delete(att(m)["content"].(map[string]any), "version") }), 400},
		{"too large", "POST", hook, "application/json", envelope(func(m map[string]any) { m["pad"] = strings.Repeat("x", DefaultMaxBodyBytes) }), 413},
	}
	wantCards := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, tt.url, strings.NewReader(tt.body))
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("HTTP %d (%s), want %d", resp.StatusCode, body, tt.status)
			}
			if tt.status == 202 {
				wantCards++
				if len(body) != 0 {
					t.Errorf("202 with a body: %s", body)
				}
			} else if !bytes.Contains(body, []byte(`"error"`)) {
				t.Errorf("error answer without a JSON error: %s", body)
			}
			if got := len(r.Cards()); got != wantCards {
				t.Errorf("%d cards recorded, want %d", got, wantCards)
			}
		})
	}
}

func TestBoundedAndPersisted(t *testing.T) {
	dir := t.TempDir()
	r := started(t, RecorderConfig{MaxCards: 3, DataDir: dir})
	n, _ := notifier(t, r.URL(), nil)
	for range 5 {
		if err := n.Post(context.Background(), proposal()); err != nil {
			t.Fatal(err)
		}
	}
	cards := r.Cards()
	if len(cards) != 3 || cards[0].Seq != 3 || cards[2].Seq != 5 {
		t.Fatalf("kept %d cards: %v", len(cards), seqs(cards))
	}
	path := filepath.Join(dir, JSONLName)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", st.Mode().Perm())
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []RecordedCard
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var c RecordedCard
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("line %q: %v", sc.Bytes(), err)
		}
		lines = append(lines, c)
	}
	if len(lines) != 5 || lines[4].Seq != 5 || lines[4].Title != "SQL change awaiting approval" {
		t.Errorf("file holds %d cards: %v", len(lines), seqs(lines))
	}

	// A full file stops growing; memory keeps working.
	small := t.TempDir()
	r2 := started(t, RecorderConfig{DataDir: small, MaxFileBytes: 100})
	n2, _ := notifier(t, r2.URL(), nil)
	if err := n2.Post(context.Background(), proposal()); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(small, JSONLName)); len(b) != 0 || len(r2.Cards()) != 1 {
		t.Errorf("file %d bytes, %d cards", len(b), len(r2.Cards()))
	}
}

func seqs(cs []RecordedCard) []int {
	var out []int
	for _, c := range cs {
		out = append(out, c.Seq)
	}
	return out
}

func TestPage(t *testing.T) {
	r := started(t, RecorderConfig{MaxCards: 2})
	n, _ := notifier(t, r.URL(), nil)
	hostile := shared.ProposalCard(shared.Proposal{
		OpID: opID, Proposer: shared.Person{Name: "<script>alert(1)</script>"}, Statement: "DELETE FROM t -- </pre><img src=x onerror=alert(1)>",
		Class: "write", Risk: "low", Policy: "self", ExpiresAt: time.Now(), ReviewURL: review,
	})
	for _, c := range []shared.Card{proposal(), executed(), hostile} {
		if err := n.Post(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	// A card posted by something other than behalf, with a script link.
	raw := `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","contentUrl":null,"content":` +
		`{"type":"AdaptiveCard","version":"1.5","body":[{"type":"TextBlock","text":"other"}],"actions":[{"type":"Action.OpenUrl","title":"x","url":"javascript:alert(1)"}]}}]}`
	resp, err := http.Post(r.URL(), "application/json", strings.NewReader(raw))
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("raw post: %v %v", err, resp)
	}
	resp.Body.Close()

	resp, err = http.Get(r.PageURL())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP = %q", csp)
	}
	html := string(page)
	for _, want := range []string{
		"SQL change awaiting approval", "&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;/pre&gt;&lt;img src=x onerror=alert(1)&gt;",
		`href="#ZgotmplZ"`, "2 older one(s) no longer kept", "other",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{"<script>alert", "<img src=x", `href="javascript:`, "sig="} {
		if strings.Contains(html, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	if strings.Index(html, "other") > strings.Index(html, "&lt;script&gt;") {
		t.Error("cards are not newest first")
	}

	resp, err = http.Get(strings.TrimSuffix(r.PageURL(), "/") + "/cards.json")
	if err != nil {
		t.Fatal(err)
	}
	var cards []RecordedCard
	if err := json.NewDecoder(resp.Body).Decode(&cards); err != nil || len(cards) != 2 || cards[1].Title != "other" {
		t.Errorf("cards.json: %v, %d cards", err, len(cards))
	}
	resp.Body.Close()
}

func TestRecorderConfig(t *testing.T) {
	for _, cfg := range []RecorderConfig{{MaxCards: -1}, {MaxCards: 1 << 20}, {MaxBodyBytes: -1}} {
		if _, err := NewRecorder(cfg); err == nil {
			t.Errorf("accepted %+v", cfg)
		}
	}
	r, err := NewRecorder(RecorderConfig{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if r.URL() != "" || r.PageURL() != "" {
		t.Error("URL before Start")
	}
	if err := r.Close(context.Background()); err != nil {
		t.Errorf("Close before Start: %v", err)
	}
	a, _ := NewRecorder(RecorderConfig{Logger: quiet()})
	if a.WebhookURL("http://x") == r.WebhookURL("http://x") {
		t.Error("two recorders share a signature")
	}
}
