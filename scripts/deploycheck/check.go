// Package deploycheck checks what can be checked of the deployment
// without the clouds' tools: that bicep/ and infra/aws/template.yaml agree
// with the code. Every setting behalf reads (shared/config) is set by both
// templates or listed, with its reason, in optional-settings.json; every
// BEHALF_* setting the templates set is one the code reads; every function
// folder has its routes or schedule on AWS; the queue names agree between
// function.json, bicep, SAM and the configuration defaults; connections are
// identity-based; secrets are Key Vault references or Secrets Manager ARNs;
// and no bicep file declares a secret-looking parameter without @secure()
// or a key-based connection string. The checks read the function folders
// and settings at run time, so a new function or setting fails them until
// the deployment covers it.
package deploycheck

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/behalf-dev/behalf/shared/config"
	"github.com/behalf-dev/behalf/shared/funchost"
	"github.com/behalf-dev/behalf/shared/lambdahost"
)

// Repo is the deployment as the checks see it.
type Repo struct {
	// Bicep holds every .bicep and .bicepparam file, by repository path.
	Bicep     map[string]string
	SAM       []byte
	Functions map[string]*funchost.FunctionJSON
	Settings  []config.Setting
	Optional  *Optional
}

const (
	mainBicep       = "bicep/main.bicep"
	serviceBusBicep = "bicep/modules/servicebus.bicep"
	samPath         = "infra/aws/template.yaml"
	optionalPath    = "scripts/deploycheck/optional-settings.json"
)

// Load reads the repository at root.
func Load(root string) (*Repo, error) {
	r := &Repo{Bicep: map[string]string{}, Settings: config.Settings()}
	err := filepath.WalkDir(filepath.Join(root, "bicep"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !(strings.HasSuffix(p, ".bicep") || strings.HasSuffix(p, ".bicepparam")) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		r.Bicep[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if r.SAM, err = os.ReadFile(filepath.Join(root, samPath)); err != nil {
		return nil, err
	}
	if r.Functions, err = funchost.LoadFunctions(os.DirFS(filepath.Join(root, "functions"))); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(root, optionalPath))
	if err != nil {
		return nil, err
	}
	if r.Optional, err = ParseOptional(b); err != nil {
		return nil, err
	}
	return r, nil
}

// Check runs every check and returns the problems, sorted.
func (r *Repo) Check() []string {
	var p []string
	sam, err := ParseSAM(r.SAM)
	if err != nil {
		return []string{samPath + ": " + err.Error()}
	}
	settings, sp := AppSettings(r.Bicep[mainBicep])
	p = append(p, sp...)
	p = append(p, r.checkSettings(settings, sam)...)
	p = append(p, r.checkConnections(settings)...)
	p = append(p, r.checkRoutes(sam)...)
	p = append(p, r.checkSchedules(sam)...)
	p = append(p, r.checkQueues(settings, sam)...)
	p = append(p, SecretProblems(r.Bicep)...)
	p = append(p, checkSAMParams(sam)...)
	sort.Strings(p)
	return p
}

func (r *Repo) setting(name string) (config.Setting, bool) {
	for _, s := range r.Settings {
		if s.Name == name {
			return s, true
		}
	}
	return config.Setting{}, false
}

func (r *Repo) checkSettings(bicep []AppSetting, sam *SAM) []string {
	var p []string
	azure := map[string]AppSetting{}
	for _, s := range bicep {
		azure[s.Name] = s
	}
	secretRef := map[string]bool{}
	for _, s := range lambdahost.SecretSettings(r.Settings) {
		secretRef[s.Name+lambdahost.SecretARNSuffix] = true
	}
	awsSets := func(name string) bool {
		_, direct := sam.Env[name]
		_, ref := sam.Env[name+lambdahost.SecretARNSuffix]
		return direct || ref
	}
	for _, s := range r.Settings {
		_, onAzure := azure[s.Name]
		for _, c := range []struct {
			cloud, where string
			set          bool
		}{{Azure, mainBicep + " appSettings", onAzure}, {AWS, samPath + " Environment", awsSets(s.Name)}} {
			optional := r.Optional.In(s.Name, c.cloud)
			switch {
			case !c.set && !optional:
				p = append(p, fmt.Sprintf("%s is read by behalf but %s does not set it; set it there or list it for %s in %s with the reason", s.Name, c.where, c.cloud, optionalPath))
			case c.set && optional:
				p = append(p, fmt.Sprintf("%s is set by %s but listed as optional for %s in %s; remove one", s.Name, c.where, c.cloud, optionalPath))
			}
		}
		if s.Secret {
			if a, ok := azure[s.Name]; ok && !isVaultReference(r.resolveVar(a.Value)) {
				p = append(p, fmt.Sprintf("%s:%d: %s is a secret: its value must be a Key Vault reference", mainBicep, a.Line, s.Name))
			}
			if _, ok := sam.Env[s.Name]; ok {
				p = append(p, fmt.Sprintf("%s: %s is a secret: set %s%s to a Secrets Manager ARN instead", samPath, s.Name, s.Name, lambdahost.SecretARNSuffix))
			}
		}
	}
	for _, a := range bicep {
		if strings.HasPrefix(a.Name, "BEHALF_") {
			if _, ok := r.setting(a.Name); !ok {
				p = append(p, fmt.Sprintf("%s:%d: %s is not a setting behalf reads (shared/config)", mainBicep, a.Line, a.Name))
			}
		}
	}
	for name := range sam.Env {
		if !strings.HasPrefix(name, "BEHALF_") {
			continue
		}
		if strings.HasSuffix(name, lambdahost.SecretARNSuffix) {
			if !secretRef[name] {
				p = append(p, fmt.Sprintf("%s: %s names no setting that may come from Secrets Manager", samPath, name))
			}
			continue
		}
		if _, ok := r.setting(name); !ok {
			p = append(p, fmt.Sprintf("%s: %s is not a setting behalf reads (shared/config)", samPath, name))
		}
	}
	for _, o := range r.Optional.Settings {
		if _, ok := r.setting(o.Name); !ok {
			p = append(p, fmt.Sprintf("%s: %s is not a setting behalf reads; remove it", optionalPath, o.Name))
		}
	}
	return p
}

var identifier = regexp.MustCompile(`\b[A-Za-z_]\w*\b`)

// resolveVar replaces the names of main.bicep's one-line variables in expr
// with their definitions, so a setting may use a named Key Vault
// reference.
func (r *Repo) resolveVar(expr string) string {
	return identifier.ReplaceAllStringFunc(expr, func(id string) string {
		m := regexp.MustCompile(`(?m)^var\s+` + id + `\s*=\s*(.+)$`).FindStringSubmatch(r.Bicep[mainBicep])
		if m == nil {
			return id
		}
		return m[1]
	})
}

var bicepString = regexp.MustCompile(`'(?:[^'\\]|\\.)*'`)

// isVaultReference reports whether a setting's value is a Key Vault
// reference, or empty when a condition says so: no other text can reach
// the app.
func isVaultReference(expr string) bool {
	refs := 0
	for _, lit := range bicepString.FindAllString(expr, -1) {
		switch {
		case strings.HasPrefix(lit, "'@Microsoft.KeyVault("):
			refs++
		case lit != "''":
			return false
		}
	}
	return refs > 0
}

// checkConnections: every binding connection and AzureWebJobsStorage are
// identity-based (prefix__fullyQualifiedNamespace / __accountName,
// __credential = managedidentity, __clientId of the user-assigned
// identity); no connection-string setting exists.
func (r *Repo) checkConnections(bicep []AppSetting) []string {
	byName := map[string]string{}
	for _, s := range bicep {
		byName[s.Name] = s.Value
	}
	want := map[string]string{"AzureWebJobsStorage": "accountName"}
	for _, fj := range r.Functions {
		for _, b := range fj.Bindings {
			if b.Connection != "" {
				want[b.Connection] = "fullyQualifiedNamespace"
			}
		}
	}
	var p []string
	for prefix, endpoint := range want {
		if _, ok := byName[prefix]; ok {
			p = append(p, fmt.Sprintf("%s: %s is set as a connection string; use identity-based %s__* settings", mainBicep, prefix, prefix))
		}
		for _, suffix := range []string{endpoint, "credential", "clientId"} {
			if _, ok := byName[prefix+"__"+suffix]; !ok {
				p = append(p, fmt.Sprintf("%s: %s__%s is missing (identity-based connection)", mainBicep, prefix, suffix))
			}
		}
		if v, ok := byName[prefix+"__credential"]; ok && v != "'managedidentity'" {
			p = append(p, fmt.Sprintf("%s: %s__credential must be 'managedidentity', got %s", mainBicep, prefix, v))
		}
	}
	return p
}

func (r *Repo) checkRoutes(sam *SAM) []string {
	var p []string
	have := map[string]SAMEvent{}
	for _, e := range sam.Events {
		if e.Type == "HttpApi" {
			have[e.Path] = e
		}
	}
	expected := map[string]string{}
	for _, name := range sortedKeys(r.Functions) {
		fj := r.Functions[name]
		if !fj.IsHTTP() {
			continue
		}
		trig, _ := fj.Trigger()
		route := trig.Route
		if route == "" {
			route = name
		}
		for _, path := range SAMPaths(funchost.RoutePrefix, route) {
			expected[path] = name
			e, ok := have[path]
			switch {
			case !ok:
				p = append(p, fmt.Sprintf("%s: function %s (route %q) has no HttpApi event for %s", samPath, name, route, path))
			case e.Method != "ANY" && !allMethods(e, sam, path, trig.Methods):
				p = append(p, fmt.Sprintf("%s: %s: methods %v of %s are not all routed", samPath, path, trig.Methods, name))
			}
		}
	}
	for path, e := range have {
		if _, ok := expected[path]; !ok {
			p = append(p, fmt.Sprintf("%s: event %s routes %s, which no function serves", samPath, e.ID, path))
		}
		if e.APIRef == "" {
			p = append(p, fmt.Sprintf("%s: event %s must name the template's HttpApi (ApiId: !Ref Api)", samPath, e.ID))
		}
	}
	return p
}

func allMethods(_ SAMEvent, sam *SAM, path string, methods []string) bool {
	routed := map[string]bool{}
	for _, e := range sam.Events {
		if e.Type == "HttpApi" && e.Path == path {
			routed[strings.ToUpper(e.Method)] = true
		}
	}
	for _, m := range methods {
		if !routed[strings.ToUpper(m)] {
			return false
		}
	}
	return true
}

// stackRule is how the template names schedule rules: per stack, so two
// deployments can share a region, ending in the function name
// (lambdahost.MatchRule).
const stackRule = "${AWS::StackName}-"

func (r *Repo) checkSchedules(sam *SAM) []string {
	var p []string
	rules := map[string]SAMEvent{}
	for _, e := range sam.Events {
		if e.Type != "Schedule" {
			continue
		}
		fn, ok := strings.CutPrefix(e.Name, stackRule)
		if !ok {
			p = append(p, fmt.Sprintf("%s: schedule %s must be named %q<function>", samPath, e.ID, stackRule))
			continue
		}
		rules[fn] = e
		if fj, ok := r.Functions[fn]; !ok || fj.IsHTTP() {
			p = append(p, fmt.Sprintf("%s: schedule %s runs %s, which is not a timer or queue function", samPath, e.ID, fn))
		}
	}
	for _, name := range sortedKeys(r.Functions) {
		fj := r.Functions[name]
		if fj.IsHTTP() {
			continue
		}
		trig, err := fj.Trigger()
		if err != nil {
			p = append(p, err.Error())
			continue
		}
		e, ok := rules[name]
		if !ok {
			p = append(p, fmt.Sprintf("%s: %s (%s) has no Schedule event named %q%s: it never runs on AWS", samPath, name, trig.Type, stackRule, name))
			continue
		}
		if !strings.EqualFold(trig.Type, "timerTrigger") {
			continue // a queue drain may run on any schedule
		}
		schedule, err := r.resolve(trig.Schedule)
		if err != nil {
			p = append(p, fmt.Sprintf("functions/%s: schedule: %v", name, err))
			continue
		}
		want, err := EventBridgeCron(schedule)
		if err != nil {
			p = append(p, fmt.Sprintf("functions/%s: %v", name, err))
			continue
		}
		if e.Schedule != want {
			p = append(p, fmt.Sprintf("%s: schedule %s is %s but function.json says %q, which is %s", samPath, e.ID, e.Schedule, schedule, want))
		}
	}
	return p
}

// resolve expands %SETTING% to the setting's default, as the app would
// read it when the deployment leaves it unset.
func (r *Repo) resolve(v string) (string, error) {
	if name, ok := strings.CutPrefix(v, "%"); ok && strings.HasSuffix(name, "%") {
		name = strings.TrimSuffix(name, "%")
		s, ok := r.setting(name)
		if !ok || s.Default == "" {
			return "", fmt.Errorf("%s names setting %s, which has no default", v, name)
		}
		return s.Default, nil
	}
	return v, nil
}

// queueKind is the setting that picks the queue implementation; every
// other *_QUEUE setting names a queue.
const queueKind = "BEHALF_QUEUE"

// queueRules are the Service Bus properties each known queue must have.
var queueRules = map[string][]string{
	"BEHALF_PENDING_QUEUE": {"requiresSession: true", "requiresDuplicateDetection: true", "deadLetteringOnMessageExpiration: true", "defaultMessageTimeToLive: 'PT${approvalWindowMinutes}M'"},
	"BEHALF_AUDIT_QUEUE":   {"requiresSession: false", "maxDeliveryCount: auditMaxDeliveryCount", "deadLetteringOnMessageExpiration: true"},
}

func (r *Repo) checkQueues(bicep []AppSetting, sam *SAM) []string {
	var p []string
	azure := map[string]AppSetting{}
	for _, s := range bicep {
		azure[s.Name] = s
	}
	mainParams := map[string]Param{}
	for _, prm := range Params(r.Bicep[mainBicep]) {
		mainParams[prm.Name] = prm
	}
	sbParams, err := ModuleParams(r.Bicep[mainBicep], "modules/servicebus.bicep")
	if err != nil {
		return []string{mainBicep + ": module modules/servicebus.bicep: " + err.Error()}
	}
	queues := ResourceBlocks(r.Bicep[serviceBusBicep], "Microsoft.ServiceBus/namespaces/queues@")
	names := map[string]bool{}
	for _, s := range r.Settings {
		if !strings.HasSuffix(s.Name, "_QUEUE") || s.Name == queueKind {
			continue
		}
		names[s.Default] = true
		// bicep: the app setting is a main.bicep parameter with the same
		// default, which is also the name of a queue the module creates.
		a, ok := azure[s.Name]
		if !ok {
			continue // reported by checkSettings
		}
		prm, ok := mainParams[a.Value]
		if !ok {
			p = append(p, fmt.Sprintf("%s:%d: %s must be a parameter (so that the queue and the setting agree), got %s", mainBicep, a.Line, s.Name, a.Value))
			continue
		}
		if d, _ := unquote(prm.Default); d != s.Default {
			p = append(p, fmt.Sprintf("%s:%d: parameter %s defaults to %s but %s defaults to %q", mainBicep, prm.Line, prm.Name, prm.Default, s.Name, s.Default))
		}
		var moduleParam string
		for k, v := range sbParams {
			if v == prm.Name {
				moduleParam = k
			}
		}
		body, ok := queues[moduleParam]
		if moduleParam == "" || !ok {
			p = append(p, fmt.Sprintf("%s: no queue is created from parameter %s (%s)", serviceBusBicep, prm.Name, s.Name))
			continue
		}
		for _, rule := range queueRules[s.Name] {
			if !strings.Contains(body, rule) {
				p = append(p, fmt.Sprintf("%s: queue %s (%s) lacks %q", serviceBusBicep, moduleParam, s.Name, rule))
			}
		}
		// SAM: a parameter with the same default.
		if v, ok := sam.Env[s.Name]; ok {
			if v.Ref == "" || !sam.Params[v.Ref].HasDefault || sam.Params[v.Ref].Default != s.Default {
				p = append(p, fmt.Sprintf("%s: %s must be !Ref a parameter defaulting to %q", samPath, s.Name, s.Default))
			}
		}
	}
	for _, name := range sortedKeys(r.Functions) {
		for _, b := range r.Functions[name].Bindings {
			if !strings.HasPrefix(strings.ToLower(b.Type), "servicebus") {
				continue
			}
			q, err := r.resolve(b.QueueName)
			if err != nil {
				p = append(p, fmt.Sprintf("functions/%s: queueName: %v", name, err))
				continue
			}
			if !names[q] {
				p = append(p, fmt.Sprintf("functions/%s: queue %q is none of the configured queues %v", name, q, sortedKeys(names)))
			}
		}
	}
	// The audit writer must know the audit queue's max delivery count.
	if s, ok := r.setting("BEHALF_AUDIT_MAX_DELIVERIES"); ok {
		if prm := mainParams["auditMaxDeliveryCount"]; prm.Default != s.Default {
			p = append(p, fmt.Sprintf("%s: auditMaxDeliveryCount defaults to %q but BEHALF_AUDIT_MAX_DELIVERIES defaults to %q", mainBicep, prm.Default, s.Default))
		}
		if a, ok := azure["BEHALF_AUDIT_MAX_DELIVERIES"]; ok && a.Value != "string(auditMaxDeliveryCount)" {
			p = append(p, fmt.Sprintf("%s:%d: BEHALF_AUDIT_MAX_DELIVERIES must be string(auditMaxDeliveryCount), the queue's max delivery count", mainBicep, a.Line))
		}
		if sbParams["auditMaxDeliveryCount"] != "auditMaxDeliveryCount" {
			p = append(p, fmt.Sprintf("%s: the servicebus module must get auditMaxDeliveryCount", mainBicep))
		}
		for _, prm := range Params(r.Bicep[serviceBusBicep]) {
			if prm.Name == "auditMaxDeliveryCount" && prm.Default != s.Default {
				p = append(p, fmt.Sprintf("%s: auditMaxDeliveryCount defaults to %q (the AWS namespace uses it) but BEHALF_AUDIT_MAX_DELIVERIES defaults to %q", serviceBusBicep, prm.Default, s.Default))
			}
		}
		if v, ok := sam.Env["BEHALF_AUDIT_MAX_DELIVERIES"]; ok && (v.Ref == "" || sam.Params[v.Ref].Default != s.Default) {
			p = append(p, fmt.Sprintf("%s: BEHALF_AUDIT_MAX_DELIVERIES must be !Ref a parameter defaulting to %q", samPath, s.Default))
		}
	}
	// The approval window is the pending queue's time to live.
	if s, ok := r.setting("BEHALF_APPROVAL_WINDOW"); ok {
		d, err := time.ParseDuration(s.Default)
		if prm, has := mainParams["approvalWindowMinutes"]; err == nil && has && prm.Default != fmt.Sprint(int(d.Minutes())) {
			p = append(p, fmt.Sprintf("%s: approvalWindowMinutes defaults to %s but BEHALF_APPROVAL_WINDOW defaults to %s", mainBicep, prm.Default, s.Default))
		}
		if a, ok := azure["BEHALF_APPROVAL_WINDOW"]; ok && a.Value != "'${approvalWindowMinutes}m'" {
			p = append(p, fmt.Sprintf("%s:%d: BEHALF_APPROVAL_WINDOW must be '${approvalWindowMinutes}m', the queue's time to live", mainBicep, a.Line))
		}
		if sbParams["approvalWindowMinutes"] != "approvalWindowMinutes" {
			p = append(p, fmt.Sprintf("%s: the servicebus module must get approvalWindowMinutes", mainBicep))
		}
		if v, ok := sam.Env["BEHALF_APPROVAL_WINDOW"]; ok && (v.Ref == "" || sam.Params[v.Ref].Default != s.Default) {
			p = append(p, fmt.Sprintf("%s: BEHALF_APPROVAL_WINDOW must be !Ref a parameter defaulting to %q", samPath, s.Default))
		}
	}
	return p
}

// checkSAMParams: a secret-looking parameter holds an ARN (a reference),
// or is NoEcho.
func checkSAMParams(sam *SAM) []string {
	var p []string
	for name, prm := range sam.Params {
		if secretish.MatchString(name) && !strings.HasSuffix(name, "Arn") && !prm.NoEcho {
			p = append(p, fmt.Sprintf("%s: parameter %s looks secret: pass a Secrets Manager ARN (…Arn) instead", samPath, name))
		}
	}
	return p
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
