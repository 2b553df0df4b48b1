package devca

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
)

func TestServerTrustedOnlyThroughCA(t *testing.T) {
	dir := t.TempDir()
	ca, err := New(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	if srv.TLS, err = ca.ServerTLS(); err != nil {
		t.Fatal(err)
	}
	srv.StartTLS()
	defer srv.Close()

	resp, err := ca.HTTPClient().Get(srv.URL)
	if err != nil {
		t.Fatalf("client trusting the CA: %v", err)
	}
	resp.Body.Close()
	if _, err := http.Get(srv.URL); err == nil {
		t.Fatal("a client without the CA trusted the dev certificate")
	}

	again, err := New(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if string(again.CertPEM()) != string(ca.CertPEM()) {
		t.Fatal("CA in an existing folder was not reused")
	}
	if err := ca.WriteCertPEM(filepath.Join(dir, "out", "ca.pem")); err != nil {
		t.Fatal(err)
	}
}
