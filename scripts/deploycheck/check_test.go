package deploycheck

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/behalf-dev/behalf/shared/funchost"
)

const root = "../.."

func load(t *testing.T) *Repo {
	t.Helper()
	r, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestConsistency is acceptance 2's first half: the real templates agree
// with the code.
func TestConsistency(t *testing.T) {
	r := load(t)
	if len(r.Functions) == 0 || len(r.Settings) == 0 || r.Bicep[mainBicep] == "" {
		t.Fatalf("nothing loaded: %d functions, %d settings", len(r.Functions), len(r.Settings))
	}
	for _, p := range r.Check() {
		t.Error(p)
	}
}

// mutate returns a copy of the repo with one file's text changed, and
// fails when the change did not apply (so a test cannot pass vacuously).
func mutate(t *testing.T, r *Repo, file string, re, repl string) *Repo {
	t.Helper()
	c := *r
	c.Bicep = map[string]string{}
	for k, v := range r.Bicep {
		c.Bicep[k] = v
	}
	rx := regexp.MustCompile(re)
	if file == samPath {
		if !rx.Match(r.SAM) {
			t.Fatalf("%s: %q matches nothing", file, re)
		}
		c.SAM = rx.ReplaceAll(r.SAM, []byte(repl))
		return &c
	}
	if !rx.MatchString(r.Bicep[file]) {
		t.Fatalf("%s: %q matches nothing", file, re)
	}
	c.Bicep[file] = rx.ReplaceAllString(r.Bicep[file], repl)
	return &c
}

func wantProblem(t *testing.T, r *Repo, want string) {
	t.Helper()
	problems := r.Check()
	for _, p := range problems {
		if strings.Contains(p, want) {
			return
		}
	}
	t.Fatalf("no problem mentions %q; got %d:\n%s", want, len(problems), strings.Join(problems, "\n"))
}

// TestConsistencyFailsWhenTemplatesDrift is acceptance 2's second half:
// each kind of drift is caught, starting with a setting removed from bicep.
func TestConsistencyFailsWhenTemplatesDrift(t *testing.T) {
	r := load(t)
	cases := []struct {
		name, file, re, repl, want string
	}{
		{"setting removed from bicep", mainBicep, `(?m)^\s*\{ name: 'BEHALF_DATABRICKS_HOST'.*\n`, "",
			"BEHALF_DATABRICKS_HOST is read by behalf but bicep/main.bicep appSettings does not set it"},
		{"setting removed from SAM", samPath, `(?m)^\s*BEHALF_TENANT_IDS:.*\n`, "",
			"BEHALF_TENANT_IDS is read by behalf but infra/aws/template.yaml Environment does not set it"},
		{"unknown setting in bicep", mainBicep, `(?m)^(\s*)\{ name: 'BEHALF_LOG_LEVEL'`, "$1{ name: 'BEHALF_LOG_LEVL', value: 'x' }\n$1{ name: 'BEHALF_LOG_LEVEL'",
			"BEHALF_LOG_LEVL is not a setting behalf reads"},
		{"unknown setting in SAM", samPath, `(?m)^(\s*)BEHALF_LOG_LEVEL:`, "${1}BEHALF_GENIE_SPACE: x\n${1}BEHALF_LOG_LEVEL:",
			"BEHALF_GENIE_SPACE is not a setting behalf reads"},
		{"optional setting also set", mainBicep, `(?m)^(\s*)\{ name: 'BEHALF_LOG_LEVEL'`, "$1{ name: 'BEHALF_API_SCOPE', value: 'access_as_user' }\n$1{ name: 'BEHALF_LOG_LEVEL'",
			"BEHALF_API_SCOPE is set by bicep/main.bicep appSettings but listed as optional for azure"},
		{"secret as a literal in bicep", mainBicep, `value: sessionKeysRef`, "value: 'k1:abc'",
			"BEHALF_SESSION_KEYS is a secret: its value must be a Key Vault reference"},
		{"secret as a value in SAM", samPath, `BEHALF_SESSION_KEYS_SECRET_ARN:`, "BEHALF_SESSION_KEYS:",
			"BEHALF_SESSION_KEYS is a secret: set BEHALF_SESSION_KEYS_SECRET_ARN"},
		{"secret reference to a plain setting", samPath, `BEHALF_PUBLIC_URL:`, "BEHALF_PUBLIC_URL_SECRET_ARN:",
			"BEHALF_PUBLIC_URL_SECRET_ARN names no setting"},
		{"connection string instead of identity", mainBicep, `(?m)^(\s*)\{ name: 'AzureWebJobsStorage__accountName'.*$`, "$1{ name: 'AzureWebJobsStorage', value: storage.outputs.name }",
			"AzureWebJobsStorage is set as a connection string"},
		{"identity setting missing", mainBicep, `(?m)^\s*\{ name: 'AzureWebJobsStorage__clientId'.*\n`, "",
			"AzureWebJobsStorage__clientId is missing"},
		{"storage credential not managed identity", mainBicep, `'AzureWebJobsStorage__credential', value: 'managedidentity'`, "'AzureWebJobsStorage__credential', value: 'connectionstring'",
			"AzureWebJobsStorage__credential must be 'managedidentity'"},
		{"route missing in SAM", samPath, `(?m)^\s*Health:\n.*\n.*\n`, "",
			"function health (route \"health\") has no HttpApi event for /api/health"},
		{"stale route in SAM", samPath, `Path: /api/health,`, "Path: /api/healthz,",
			"routes /api/healthz, which no function serves"},
		{"schedule differs from function.json", samPath, `cron\(0/1 \* \* \* \? \*\)`, "cron(0/5 * * * ? *)",
			"but function.json says"},
		{"schedule not named after its function", samPath, `\$\{AWS::StackName\}-sql-expire`, "behalf-expire",
			"must be named"},
		{"queue default differs", mainBicep, `param auditQueueName string = 'audit'`, "param auditQueueName string = 'audit-events'",
			"parameter auditQueueName defaults to 'audit-events' but BEHALF_AUDIT_QUEUE defaults to \"audit\""},
		{"pending queue without sessions", serviceBusBicep, `requiresSession: true`, "requiresSession: false",
			"lacks \"requiresSession: true\""},
		{"approval window differs", mainBicep, `param approvalWindowMinutes int = 60`, "param approvalWindowMinutes int = 30",
			"approvalWindowMinutes defaults to 30"},
		{"audit max deliveries differ", serviceBusBicep, `maxDeliveryCount: auditMaxDeliveryCount`, "maxDeliveryCount: 5",
			"lacks \"maxDeliveryCount: auditMaxDeliveryCount\""},
		{"audit max deliveries not wired", mainBicep, `value: string\(auditMaxDeliveryCount\)`, "value: '10'",
			"BEHALF_AUDIT_MAX_DELIVERIES must be string(auditMaxDeliveryCount)"},
		{"SAM queue default differs", samPath, `(?m)(AuditQueueName:\n\s*Type: String\n\s*Default: )audit`, "${1}audits",
			"BEHALF_AUDIT_QUEUE must be !Ref a parameter defaulting to \"audit\""},
		{"unreadable app settings line", mainBicep, `(?m)^(\s*)\{ name: 'BEHALF_LOG_LEVEL', value: logLevel \}`, "$1{\n$1  name: 'BEHALF_LOG_LEVEL'\n$1  value: logLevel\n$1}",
			"app settings must be one"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantProblem(t, mutate(t, r, c.file, c.re, c.repl), c.want)
		})
	}
}

// TestConsistencyCoversNewFunctionsAndSettings: a function folder or a
// setting added to the code fails the check until the templates cover it.
func TestConsistencyCoversNewFunctionsAndSettings(t *testing.T) {
	r := load(t)
	c := *r
	c.Functions = map[string]*funchost.FunctionJSON{}
	for k, v := range r.Functions {
		c.Functions[k] = v
	}
	c.Functions["report-export"] = mustFunction(t, "report-export", `{"bindings":[{"type":"timerTrigger","direction":"in","name":"timer","schedule":"0 30 3 * * 1-5"}]}`)
	c.Functions["report"] = mustFunction(t, "report", `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","methods":["get"],"route":"report/{id}"},{"type":"http","direction":"out","name":"res"}]}`)
	c.Functions["report-writer"] = mustFunction(t, "report-writer", `{"bindings":[{"type":"serviceBusTrigger","direction":"in","name":"msg","queueName":"reports","connection":"ReportBus"}]}`)
	problems := strings.Join(c.Check(), "\n")
	for _, want := range []string{
		"report-export (timerTrigger) has no Schedule event",
		"function report (route \"report/{id}\") has no HttpApi event for /api/report/{id}",
		"report-writer (serviceBusTrigger) has no Schedule event",
		`queue "reports" is none of the configured queues`,
		"ReportBus__fullyQualifiedNamespace is missing",
	} {
		if !strings.Contains(problems, want) {
			t.Errorf("no problem mentions %q:\n%s", want, problems)
		}
	}
}

func TestSAMPaths(t *testing.T) {
	cases := map[string][]string{
		"health":              {"/api/health"},
		"auth/{action}":       {"/api/auth/{action}"},
		"genie-query/{*path}": {"/api/genie-query", "/api/genie-query/{path+}"},
		"items/{id:int}":      {"/api/items/{id}"},
	}
	for route, want := range cases {
		if got := SAMPaths("api", route); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("SAMPaths(%q) = %v, want %v", route, got, want)
		}
	}
}

func TestEventBridgeCron(t *testing.T) {
	cases := map[string]string{
		"0 0 2 * * *":    "cron(0 2 * * ? *)",
		"0 */1 * * * *":  "cron(0/1 * * * ? *)",
		"0 30 3 * * 1-5": "cron(30 3 ? * 2-6 *)",
		"0 0 6 * * 0":    "cron(0 6 ? * 1 *)",
		"0 0 6 * * SUN":  "cron(0 6 ? * SUN *)",
		"0 15 * 1 * *":   "cron(15 * 1 * ? *)",
		"0 0 0 */2 * *":  "cron(0 0 1/2 * ? *)",
		"*/5 * * * *":    "cron(0/5 * * * ? *)",
	}
	for in, want := range cases {
		if got, err := EventBridgeCron(in); err != nil || got != want {
			t.Errorf("EventBridgeCron(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"30 * * * * *", "0 0 1 1 * 1", "0 0 * * * */2", "daily", "01:00:00"} {
		if _, err := EventBridgeCron(bad); err == nil {
			t.Errorf("EventBridgeCron(%q) accepted", bad)
		}
	}
}

func TestOptionalListIsStrict(t *testing.T) {
	cases := map[string]string{
		"no reason":     `{"settings":[{"name":"BEHALF_X","optional_in":["aws"],"reason":""}]}`,
		"unknown cloud": `{"settings":[{"name":"BEHALF_X","optional_in":["gcp"],"reason":"a long enough reason"}]}`,
		"twice":         `{"settings":[{"name":"BEHALF_X","optional_in":["aws"],"reason":"a long enough reason"},{"name":"BEHALF_X","optional_in":["aws"],"reason":"a long enough reason"}]}`,
		"unknown field": `{"settings":[{"name":"BEHALF_X","optional":["aws"],"reason":"a long enough reason"}]}`,
		"no cloud":      `{"settings":[{"name":"BEHALF_X","optional_in":[],"reason":"a long enough reason"}]}`,
	}
	for name, doc := range cases {
		if _, err := ParseOptional([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	r := load(t)
	c := *r
	c.Optional = &Optional{Settings: append(append([]OptionalSetting(nil), r.Optional.Settings...), OptionalSetting{Name: "BEHALF_GONE", OptionalIn: []string{Azure}, Reason: "removed long ago"})}
	wantProblem(t, &c, "BEHALF_GONE is not a setting behalf reads; remove it")
}

func TestLoadFindsEveryBicepFile(t *testing.T) {
	r := load(t)
	for _, f := range []string{mainBicep, serviceBusBicep, "bicep/main.dev.bicepparam", "bicep/main.prod.bicepparam"} {
		if r.Bicep[f] == "" {
			t.Errorf("%s not loaded", f)
		}
	}
	matches, _ := filepath.Glob(filepath.Join(root, "bicep", "modules", "*.bicep"))
	if len(matches) == 0 {
		t.Fatal("no modules found")
	}
	for _, m := range matches {
		rel, _ := filepath.Rel(root, m)
		if _, ok := r.Bicep[filepath.ToSlash(rel)]; !ok {
			t.Errorf("%s not loaded", rel)
		}
	}
}

func mustFunction(t *testing.T, name, doc string) *funchost.FunctionJSON {
	t.Helper()
	var f funchost.FunctionJSON
	if err := json.Unmarshal([]byte(doc), &f); err != nil {
		t.Fatal(err)
	}
	f.Name = name
	return &f
}
