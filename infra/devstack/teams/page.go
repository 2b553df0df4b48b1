package teams

import (
	"encoding/json"
	"html/template"
	"net/http"
	"slices"
)

// The page lists recorded cards newest first, the way a channel would show
// them, with no external assets. html/template escapes all card text and
// refuses non-http(s) links, so a hostile card cannot script the page.
var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="5">
<title>behalf dev · Teams cards</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#242424;background:#f5f5f5}
h1{font-size:1.3rem}
.card{background:#fff;border-radius:6px;box-shadow:0 1px 3px #0002;padding:1rem 1.25rem;margin:1rem 0}
.meta{color:#777;font-size:12px}
.title{font-weight:600;font-size:1.1rem;margin:.25rem 0 .5rem}
pre{background:#f0f0f0;padding:.5rem;white-space:pre-wrap;word-break:break-word;margin:.5rem 0}
table{border-collapse:collapse}
td{padding:.15rem .75rem .15rem 0;vertical-align:top}
td:first-child{font-weight:600;white-space:nowrap}
a.button{display:inline-block;margin-top:.5rem;padding:.3rem .8rem;background:#5b5fc7;color:#fff;border-radius:4px;text-decoration:none}
details{margin-top:.5rem}
</style>
</head>
<body>
<h1>Teams cards recorded by the dev stack</h1>
<p class="meta">{{len .Cards}} card(s), newest first{{if .Dropped}}; {{.Dropped}} older one(s) no longer kept{{end}}. This page refreshes every 5 s. <a href="cards.json">cards.json</a></p>
{{if not .Cards}}<p>No cards yet. Propose a statement that changes data (sql-propose) to see one.</p>{{end}}
{{range .Cards}}
<div class="card">
<div class="meta">#{{.Seq}} · {{.ReceivedAt.Format "2006-01-02 15:04:05 UTC"}} · Adaptive Card {{.Version}}</div>
<div class="title">{{.Title}}</div>
{{range .Text}}<div>{{.}}</div>{{end}}
{{if .Statement}}<pre>{{.Statement}}</pre>{{end}}
{{if .Facts}}<table>{{range .Facts}}<tr><td>{{.Title}}</td><td>{{.Value}}</td></tr>{{end}}</table>{{end}}
{{range .Links}}<a class="button" href="{{.URL}}" rel="noopener noreferrer">{{.Title}}</a> {{end}}
<details><summary>Card JSON</summary><pre>{{printf "%s" .Card}}</pre></details>
</div>
{{end}}
</body>
</html>
`))

type pageData struct {
	Cards   []RecordedCard
	Dropped int
}

func pageHandler(r *Recorder) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		r.mu.Lock()
		cards := append([]RecordedCard(nil), r.cards...)
		dropped := r.dropped
		r.mu.Unlock()
		if req.URL.Path == "/cards.json" {
			w.Header().Set("Content-Type", "application/json")
			if cards == nil {
				cards = []RecordedCard{}
			}
			_ = json.NewEncoder(w).Encode(cards)
			return
		}
		slices.Reverse(cards)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("Cache-Control", "no-store")
		_ = pageTemplate.Execute(w, pageData{Cards: cards, Dropped: dropped})
	})
}
