package audit

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeBatchSeparatesInvalidEvents(t *testing.T) {
	good, _ := Canonical(examples()["genie_ask"])
	body := `{"v":1,"events":[` + string(good) + `,{"v":1,"id":"0195a0c4-0000-7000-8000-0000000000ff","status":"done"},{"id":"Bearer abcdefghijklmnop"},"text"]}`
	d, err := DecodeBatch([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Events) != 1 || len(d.Invalid) != 3 {
		t.Fatalf("decoded %d good, %d invalid", len(d.Events), len(d.Invalid))
	}
	if d.Invalid[0].Index != 1 || d.Invalid[0].ID != "0195a0c4-0000-7000-8000-0000000000ff" || d.Invalid[1].ID != "" || d.Invalid[2].Index != 3 {
		t.Fatalf("invalid %+v", d.Invalid)
	}
	for _, inv := range d.Invalid {
		if strings.Contains(inv.Reason, "abcdefghijklmnop") {
			t.Fatalf("reason echoes the value: %q", inv.Reason)
		}
	}
}

func TestDecodeBatchRefusesWhatIsNotABatch(t *testing.T) {
	good, _ := Canonical(examples()["genie_ask"])
	for name, body := range map[string]string{
		"empty":         ``,
		"not json":      `hello`,
		"wrong version": `{"v":2,"events":[` + string(good) + `]}`,
		"no events":     `{"v":1,"events":[]}`,
		"unknown field": `{"v":1,"events":[` + string(good) + `],"token":"x"}`,
		"trailing":      `{"v":1,"events":[` + string(good) + `]} {}`,
		"too many":      `{"v":1,"events":[` + strings.Repeat(string(good)+",", MaxBatch) + string(good) + `]}`,
	} {
		if _, err := DecodeBatch([]byte(body)); !errors.Is(err, ErrInvalidBatch) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := EncodeBatch(nil); !errors.Is(err, ErrInvalidBatch) {
		t.Errorf("empty batch encoded: %v", err)
	}
}

func TestScanJSONFindsTokensAnywhere(t *testing.T) {
	doc := `{"records":[{"event":{"actor":{"upn":"ok@x.example"}}},{"note":"Authorization: Bearer abc.def.ghijklmnop"}],
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln":1,"k":"https://x.webhook.office.com/webhookb2/abc","sas":"https://a.blob.core.windows.net/c?sv=1&sig=AbCdEfGhIjKlMnOpQrSt%3D"}`
	fs, err := ScanJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]bool{}
	for _, f := range fs {
		paths[f.Path] = true
	}
	for _, want := range []string{"records[1].note", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln (key)", "k", "sas"} {
		if !paths[want] {
			t.Errorf("no finding at %s (got %v)", want, fs)
		}
	}
	if len(fs) != 4 {
		t.Errorf("findings %v", fs)
	}
	if _, err := ScanJSON([]byte(`{`)); err == nil {
		t.Error("malformed JSON scanned")
	}
	recs := chainOf(t, 2)
	if err := ScanRecords(recs); err != nil {
		t.Fatal(err)
	}
}
