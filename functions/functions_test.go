package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/behalf-dev/behalf/shared/config"
	"github.com/behalf-dev/behalf/shared/funchost"
)

// compileSchema loads a vendored SchemaStore schema. function.schema.json
// declares draft-04 but needs draft-06+ semantics (its const keywords), so
// the draft is forced to 07 as the schemas' README explains.
func compileSchema(t *testing.T, file string) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "schemas", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	doc.(map[string]any)["$schema"] = "http://json-schema.org/draft-07/schema#"
	c := jsonschema.NewCompiler()
	url := "https://behalf.invalid/" + file
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(url)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validateFile(t *testing.T, s *jsonschema.Schema, path string) error {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return err
	}
	return s.Validate(v)
}

// knownBindingTypes catches type typos the schema lets through as
// "dynamic" bindings.
var knownBindingTypes = []string{"httpTrigger", "http", "serviceBusTrigger", "serviceBus", "timerTrigger"}

func checkBindings(fj *funchost.FunctionJSON) []string {
	var problems []string
	for _, b := range fj.Bindings {
		if !slices.Contains(knownBindingTypes, b.Type) {
			problems = append(problems, "unknown binding type "+b.Type)
		}
	}
	if fj.IsHTTP() {
		// Forwarding applies only to functions with exactly httpTrigger in
		// and http out; any other output binding would silently switch the
		// function to the invocation payload.
		if len(fj.Bindings) != 2 {
			problems = append(problems, "HTTP functions must have exactly an httpTrigger and an http output")
		}
	}
	return problems
}

func TestHostJSONMatchesSchema(t *testing.T) {
	s := compileSchema(t, "host.schema.json")
	if err := validateFile(t, s, filepath.Join("..", "host.json")); err != nil {
		t.Fatalf("host.json: %v", err)
	}
	var host struct {
		CustomHandler struct {
			Description struct {
				DefaultExecutablePath string `json:"defaultExecutablePath"`
			} `json:"description"`
			EnableForwardingHttpRequest bool `json:"enableForwardingHttpRequest"`
		} `json:"customHandler"`
		Extensions struct {
			HTTP struct {
				RoutePrefix string `json:"routePrefix"`
			} `json:"http"`
		} `json:"extensions"`
	}
	b, _ := os.ReadFile(filepath.Join("..", "host.json"))
	if err := json.Unmarshal(b, &host); err != nil {
		t.Fatal(err)
	}
	if host.CustomHandler.Description.DefaultExecutablePath != "behalf" || !host.CustomHandler.EnableForwardingHttpRequest || host.Extensions.HTTP.RoutePrefix != funchost.RoutePrefix {
		t.Fatalf("host.json custom handler settings: %+v", host)
	}
}

func TestFunctionJSONFilesMatchSchema(t *testing.T) {
	s := compileSchema(t, "function.schema.json")
	files, _ := filepath.Glob("*/function.json")
	if len(files) == 0 {
		t.Fatal("no function.json files")
	}
	for _, f := range files {
		if err := validateFile(t, s, f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	fns, err := funchost.LoadFunctions(os.DirFS("."))
	if err != nil {
		t.Fatal(err)
	}
	for name, fj := range fns {
		if p := checkBindings(fj); len(p) > 0 {
			t.Errorf("%s: %v", name, p)
		}
	}
}

func TestSchemaRefusesInvalidBindings(t *testing.T) {
	s := compileSchema(t, "function.schema.json")
	cases := map[string]string{
		"uppercase method":         `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","methods":["GET"]},{"type":"http","direction":"out","name":"res"}]}`,
		"unknown auth level":       `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","authLevel":"user"},{"type":"http","direction":"out","name":"res"}]}`,
		"trigger as output":        `{"bindings":[{"type":"serviceBusTrigger","direction":"out","name":"msg","queueName":"audit"}]}`,
		"binding without name":     `{"bindings":[{"type":"timerTrigger","direction":"in","schedule":"0 0 2 * * *"}]}`,
		"bindings is not an array": `{"bindings":{"type":"http"}}`,
	}
	dir := t.TempDir()
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
			if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := validateFile(t, s, p); err == nil {
				t.Fatal("schema accepted an invalid function.json")
			}
		})
	}
	// A type typo passes the schema as a dynamic binding; our own check
	// catches it.
	var typo funchost.FunctionJSON
	_ = json.Unmarshal([]byte(`{"bindings":[{"type":"ServiceBusTrigger","direction":"in","name":"msg"}]}`), &typo)
	if len(checkBindings(&typo)) == 0 {
		t.Fatal("binding type typo not caught")
	}
	var extraOut funchost.FunctionJSON
	_ = json.Unmarshal([]byte(`{"bindings":[{"type":"httpTrigger","direction":"in","name":"req"},{"type":"http","direction":"out","name":"res"},{"type":"serviceBus","direction":"out","name":"audit"}]}`), &extraOut)
	if len(checkBindings(&extraOut)) == 0 {
		t.Fatal("HTTP function with an extra output binding not caught")
	}
}

func TestEveryFolderHasAHandlerAndViceVersa(t *testing.T) {
	cfg, err := config.Load(lookupIn(withTempStores(t, nil)))
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close(context.Background())
	fns, err := funchost.LoadFunctions(FunctionFiles())
	if err != nil {
		t.Fatal(err)
	}
	var folders []string
	for name := range fns {
		folders = append(folders, name)
	}
	sort.Strings(folders)
	if got := a.host.FunctionNames(); !slices.Equal(got, folders) {
		t.Fatalf("registered functions %v, function folders %v", got, folders)
	}
	// Each HTTP function is served at the route and methods its
	// function.json declares; each trigger function is a trigger there.
	for _, f := range a.host.HTTPFunctions() {
		fj := fns[f.Name]
		trig, err := fj.Trigger()
		if err != nil || !fj.IsHTTP() {
			t.Errorf("%s: registered as HTTP but function.json says %v", f.Name, err)
			continue
		}
		if trig.Route != f.Route {
			t.Errorf("%s: route %q, function.json %q", f.Name, f.Route, trig.Route)
		}
		var methods []string
		for _, m := range trig.Methods {
			methods = append(methods, strings.ToUpper(m))
		}
		if !slices.Equal(methods, f.Methods) {
			t.Errorf("%s: methods %v, function.json %v", f.Name, f.Methods, methods)
		}
	}
	for _, f := range a.host.TriggerFunctions() {
		if fns[f.Name].IsHTTP() {
			t.Errorf("%s: registered as a trigger but function.json is HTTP", f.Name)
		}
	}
}
