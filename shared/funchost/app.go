// Package funchost is the Azure Functions custom-handler protocol for
// behalf, in both directions. HTTP functions are forwarded by the host
// (enableForwardingHttpRequest) and served as plain net/http handlers at
// their public /api/... paths; queue and timer functions receive the host's
// invocation payload ({"Data", "Metadata"}) at POST /<function name> and
// answer {"Outputs", "Logs", "ReturnValue"}. The local trigger driver used
// by `behalf dev` reads the same function.json files and delivers queue
// messages and timer ticks through that same payload format, so local runs
// exercise the protocol code.
package funchost

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/behalf-dev/behalf/shared/httpapi"
)

// RoutePrefix is host.json's extensions.http.routePrefix.
const RoutePrefix = "api"

// HTTPFunction is an HTTP-triggered function.
type HTTPFunction struct {
	// Name is the function folder name.
	Name string
	// Routes are route templates as written in function.json (without the
	// prefix), e.g. "health" or "sql-approve/{op_id}". A function.json has
	// one route; extra entries serve sub-paths of the same function under
	// a trailing wildcard, e.g. "auth/{*rest}".
	Route string
	// Methods are the allowed methods, upper case.
	Methods []string
	Handler http.Handler
}

// TriggerFunction is a queue- or timer-triggered function.
type TriggerFunction struct {
	Name    string
	Handler InvocationHandler
}

// App is the set of functions one binary serves.
type App struct {
	httpFns    []HTTPFunction
	triggerFns []TriggerFunction
}

// AddHTTP registers an HTTP function.
func (a *App) AddHTTP(f HTTPFunction) {
	a.httpFns = append(a.httpFns, f)
}

// AddTrigger registers a non-HTTP function.
func (a *App) AddTrigger(f TriggerFunction) {
	a.triggerFns = append(a.triggerFns, f)
}

// FunctionNames lists every registered function, sorted.
func (a *App) FunctionNames() []string {
	var names []string
	for _, f := range a.httpFns {
		names = append(names, f.Name)
	}
	for _, f := range a.triggerFns {
		names = append(names, f.Name)
	}
	sort.Strings(names)
	return slices.Compact(names)
}

// HTTPFunctions returns the registered HTTP functions.
func (a *App) HTTPFunctions() []HTTPFunction { return slices.Clone(a.httpFns) }

// TriggerFunctions returns the registered trigger functions.
func (a *App) TriggerFunctions() []TriggerFunction { return slices.Clone(a.triggerFns) }

// MuxPatterns turns a Functions route template into net/http patterns:
// "{id}" stays, "{*rest}" (catch-all) becomes "{rest...}" and — since a
// catch-all may match nothing, as in the Functions host — also the path
// without it; constraints like "{id:int}" lose the constraint.
func MuxPatterns(route string) ([]string, error) {
	p, err := muxPattern(route)
	if err != nil {
		return nil, err
	}
	if base, ok := strings.CutSuffix(p, "..."+"}"); ok {
		base = base[:strings.LastIndex(base, "/{")]
		return []string{p, base}, nil
	}
	return []string{p}, nil
}

func muxPattern(route string) (string, error) {
	parts := strings.Split(strings.Trim(route, "/"), "/")
	for i, p := range parts {
		if !strings.HasPrefix(p, "{") {
			continue
		}
		if !strings.HasSuffix(p, "}") {
			return "", fmt.Errorf("funchost: route %q: malformed segment %q", route, p)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(p, "{"), "}")
		if j := strings.IndexByte(name, ':'); j >= 0 {
			name = name[:j]
		}
		switch {
		case strings.HasPrefix(name, "*"):
			if i != len(parts)-1 {
				return "", fmt.Errorf("funchost: route %q: catch-all must be last", route)
			}
			parts[i] = "{" + strings.TrimPrefix(name, "*") + "...}"
		case strings.HasSuffix(name, "?"):
			return "", fmt.Errorf("funchost: route %q: optional parameters are not supported; register two routes", route)
		default:
			parts[i] = "{" + name + "}"
		}
	}
	return "/" + RoutePrefix + "/" + strings.Join(parts, "/"), nil
}

// Handler builds the http.Handler for the whole app: each HTTP function at
// its public path (JSON 405 with Allow for other methods), each trigger
// function at POST /<name>, and a JSON 404 for everything else (which also
// answers the host's readiness probe GET /).
func (a *App) Handler(lim httpapi.Limits) (http.Handler, error) {
	mux := http.NewServeMux()
	for _, f := range a.httpFns {
		patterns, err := MuxPatterns(f.Route)
		if err != nil {
			return nil, err
		}
		for _, p := range patterns {
			mux.Handle(p, allowMethods(f.Methods, f.Handler))
		}
	}
	for _, f := range a.triggerFns {
		mux.Handle("/"+f.Name, allowMethods([]string{http.MethodPost}, invocationHTTPHandler(f.Name, f.Handler)))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteError(w, r, httpapi.Errorf(http.StatusNotFound, httpapi.CodeNotFound, "no function serves this path; see README.md for the routes"))
	})
	return httpapi.Chain(mux, lim), nil
}

func allowMethods(methods []string, h http.Handler) http.Handler {
	allowed := make([]string, 0, len(methods)+1)
	for _, m := range methods {
		allowed = append(allowed, strings.ToUpper(m))
	}
	if slices.Contains(allowed, http.MethodGet) && !slices.Contains(allowed, http.MethodHead) {
		allowed = append(allowed, http.MethodHead)
	}
	allow := strings.Join(allowed, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !slices.Contains(allowed, r.Method) {
			e := httpapi.Errorf(http.StatusMethodNotAllowed, httpapi.CodeMethodNotAllowed, "%s is not allowed here; use %s", r.Method, allow)
			e.Header = http.Header{"Allow": {allow}}
			httpapi.WriteError(w, r, e)
			return
		}
		h.ServeHTTP(w, r)
	})
}
