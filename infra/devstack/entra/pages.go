package entra

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
)

// signInView is what the sign-in page shows.
type signInView struct {
	Tenant, TenantID, App, Resource, Scopes string
	// Request is the pending sign-in the form belongs to; Action is where
	// it posts.
	Request, Action, Prompt string
	People                  []personView
}

type personView struct {
	OID, Name, UPN, Role string
	// Hinted is the login_hint's person; MFA marks a dev second factor.
	Hinted, MFA bool
}

// The page is deliberately plain: one form, one button per person (name
// "person", value the object id), the pending request in a hidden field.
// Tests and people pick someone the same way.
var signInPage = template.Must(template.New("signin").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · {{.Tenant}} (behalf dev)</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.4rem} .note{color:#555;font-size:.9rem}
button{display:block;width:100%;text-align:left;margin:.4rem 0;padding:.6rem .8rem;border:1px solid #bbb;border-radius:6px;background:#fff;cursor:pointer;font:inherit}
button:hover,button.hinted{border-color:#0067b8;background:#f3f8fd} small{display:block;color:#555}
</style></head>
<body>
<h1>Sign in to {{.App}}</h1>
<p class="note">{{.Tenant}} · offline Entra ID emulator of the behalf dev stack. Pick a demo person: there is no password{{if .Prompt}} (prompt={{.Prompt}}){{end}}.</p>
<p class="note">{{.App}} asks for {{.Resource}}: <code>{{.Scopes}}</code></p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="request" value="{{.Request}}">
{{range .People}}<button type="submit" name="person" value="{{.OID}}"{{if .Hinted}} class="hinted" autofocus{{end}}>{{.Name}}{{if .Hinted}} (suggested){{end}}
<small>{{.UPN}} · {{.Role}}{{if .MFA}} · multi-factor authentication (approved automatically in dev){{end}}</small></button>
{{end}}</form>
</body></html>`))

var signedOutPage = template.Must(template.New("signedout").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signed out (behalf dev)</title></head>
<body><h1>You signed out of {{.Tenant}}</h1><p>You can close this window.</p></body></html>`))

var errorPageTmpl = template.Must(template.New("autherror").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign-in error (behalf dev)</title></head>
<body><h1>Sorry, but we're having trouble signing you in.</h1>
<p><strong>{{.Code}}</strong>: {{.Description}}</p>
<p>This is the behalf dev stack's Entra ID emulator; the request was not sent back to the application.</p></body></html>`))

// formPost is the response_mode=form_post answer: a page that posts the
// result to the redirect URI.
type formPost struct {
	Action string
	Fields url.Values
}

var formPostPage = template.Must(template.New("formpost").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Working...</title></head>
<body onload="document.forms[0].submit()"><form method="post" action="{{.Action}}">
{{range $k, $vs := .Fields}}{{range $vs}}<input type="hidden" name="{{$k}}" value="{{.}}">
{{end}}{{end}}<noscript><button type="submit">Continue</button></noscript></form></body></html>`))

// writePage renders t fully before answering, so a template failure is a
// clean 500 rather than half a page.
func writePage(w http.ResponseWriter, status int, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		http.Error(w, "page could not be rendered", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action *; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// errorPage shows an authorize error that must not go to the redirect URI.
func (e *Emulator) errorPage(w http.ResponseWriter, r *http.Request, status int, oe *Error) {
	t := newTrace(r, e.now())
	e.counters.add(func(c *Counters) { c.Errors[oe.AADSTS()]++ })
	e.log.Info("entra sign-in refused", "error", oe.Err, "code", oe.AADSTS(), "trace_id", t.traceID)
	writePage(w, status, errorPageTmpl, struct{ Code, Description string }{oe.AADSTS(), t.description(oe)})
}
