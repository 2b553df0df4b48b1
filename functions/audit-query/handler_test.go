package auditquery

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/behalf-dev/behalf/shared/audit"
	"github.com/behalf-dev/behalf/shared/audit/audittest"
	"github.com/behalf-dev/behalf/shared/audit/sqlitestore"
	"github.com/behalf-dev/behalf/shared/funchost"
	"github.com/behalf-dev/behalf/shared/httpapi"
	"github.com/behalf-dev/behalf/shared/identity"
	"github.com/behalf-dev/behalf/shared/webauth"
)

// fakeDeps authenticates by the X-Test-User header: "carl" is an auditor,
// "wendy" is not, anything else is refused.
type fakeDeps struct{}

func (fakeDeps) Authenticate(_ http.ResponseWriter, r *http.Request) (*webauth.Caller, error) {
	switch r.Header.Get("X-Test-User") {
	case "carl":
		return &webauth.Caller{Principal: &identity.Principal{OID: "b0000000-0000-4000-8000-000000000008", UPN: "carl.compliance@contoso.example", Roles: []string{"auditor"}}}, nil
	case "wendy":
		return &webauth.Caller{Principal: &identity.Principal{OID: "b0000000-0000-4000-8000-000000000001", UPN: "wendy.west@contoso.example", Roles: []string{"approver"}}}, nil
	}
	return nil, httpapi.Errorf(http.StatusUnauthorized, httpapi.CodeUnauthenticated, "send a token")
}

type fakeTrail struct {
	mu     sync.Mutex
	events []audit.Event
	admit  error
	emit   error
}

func (f *fakeTrail) Admit(audit.Kind) error { return f.admit }
func (f *fakeTrail) Emit(_ context.Context, ev audit.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.emit != nil {
		return f.emit
	}
	f.events = append(f.events, ev)
	return nil
}

func setup(t *testing.T) (http.Handler, *fakeTrail) {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), sqlitestore.Config{Path: filepath.Join(t.TempDir(), "audit.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Append(context.Background(), audittest.Events(0, 30)); err != nil {
		t.Fatal(err)
	}
	trail := &fakeTrail{}
	app := &funchost.App{}
	app.AddHTTP(Function(Config{Deps: fakeDeps{}, Store: s, Trail: trail}))
	h, err := app.Handler(httpapi.Limits{MaxBodyBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return h, trail
}

func get(t *testing.T, h http.Handler, user, query string) (*httptest.ResponseRecorder, Answer, httpapi.Body) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/api/audit?"+query, nil)
	if user != "" {
		req.Header.Set("X-Test-User", user)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var ans Answer
	var body httpapi.Body
	if rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil {
			t.Fatal(err)
		}
	} else if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("%d: %s", rec.Code, rec.Body)
	}
	return rec, ans, body
}

func TestAuditorsPageThroughTheTrail(t *testing.T) {
	h, trail := setup(t)
	var seqs []int64
	token := ""
	for pages := 0; ; pages++ {
		q := url.Values{"limit": {"7"}, "actor": {"wendy.west@contoso.example"}}
		if token != "" {
			q.Set("page_token", token)
		}
		rec, ans, _ := get(t, h, "carl", q.Encode())
		if rec.Code != http.StatusOK || ans.RequestID == "" {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		for _, raw := range ans.Records {
			var r audit.Record
			if err := json.Unmarshal(raw, &r); err != nil {
				t.Fatal(err)
			}
			if r.Event.Actor.UPN != "wendy.west@contoso.example" || audit.ChainHash(r.Seq, r.PrevHash, r.EventJSON) != r.Hash {
				t.Fatalf("record %+v", r)
			}
			seqs = append(seqs, r.Seq)
		}
		if fs, _ := audit.ScanJSON(rec.Body.Bytes()); len(fs) != 0 {
			t.Fatalf("credential-shaped text in the answer: %v", fs)
		}
		if token = ans.NextPageToken; token == "" {
			break
		}
	}
	if len(seqs) != 10 || !slices.IsSortedFunc(seqs, func(a, b int64) int { return int(b - a) }) {
		t.Fatalf("seqs %v", seqs)
	}
	trail.mu.Lock()
	events := slices.Clone(trail.events)
	trail.mu.Unlock()
	if len(events) != 2 || events[0].Status != audit.StatusSuccess || events[0].Action != "audit.query" ||
		events[0].Actor.UPN != "carl.compliance@contoso.example" || *events[0].Rows != 7 {
		t.Fatalf("query events %+v", events)
	}
	// Time and status filters.
	from := audittest.Base.Add(10 * time.Minute).Format(time.RFC3339)
	to := audittest.Base.Add(20 * time.Minute).Format(time.RFC3339)
	rec, ans, _ := get(t, h, "carl", "from="+from+"&to="+to+"&status=access_denied")
	if rec.Code != http.StatusOK || len(ans.Records) != 2 {
		t.Fatalf("filtered: %d %d records", rec.Code, len(ans.Records))
	}
}

func TestOnlyAuditorsMayRead(t *testing.T) {
	h, trail := setup(t)
	if rec, _, body := get(t, h, "wendy", ""); rec.Code != http.StatusForbidden || body.Error.Code != httpapi.CodePermissionDenied {
		t.Fatalf("non-auditor: %d %+v", rec.Code, body)
	}
	if rec, _, _ := get(t, h, "", ""); rec.Code != http.StatusUnauthorized {
		t.Fatalf("anonymous: %d", rec.Code)
	}
	trail.mu.Lock()
	defer trail.mu.Unlock()
	if len(trail.events) != 1 || trail.events[0].Status != audit.StatusAccessDenied || trail.events[0].Actor.UPN != "wendy.west@contoso.example" {
		t.Fatalf("events %+v", trail.events)
	}
	req := httptest.NewRequest(http.MethodPost, "/api/audit", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", rec.Code)
	}
}

func TestBadParametersAre400(t *testing.T) {
	h, _ := setup(t)
	_, first, _ := get(t, h, "carl", "limit=2")
	for name, q := range map[string]string{
		"unknown parameter":   "user=x",
		"repeated parameter":  "status=success&status=error",
		"bad time":            "from=yesterday",
		"limit zero":          "limit=0",
		"limit too large":     "limit=1000",
		"unknown status":      "status=done",
		"from after to":       "from=2025-03-02T00:00:00Z&to=2025-03-01T00:00:00Z",
		"token of other page": "status=success&page_token=" + first.NextPageToken,
		"garbage token":       "page_token=%21%21",
	} {
		if rec, _, body := get(t, h, "carl", q); rec.Code != http.StatusBadRequest || body.Error.Code != httpapi.CodeBadRequest {
			t.Errorf("%s: %d %+v", name, rec.Code, body)
		}
	}
}

type downStore struct{}

func (downStore) Query(context.Context, audit.Query) (*audit.Page, error) {
	return nil, audit.ErrStoreUnavailable
}

func TestFailsClosed(t *testing.T) {
	h, trail := setup(t)
	trail.admit = audit.ErrUnavailable
	if rec, _, body := get(t, h, "carl", ""); rec.Code != http.StatusServiceUnavailable || body.Error.Code != httpapi.CodeUnavailable {
		t.Fatalf("trail not admitting: %d %+v", rec.Code, body)
	}
	trail.admit = nil
	trail.emit = audit.ErrBufferFull
	if rec, _, _ := get(t, h, "carl", ""); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("unaudited read served: %d", rec.Code)
	}
	app := &funchost.App{}
	app.AddHTTP(Function(Config{Deps: fakeDeps{}, Store: downStore{}}))
	hd, _ := app.Handler(httpapi.Limits{})
	if rec, _, body := get(t, hd, "carl", ""); rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("store down: %d %+v", rec.Code, body)
	}
	app2 := &funchost.App{}
	app2.AddHTTP(Function(Config{}))
	hn, _ := app2.Handler(httpapi.Limits{})
	if rec, _, _ := get(t, hn, "carl", ""); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("unconfigured: %d", rec.Code)
	}
}

func TestFunctionJSONMatches(t *testing.T) {
	fjs, err := funchost.LoadFunctions(os.DirFS(".."))
	if err != nil {
		t.Fatal(err)
	}
	fj := fjs[Name]
	trig, err := fj.Trigger()
	f := Function(Config{})
	if err != nil || !fj.IsHTTP() || trig.Route != f.Route || len(fj.Bindings) != 2 || !slices.Equal(trig.Methods, []string{"get"}) {
		t.Fatalf("function.json %+v %v", fj, err)
	}
}
