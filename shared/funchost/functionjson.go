package funchost

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Binding is one entry of a function.json "bindings" array (the fields
// behalf uses).
type Binding struct {
	Type              string   `json:"type"`
	Direction         string   `json:"direction"`
	Name              string   `json:"name"`
	AuthLevel         string   `json:"authLevel,omitempty"`
	Methods           []string `json:"methods,omitempty"`
	Route             string   `json:"route,omitempty"`
	QueueName         string   `json:"queueName,omitempty"`
	Connection        string   `json:"connection,omitempty"`
	IsSessionsEnabled bool     `json:"isSessionsEnabled,omitempty"`
	Cardinality       string   `json:"cardinality,omitempty"`
	DataType          string   `json:"dataType,omitempty"`
	Schedule          string   `json:"schedule,omitempty"`
	RunOnStartup      bool     `json:"runOnStartup,omitempty"`
	UseMonitor        *bool    `json:"useMonitor,omitempty"`
}

// FunctionJSON is a function.json file.
type FunctionJSON struct {
	Name     string    `json:"-"`
	Bindings []Binding `json:"bindings"`
	Disabled bool      `json:"disabled,omitempty"`
}

// Trigger returns the function's trigger binding.
func (f *FunctionJSON) Trigger() (*Binding, error) {
	var found *Binding
	for i := range f.Bindings {
		b := &f.Bindings[i]
		if b.Direction == "in" && strings.HasSuffix(strings.ToLower(b.Type), "trigger") {
			if found != nil {
				return nil, fmt.Errorf("funchost: %s: more than one trigger", f.Name)
			}
			found = b
		}
	}
	if found == nil {
		return nil, fmt.Errorf("funchost: %s: no trigger binding", f.Name)
	}
	return found, nil
}

// IsHTTP reports whether the function is HTTP-triggered.
func (f *FunctionJSON) IsHTTP() bool {
	t, err := f.Trigger()
	return err == nil && strings.EqualFold(t.Type, "httpTrigger")
}

// LoadFunctions reads every <folder>/function.json in fsys, keyed by
// folder (= function) name.
func LoadFunctions(fsys fs.FS) (map[string]*FunctionJSON, error) {
	matches, err := fs.Glob(fsys, "*/function.json")
	if err != nil {
		return nil, err
	}
	out := make(map[string]*FunctionJSON, len(matches))
	sort.Strings(matches)
	for _, m := range matches {
		b, err := fs.ReadFile(fsys, m)
		if err != nil {
			return nil, err
		}
		var f FunctionJSON
		if err := json.Unmarshal(b, &f); err != nil {
			return nil, fmt.Errorf("funchost: %s: %w", m, err)
		}
		f.Name = path.Dir(m)
		out[f.Name] = &f
	}
	return out, nil
}
