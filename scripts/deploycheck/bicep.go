package deploycheck

import (
	"fmt"
	"regexp"
	"strings"
)

// No bicep compiler runs here, so the templates are read with a small
// scanner that knows bicep's strings and comments, enough to find blocks,
// parameters and the app settings list. The formats it relies on are
// enforced (a line it cannot read is a problem), so a template cannot drift
// out of what the checks see.

// Param is a bicep parameter declaration.
type Param struct {
	Name       string
	Type       string
	Default    string // raw expression; '' when none
	Decorators []string
	Line       int
}

// AppSetting is one entry of main.bicep's appSettings list.
type AppSetting struct {
	Name  string
	Value string // raw bicep expression
	Line  int
}

var (
	paramLine   = regexp.MustCompile(`^\s*param\s+([A-Za-z_][A-Za-z0-9_]*)\s+([A-Za-z_][A-Za-z0-9_.]*(?:\[\])?)(?:\s*=\s*(.*?))?\s*$`)
	outputLine  = regexp.MustCompile(`^\s*output\s+([A-Za-z_][A-Za-z0-9_]*)\s`)
	decorator   = regexp.MustCompile(`^\s*@([A-Za-z]+)\(`)
	settingLine = regexp.MustCompile(`^\s*\{\s*name:\s*'([^']+)'\s*,\s*value:\s*(.*?)\s*\}\s*$`)
)

// Params lists a file's parameters with the decorators right above them.
func Params(text string) []Param {
	var out []Param
	var decos []string
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if m := decorator.FindStringSubmatch(l); m != nil {
			decos = append(decos, m[1])
			// A decorator may span lines (@description('''...''') or an
			// @allowed([...]) list): skip to its closing parenthesis.
			i += extraLines(strings.Join(lines[i:], "\n"))
			continue
		}
		if m := paramLine.FindStringSubmatch(l); m != nil {
			out = append(out, Param{Name: m[1], Type: m[2], Default: strings.TrimSpace(m[3]), Decorators: decos, Line: i + 1})
		}
		if strings.TrimSpace(l) != "" && !strings.HasPrefix(strings.TrimSpace(l), "//") {
			decos = nil
		}
	}
	return out
}

// extraLines counts the lines after the first that the decorator
// starting text spans: up to its closing parenthesis, outside '...' and
// ”'...”' strings and comments.
func extraLines(text string) int {
	depth, lines := 0, 0
	for j := 0; j < len(text); j++ {
		switch c := text[j]; {
		case strings.HasPrefix(text[j:], "'''"):
			end := strings.Index(text[j+3:], "'''")
			if end < 0 {
				return lines
			}
			lines += strings.Count(text[j:j+3+end], "\n")
			j += 5 + end
		case c == '\'':
			for j++; j < len(text) && text[j] != '\'' && text[j] != '\n'; j++ {
				if text[j] == '\\' {
					j++
				}
			}
		case strings.HasPrefix(text[j:], "//"):
			for j < len(text) && text[j] != '\n' {
				j++
			}
			j--
		case c == '\n':
			lines++
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return lines
			}
		}
	}
	return lines
}

// Outputs lists a file's output names.
func Outputs(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if m := outputLine.FindStringSubmatch(l); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

// Block returns the text of the bracketed block ({...} or [...]) that
// opens at the first bracket after the first match of start, and the line
// it starts on.
func Block(text string, start *regexp.Regexp) (string, int, error) {
	loc := start.FindStringIndex(text)
	if loc == nil {
		return "", 0, fmt.Errorf("%s not found", start)
	}
	i := loc[1]
	for i < len(text) && text[i] != '{' && text[i] != '[' {
		i++
	}
	if i == len(text) {
		return "", 0, fmt.Errorf("no block after %s", start)
	}
	open := text[i]
	closeCh := byte('}')
	if open == '[' {
		closeCh = ']'
	}
	depth, inStr, inComment := 0, false, false
	for j := i; j < len(text); j++ {
		c := text[j]
		switch {
		case inComment:
			if c == '\n' {
				inComment = false
			}
		case inStr:
			if c == '\\' {
				j++
			} else if c == '\'' {
				inStr = false
			}
		case c == '\'':
			inStr = true
		case c == '/' && j+1 < len(text) && text[j+1] == '/':
			inComment = true
		case c == open:
			depth++
		case c == closeCh:
			depth--
			if depth == 0 {
				return text[i+1 : j], strings.Count(text[:i], "\n") + 1, nil
			}
		}
	}
	return "", 0, fmt.Errorf("unterminated block after %s", start)
}

var appSettingsStart = regexp.MustCompile(`(?m)^var appSettings\s*=`)

// AppSettings reads main.bicep's `var appSettings = [ ... ]`, one
// `{ name: 'X', value: EXPR }` per line.
func AppSettings(mainBicep string) ([]AppSetting, []string) {
	block, line, err := Block(mainBicep, appSettingsStart)
	if err != nil {
		return nil, []string{"bicep/main.bicep: var appSettings: " + err.Error()}
	}
	var out []AppSetting
	var problems []string
	seen := map[string]bool{}
	for i, l := range strings.Split(block, "\n") {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "//") {
			continue
		}
		m := settingLine.FindStringSubmatch(l)
		if m == nil {
			problems = append(problems, fmt.Sprintf("bicep/main.bicep:%d: app settings must be one `{ name: 'X', value: ... }` per line, got %q", line+i, t))
			continue
		}
		if seen[m[1]] {
			problems = append(problems, fmt.Sprintf("bicep/main.bicep:%d: app setting %s is set twice", line+i, m[1]))
		}
		seen[m[1]] = true
		out = append(out, AppSetting{Name: m[1], Value: m[2], Line: line + i})
	}
	return out, problems
}

// ModuleParams reads the params block of `module SYMBOL 'PATH' = {...}`:
// param name → expression.
func ModuleParams(text, path string) (map[string]string, error) {
	start := regexp.MustCompile(`(?m)^module\s+\w+\s+'` + regexp.QuoteMeta(path) + `'\s*=`)
	body, _, err := Block(text, start)
	if err != nil {
		return nil, err
	}
	params, _, err := Block(body, regexp.MustCompile(`params\s*:`))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	kv := regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.+?)\s*$`)
	for _, l := range strings.Split(params, "\n") {
		if m := kv.FindStringSubmatch(l); m != nil {
			out[m[1]] = m[2]
		}
	}
	return out, nil
}

// ResourceBlocks returns the bodies of resources of a type prefix (e.g.
// "Microsoft.ServiceBus/namespaces/queues@"), keyed by their `name:` value.
func ResourceBlocks(text, typePrefix string) map[string]string {
	out := map[string]string{}
	re := regexp.MustCompile(`(?m)^resource\s+\w+\s+'` + regexp.QuoteMeta(typePrefix) + `[^']*'\s*=`)
	name := regexp.MustCompile(`(?m)^\s*name:\s*(.+?)\s*$`)
	for rest := text; ; {
		loc := re.FindStringIndex(rest)
		if loc == nil {
			return out
		}
		body, _, err := Block(rest[loc[0]:], re)
		if err != nil {
			return out
		}
		if m := name.FindStringSubmatch(body); m != nil {
			out[m[1]] = body
		}
		rest = rest[loc[1]:]
	}
}

// secretish names a parameter or output that must be @secure() (or not
// exist): the acceptance rule, case-insensitive.
var secretish = regexp.MustCompile(`(?i)secret|password|key|token|connectionstring`)

// notSecretOutputs are outputs whose names look secret but whose values
// are not, each with the reason.
var notSecretOutputs = map[string]string{
	"appInsightsConnectionString": "names the Application Insights component and its ingestion endpoint; local auth is disabled on the component, so it grants nothing without an Entra token",
}

// keyMaterial is what a key-based credential looks like in a template.
var keyMaterial = regexp.MustCompile(`(?i)AccountKey=|SharedAccessKey=|SharedAccessSignature=|listKeys\(|listConnectionStrings\(|listAccountSas\(|listServiceSas\(`)

// SecretProblems checks bicep sources: no secret-ish parameter without
// @secure(), no secret-ish output, and no key-based connection strings or
// key-listing functions. Parameter files may not give secret-ish
// parameters a literal value.
func SecretProblems(files map[string]string) []string {
	var problems []string
	for path, text := range files {
		for i, l := range strings.Split(text, "\n") {
			if keyMaterial.MatchString(l) {
				problems = append(problems, fmt.Sprintf("%s:%d: key-based credential or key-listing function: %s", path, i+1, strings.TrimSpace(l)))
			}
		}
		if strings.HasSuffix(path, ".bicepparam") {
			assign := regexp.MustCompile(`^\s*param\s+([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$`)
			for i, l := range strings.Split(text, "\n") {
				if m := assign.FindStringSubmatch(l); m != nil && secretish.MatchString(m[1]) && !strings.HasPrefix(strings.TrimSpace(m[2]), "az.getSecret(") {
					problems = append(problems, fmt.Sprintf("%s:%d: %s looks secret; give it from Key Vault (az.getSecret) or not at all", path, i+1, m[1]))
				}
			}
			continue
		}
		for _, p := range Params(text) {
			if secretish.MatchString(p.Name) && !contains(p.Decorators, "secure") {
				problems = append(problems, fmt.Sprintf("%s:%d: parameter %s looks secret but is not @secure()", path, p.Line, p.Name))
			}
		}
		for _, o := range Outputs(text) {
			if _, ok := notSecretOutputs[o]; !ok && secretish.MatchString(o) {
				problems = append(problems, fmt.Sprintf("%s: output %s looks secret; outputs are stored in the deployment history", path, o))
			}
		}
	}
	return problems
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// unquote returns the content of a bicep string literal 'x' (no
// interpolation), or false.
func unquote(expr string) (string, bool) {
	if len(expr) >= 2 && expr[0] == '\'' && expr[len(expr)-1] == '\'' && !strings.Contains(expr, "${") {
		return strings.ReplaceAll(expr[1:len(expr)-1], `\'`, `'`), true
	}
	return "", false
}
