package session

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func key(id string, b byte) Key { return Key{ID: id, Secret: bytes.Repeat([]byte{b}, 32)} }

func request(cookies []*http.Cookie) *http.Request {
	r := httptest.NewRequest("GET", "/api/auth/me", nil)
	for _, c := range cookies {
		if c.MaxAge >= 0 {
			r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	return r
}

func sample(size int) *Data {
	now := time.Now()
	return &Data{AccessToken: strings.Repeat("a", size), MSALCache: []byte(`{}`), ExpiresAt: now.Add(time.Hour), OID: "oid", UPN: "wendy@contoso", CSRF: NewCSRFToken(), IssuedAt: now}
}

func TestSealOpenRoundTripAndChunking(t *testing.T) {
	c, err := New(Config{Keys: []Key{key("k1", 1)}, Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{100, 2500, 9000} {
		d := sample(size)
		cookies, err := c.Seal(d)
		if err != nil {
			t.Fatal(err)
		}
		used := 0
		for _, ck := range cookies {
			if ck.MaxAge > 0 {
				used++
				if len(ck.Value) > 3900 {
					t.Fatalf("chunk of %d bytes", len(ck.Value))
				}
			}
			if !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteLaxMode {
				t.Fatalf("cookie attributes %+v", ck)
			}
		}
		if size == 9000 && used < 3 {
			t.Fatalf("a 9000-byte session used %d cookies", used)
		}
		got, err := c.Open(request(cookies))
		if err != nil {
			t.Fatal(err)
		}
		if got.AccessToken != d.AccessToken || got.CSRF != d.CSRF {
			t.Fatal("round trip changed the data")
		}
		if strings.Contains(cookies[0].Value, "aaaaaaaaaa") {
			t.Fatal("cookie is not encrypted")
		}
	}
}

func TestTamperAndRotation(t *testing.T) {
	old, _ := New(Config{Keys: []Key{key("k1", 1)}})
	rotated, _ := New(Config{Keys: []Key{key("k2", 2), key("k1", 1)}})
	retired, _ := New(Config{Keys: []Key{key("k2", 2)}})
	otherName, _ := New(Config{Keys: []Key{key("k1", 1)}, Name: "other"})
	cookies, _ := old.Seal(sample(50))
	if _, err := rotated.Open(request(cookies)); err != nil {
		t.Fatalf("rotated codec cannot read the previous key's cookie: %v", err)
	}
	if _, err := retired.Open(request(cookies)); err != ErrNoSession {
		t.Fatal("retired key still opens sessions")
	}
	renamed := []*http.Cookie{{Name: "other", Value: cookies[0].Value}}
	if _, err := otherName.Open(request(renamed)); err != ErrNoSession {
		t.Fatal("cookie value accepted under another name")
	}
	v := []byte(cookies[0].Value)
	v[len(v)-5] ^= 1
	tampered := []*http.Cookie{{Name: cookies[0].Name, Value: string(v)}}
	if _, err := old.Open(request(tampered)); err != ErrNoSession {
		t.Fatal("tampered cookie accepted")
	}
	if _, err := old.Open(httptest.NewRequest("GET", "/", nil)); err != ErrNoSession {
		t.Fatal("no cookie gave a session")
	}
}

func TestMaxAgeBoundsSession(t *testing.T) {
	now := time.Now()
	c, _ := New(Config{Keys: []Key{key("k1", 1)}, MaxAge: time.Hour, Now: func() time.Time { return now }})
	d := sample(10)
	d.IssuedAt = now.Add(-2 * time.Hour)
	cookies, _ := c.Seal(d)
	if _, err := c.Open(request(cookies)); err != ErrNoSession {
		t.Fatal("session older than MaxAge accepted")
	}
}

func TestCSRF(t *testing.T) {
	d := &Data{CSRF: "abc"}
	if !CheckCSRF(d, "abc") || CheckCSRF(d, "abd") || CheckCSRF(d, "") || CheckCSRF(&Data{}, "") {
		t.Fatal("CSRF comparison wrong")
	}
}

func TestParseKeys(t *testing.T) {
	k2 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	k1 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32))
	keys, err := ParseKeys("k2:" + k2 + ", k1:" + k1)
	if err != nil || len(keys) != 2 || keys[0].ID != "k2" {
		t.Fatalf("%v %v", keys, err)
	}
	if _, err := New(Config{Keys: keys}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "nocolon", "k:!!!"} {
		if _, err := ParseKeys(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestSealValue(t *testing.T) {
	c, _ := New(Config{Keys: []Key{key("k1", 1)}})
	type state struct{ S string }
	ck, err := c.SealValue("behalf_login", state{"xyz"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var got state
	if err := c.OpenValue(request([]*http.Cookie{ck}), "behalf_login", &got); err != nil || got.S != "xyz" {
		t.Fatalf("%v %+v", err, got)
	}
	if err := c.OpenValue(request([]*http.Cookie{{Name: "behalf_session", Value: ck.Value}}), "behalf_session", &got); err != ErrNoSession {
		t.Fatal("value accepted under another cookie name")
	}
}
