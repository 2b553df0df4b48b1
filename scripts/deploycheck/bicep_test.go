package deploycheck

import (
	"strings"
	"testing"
)

// TestBicepDeclaresNoUnsecuredSecrets is acceptance 5 on the real
// templates: no secret-looking parameter without @secure(), no secret-
// looking output, no key-based connection string, no listKeys().
func TestBicepDeclaresNoUnsecuredSecrets(t *testing.T) {
	r := load(t)
	if len(r.Bicep) < 5 {
		t.Fatalf("only %d bicep files loaded", len(r.Bicep))
	}
	for _, p := range SecretProblems(r.Bicep) {
		t.Error(p)
	}
}

// TestBicepSecretGrepCatches shows each rule firing on a bad template.
func TestBicepSecretGrepCatches(t *testing.T) {
	cases := []struct {
		name, file, text, want string
	}{
		{"unsecured secret parameter", "x.bicep", "@description('the key')\nparam clientSecret string\n", "clientSecret looks secret but is not @secure()"},
		{"unsecured password after a multi-line decorator", "x.bicep", "@allowed([\n  'a'\n])\nparam adminPassword string = 'a'\n", "adminPassword looks secret"},
		{"key parameter", "x.bicep", "param storageKey string\n", "storageKey looks secret"},
		{"token parameter", "x.bicep", "param githubToken string\n", "githubToken looks secret"},
		{"connection string parameter", "x.bicep", "param serviceBusConnectionString string\n", "serviceBusConnectionString looks secret"},
		{"account key in a connection string", "x.bicep", "var c = 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=${k}'\n", "key-based credential"},
		{"shared access key", "x.bicep", "var c = 'Endpoint=sb://x/;SharedAccessKeyName=r;SharedAccessKey=abc'\n", "key-based credential"},
		{"listKeys", "x.bicep", "var k = storage.listKeys().keys[0].value\n", "key-based credential"},
		{"listKeys function", "x.bicep", "var k = listKeys(storage.id, '2023-01-01')\n", "key-based credential"},
		{"secret output", "x.bicep", "output primaryKey string = k\n", "output primaryKey looks secret"},
		{"literal secret in a parameter file", "x.bicepparam", "using './main.bicep'\nparam clientSecret = 'hunter2'\n", "clientSecret looks secret"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			problems := strings.Join(SecretProblems(map[string]string{c.file: c.text}), "\n")
			if !strings.Contains(problems, c.want) {
				t.Fatalf("want %q, got:\n%s", c.want, problems)
			}
		})
	}
	ok := map[string]string{
		"secured.bicep":    "@secure()\n@description('x')\nparam clientSecret string\n",
		"names.bicep":      "param vaultName string\nparam name string = 'kv'\noutput vaultUri string = v\n",
		"vault.bicepparam": "using './main.bicep'\nparam clientSecret = az.getSecret('sub', 'rg', 'kv', 'secret')\n",
		"reference.bicep":  "var ref = '@Microsoft.KeyVault(VaultName=${v};SecretName=session-keys)'\n",
		"comment.bicep":    "// listKeys is never used here\n",
	}
	for file, text := range ok {
		if p := SecretProblems(map[string]string{file: text}); len(p) > 0 && file != "comment.bicep" {
			t.Errorf("%s: false positive: %v", file, p)
		}
	}
}

func TestParams(t *testing.T) {
	text := "@secure()\nparam a string\n\n@description('''multi\n  line (still) it's''')\n@allowed([\n  'x)'\n])\nparam b int = 3\n// note\nparam c bool\n"
	got := Params(text)
	if len(got) != 3 || got[0].Name != "a" || !contains(got[0].Decorators, "secure") ||
		got[1].Name != "b" || got[1].Default != "3" || len(got[1].Decorators) != 2 || got[1].Line != 9 || len(got[2].Decorators) != 0 {
		t.Fatalf("%+v", got)
	}
}
