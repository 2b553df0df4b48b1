package deploycheck

import (
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// SAM is what the checks read from infra/aws/template.yaml.
type SAM struct {
	// Params are the template parameters with their defaults.
	Params map[string]SAMParam
	// Env is the function's environment: variable → value.
	Env map[string]EnvValue
	// Events are the function's events.
	Events []SAMEvent
}

// SAMParam is a template parameter.
type SAMParam struct {
	Default    string
	HasDefault bool
	NoEcho     bool
}

// EnvValue is an environment variable's value: a literal, a !Ref to a
// parameter, or something conditional (!If), which the checks treat as
// "set when its condition holds".
type EnvValue struct {
	Literal string
	Ref     string
	Cond    bool
}

// SAMEvent is one entry of the function's Events.
type SAMEvent struct {
	ID   string
	Type string
	// HttpApi
	Path, Method, APIRef string
	// Schedule: Name is the rule name template (from !Sub), Schedule the
	// expression.
	Name, Schedule string
}

// ParseSAM reads a SAM template. It expects exactly one
// AWS::Serverless::Function: behalf is one function.
func ParseSAM(b []byte) (*SAM, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	if len(doc.Content) != 1 {
		return nil, fmt.Errorf("template: not a YAML document")
	}
	root := doc.Content[0]
	s := &SAM{Params: map[string]SAMParam{}, Env: map[string]EnvValue{}}
	if params := get(root, "Parameters"); params != nil {
		for i := 0; i+1 < len(params.Content); i += 2 {
			p := SAMParam{}
			if d := get(params.Content[i+1], "Default"); d != nil {
				p.Default, p.HasDefault = d.Value, true
			}
			if ne := get(params.Content[i+1], "NoEcho"); ne != nil {
				p.NoEcho = ne.Value == "true"
			}
			s.Params[params.Content[i].Value] = p
		}
	}
	resources := get(root, "Resources")
	if resources == nil {
		return nil, fmt.Errorf("template: no Resources")
	}
	var fn *yaml.Node
	for i := 0; i+1 < len(resources.Content); i += 2 {
		r := resources.Content[i+1]
		if t := get(r, "Type"); t != nil && t.Value == "AWS::Serverless::Function" {
			if fn != nil {
				return nil, fmt.Errorf("template: more than one AWS::Serverless::Function; behalf is one function")
			}
			fn = get(r, "Properties")
		}
	}
	if fn == nil {
		return nil, fmt.Errorf("template: no AWS::Serverless::Function")
	}
	if vars := get(get(get(fn, "Environment"), "Variables"), ""); vars != nil {
		for i := 0; i+1 < len(vars.Content); i += 2 {
			s.Env[vars.Content[i].Value] = envValue(vars.Content[i+1])
		}
	}
	if evs := get(fn, "Events"); evs != nil {
		for i := 0; i+1 < len(evs.Content); i += 2 {
			e := SAMEvent{ID: evs.Content[i].Value}
			n := evs.Content[i+1]
			if t := get(n, "Type"); t != nil {
				e.Type = t.Value
			}
			p := get(n, "Properties")
			e.Path, e.Method, e.Schedule = scalar(get(p, "Path")), scalar(get(p, "Method")), scalar(get(p, "Schedule"))
			if a := get(p, "ApiId"); a != nil && a.Tag == "!Ref" {
				e.APIRef = a.Value
			}
			if nm := get(p, "Name"); nm != nil {
				e.Name = nm.Value // !Sub "${AWS::StackName}-x" keeps its template text
			}
			s.Events = append(s.Events, e)
		}
	}
	sort.Slice(s.Events, func(i, j int) bool { return s.Events[i].ID < s.Events[j].ID })
	return s, nil
}

// get returns the value of key in a mapping node (or n itself for "").
func get(n *yaml.Node, key string) *yaml.Node {
	if n == nil {
		return nil
	}
	if key == "" {
		return n
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

func envValue(n *yaml.Node) EnvValue {
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!Ref":
		return EnvValue{Ref: n.Value}
	case n.Kind == yaml.ScalarNode && !strings.HasPrefix(n.Tag, "!"):
		return EnvValue{Literal: n.Value}
	case n.Tag == "!If" && n.Kind == yaml.SequenceNode && len(n.Content) == 3:
		v := envValue(n.Content[1])
		v.Cond = true
		return v
	}
	return EnvValue{Cond: true}
}

// SAMPaths translates a function.json route to the HTTP API paths that
// serve it: {x} stays, a catch-all {*x} becomes {x+} and also serves the
// path without it, constraints ({id:int}) are dropped.
func SAMPaths(prefix, route string) []string {
	parts := strings.Split(strings.Trim(route, "/"), "/")
	var base []string
	catchAll := ""
	for _, p := range parts {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			name := strings.TrimSuffix(strings.TrimPrefix(p, "{"), "}")
			if j := strings.IndexByte(name, ':'); j >= 0 {
				name = name[:j]
			}
			if strings.HasPrefix(name, "*") {
				catchAll = "{" + strings.TrimPrefix(name, "*") + "+}"
				continue
			}
			p = "{" + strings.TrimSuffix(name, "?") + "}"
		}
		base = append(base, p)
	}
	b := "/" + prefix + "/" + strings.Join(base, "/")
	if catchAll != "" {
		return []string{b, b + "/" + catchAll}
	}
	return []string{b}
}
