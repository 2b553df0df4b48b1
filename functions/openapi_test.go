package main

import (
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/behalf-dev/behalf/shared/funchost"
)

// TestOpenAPICoversEveryHTTPFunction keeps functions/openapi.yaml honest:
// each HTTP function's route prefix is documented.
func TestOpenAPICoversEveryHTTPFunction(t *testing.T) {
	b, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	fns, err := funchost.LoadFunctions(FunctionFiles())
	if err != nil {
		t.Fatal(err)
	}
	for name, fj := range fns {
		if !fj.IsHTTP() {
			continue
		}
		trig, _ := fj.Trigger()
		prefix := "/api/" + strings.SplitN(trig.Route, "/{", 2)[0]
		found := false
		for p := range doc.Paths {
			if strings.HasPrefix(p, prefix) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no path under %s in openapi.yaml", name, prefix)
		}
	}
}
