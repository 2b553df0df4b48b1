package entra

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// TestDevToken: the curl-friendly dev endpoint mints a person's token for
// an API that behalf's own validator accepts, and refuses unknown people.
func TestDevToken(t *testing.T) {
	v := newEnv(t, nil)
	resp, err := v.http.PostForm(v.authority()+"/dev/token", url.Values{"username": {"wendy.west@contoso.example"},
		"client_id": {"e0000000-0000-4000-8000-0000000000a1"}, "resource": {"e0000000-0000-4000-8000-0000000000b1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&body) != nil || strings.Count(body.AccessToken, ".") != 2 {
		t.Fatalf("dev token: %d", resp.StatusCode)
	}
	bad, err := v.http.PostForm(v.authority()+"/dev/token", url.Values{"username": {"nobody@contoso.example"},
		"client_id": {"e0000000-0000-4000-8000-0000000000a1"}, "resource": {"e0000000-0000-4000-8000-0000000000b1"}})
	if err != nil {
		t.Fatal(err)
	}
	bad.Body.Close()
	if bad.StatusCode != 400 {
		t.Fatalf("unknown person: %d", bad.StatusCode)
	}
}
