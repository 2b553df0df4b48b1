//go:build devstack

package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go"
	"golang.org/x/net/html"

	"github.com/behalf-dev/behalf/infra/devstack/directory"
	"github.com/behalf-dev/behalf/infra/devstack/stack"
	"github.com/behalf-dev/behalf/shared/workspace"
)

// The demo people and apps the end-to-end tests act as.
const (
	wendyWest    = "wendy.west@contoso.example"
	eliEast      = "eli.east@contoso.example"
	fionaFinance = "fiona.finance@contoso.example"
	aprilApprove = "april.approver@contoso.example"
	ninaNoGrants = "nina.nogrants@contoso.example"
	carlAuditor  = "carl.compliance@contoso.example"
	markMFA      = "mark.mfa@contoso.example"

	agentApp = "e0000000-0000-4000-8000-0000000000a1" // allow-listed agent backend
	rogueApp = "e0000000-0000-4000-8000-0000000000a2" // not allow-listed
)

// devStack is `behalf dev` running in this test process, on free ports.
type devStack struct {
	t       testing.TB
	r       *stack.Running
	out     *syncBuffer
	stop    func()
	http    *http.Client
	behalf  string // behalf's client id
	dataDir string
	roots   *x509.CertPool // trusts the dev CA
}

// startDevStack runs the whole product offline, exactly as make run does
// (but on free ports and a fresh data folder), until the test ends.
func startDevStack(t testing.TB, settings map[string]string) *devStack {
	t.Helper()
	return launchDevStack(t, settings, "127.0.0.1:0")
}

// launchDevStack is startDevStack with the Entra emulator on entraAddr,
// for settings that must name the emulator's URLs (the partner issuer)
// before it starts.
func launchDevStack(t testing.TB, settings map[string]string, entraAddr string) *devStack {
	t.Helper()
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *stack.Running, 1)
	done := make(chan error, 1)
	dir := t.TempDir()
	opts := devOptions(stack.Options{
		Addr: "127.0.0.1:0", DataDir: dir, Stdout: out, DatabricksAddr: "127.0.0.1:0", EntraAddr: entraAddr, TeamsAddr: "127.0.0.1:0",
		Lookup: func(name string) (string, bool) { v, ok := settings[name]; return v, ok },
		Ready:  func(r *stack.Running) { ready <- r },
	}, out)
	go func() { done <- stack.Run(ctx, opts) }()
	var r *stack.Running
	select {
	case r = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("behalf dev did not start: %v\n%s", err, out)
	case <-time.After(90 * time.Second):
		cancel()
		t.Fatalf("behalf dev did not start in time:\n%s", out)
	}
	s := &devStack{t: t, r: r, out: out, dataDir: dir}
	s.stop = sync.OnceFunc(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("behalf dev stopped with %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Error("behalf dev did not stop")
		}
	})
	t.Cleanup(s.stop)
	app, _ := directory.Demo().AppNamed("behalf")
	s.behalf = app.ClientID
	pem, err := os.ReadFile(filepath.Join(r.DataDir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	s.roots = roots
	s.http = &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return s
}

// token is a person's token for behalf's API, as the allow-listed agent
// backend holds it.
func (s *devStack) token(upn string) string {
	s.t.Helper()
	return s.tokenVia(upn, agentApp)
}

func (s *devStack) tokenVia(upn, clientApp string) string {
	s.t.Helper()
	tok, err := s.r.Entra.UserAccessToken(upn, s.behalf, clientApp)
	if err != nil {
		s.t.Fatalf("token for %s: %v", upn, err)
	}
	return tok
}

// response is an HTTP answer with its JSON body decoded.
type response struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any
}

func (r *response) errorCode() string {
	if e, ok := r.JSON["error"].(map[string]any); ok {
		c, _ := e["code"].(string)
		return c
	}
	return ""
}

// call sends a JSON request to behalf with a bearer token (none if "").
func (s *devStack) call(method, path, token string, body any) *response {
	s.t.Helper()
	return s.callWith(s.http, method, path, token, body, nil)
}

func (s *devStack) callWith(c *http.Client, method, path, token string, body any, header http.Header) *response {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.r.AppURL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := c.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out := &response{Status: resp.StatusCode, Header: resp.Header}
	out.Body, _ = io.ReadAll(resp.Body)
	_ = json.Unmarshal(out.Body, &out.JSON)
	return out
}

// browser signs a person in through /api/auth/login the way a browser
// does — following redirects to the Entra emulator's sign-in page, picking
// the person there, and back through /api/auth/callback — and returns a
// client holding the session cookie, with the session's CSRF token.
func (s *devStack) browser(upn string) (*http.Client, string) {
	s.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: time.Minute, Transport: s.http.Transport}
	resp, err := c.Get(s.r.AppURL + "/api/auth/login?login_hint=" + url.QueryEscape(upn))
	if err != nil {
		s.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("sign-in page: %d %s", resp.StatusCode, page)
	}
	action, fields, oid := signInForm(s.t, page, upn)
	form := url.Values{}
	for k, v := range fields {
		form.Set(k, v)
	}
	form.Set("person", oid)
	target, err := resp.Request.URL.Parse(action)
	if err != nil {
		s.t.Fatal(err)
	}
	post, err := c.PostForm(target.String(), form)
	if err != nil {
		s.t.Fatal(err)
	}
	body, _ := io.ReadAll(post.Body)
	post.Body.Close()
	var me struct {
		UPN  string `json:"upn"`
		CSRF string `json:"csrf_token"`
	}
	if post.StatusCode != http.StatusOK || json.Unmarshal(body, &me) != nil || !strings.EqualFold(me.UPN, upn) {
		s.t.Fatalf("sign-in of %s ended at %s with %d: %s", upn, post.Request.URL, post.StatusCode, body)
	}
	return c, me.CSRF
}

// signInForm reads the Entra emulator's sign-in page: the form's action,
// its hidden fields, and the button value (object id) of upn.
func signInForm(t testing.TB, page []byte, upn string) (string, map[string]string, string) {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var action, oid string
	fields := map[string]string{}
	attr := func(n *html.Node, k string) string {
		for _, a := range n.Attr {
			if a.Key == k {
				return a.Val
			}
		}
		return ""
	}
	var text func(*html.Node) string
	text = func(n *html.Node) string {
		if n.Type == html.TextNode {
			return n.Data
		}
		var b strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			b.WriteString(text(c) + " ")
		}
		return b.String()
	}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				if action == "" {
					action = attr(n, "action")
				}
			case "input":
				if attr(n, "type") == "hidden" {
					fields[attr(n, "name")] = attr(n, "value")
				}
			case "button":
				if strings.Contains(strings.ToLower(text(n)), strings.ToLower(upn)) {
					oid = attr(n, "value")
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if action == "" || oid == "" {
		t.Fatalf("the sign-in page has no form for %s:\n%s", upn, page)
	}
	return action, fields, oid
}

// workspace is a databricks-sdk-go client for the workspace emulator built
// the way behalf builds its per-request clients (shared/workspace): it can
// use token and nothing else from the environment.
func (s *devStack) workspace(token string) *databricks.WorkspaceClient {
	s.t.Helper()
	f, err := workspace.NewFactory(workspace.Config{Host: s.r.Databricks.URL(), RootCAs: s.roots})
	if err != nil {
		s.t.Fatal(err)
	}
	w, err := f.ForToken(token)
	if err != nil {
		s.t.Fatal(err)
	}
	return w
}

// leaked returns the secrets (tokens, cookies) that appear anywhere in the
// stack's log output, whole or by their signature part, so a truncated
// token still counts.
func (s *devStack) leaked(secrets ...string) []string {
	logs := s.out.String()
	var out []string
	for _, sec := range secrets {
		if sec == "" {
			continue
		}
		probe := []string{sec}
		if parts := strings.Split(sec, "."); len(parts) == 3 && len(parts[2]) >= 16 {
			probe = append(probe, parts[2])
		}
		for _, p := range probe {
			if strings.Contains(logs, p) {
				out = append(out, clip(sec))
				break
			}
		}
	}
	return out
}

// clip shortens a secret for a failure message.
func clip(s string) string {
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return s
}
