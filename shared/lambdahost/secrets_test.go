package lambdahost

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/behalf-dev/behalf/shared/config"
)

const (
	keysARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:behalf/session-keys-AbCdEf"
	certARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:behalf/client-cert-AbCdEf"
)

type mapSource map[string]string

func (m mapSource) SecretString(_ context.Context, arn string) (string, error) {
	v, ok := m[arn]
	if !ok {
		return "", errors.New("ResourceNotFoundException")
	}
	return v, nil
}

func envLookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func environ(env map[string]string) []string {
	var out []string
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

func TestLambdaSecretSettingsFollowConfig(t *testing.T) {
	got := map[string]bool{}
	for _, s := range SecretSettings(config.Settings()) {
		got[s.Name] = s.File
	}
	for _, s := range config.Settings() {
		if s.Secret {
			if file, ok := got[s.Name]; !ok || file {
				t.Errorf("secret setting %s cannot come from Secrets Manager as a value", s.Name)
			}
		}
	}
	if file, ok := got["BEHALF_CLIENT_CERTIFICATE_PATH"]; !ok || !file {
		t.Error("BEHALF_CLIENT_CERTIFICATE_PATH is not a file secret")
	}
	if _, ok := got["BEHALF_DATABRICKS_HOST"]; ok {
		t.Error("a plain setting is treated as a secret")
	}
}

func TestLambdaResolveSecrets(t *testing.T) {
	settings := []SecretSetting{{Name: "BEHALF_SESSION_KEYS"}, {Name: "BEHALF_CLIENT_CERTIFICATE_PATH", File: true}}
	env := map[string]string{
		"BEHALF_SESSION_KEYS_SECRET_ARN":            keysARN,
		"BEHALF_CLIENT_CERTIFICATE_PATH_SECRET_ARN": certARN,
		"BEHALF_CLIENT_ID":                          "app",
	}
	src := mapSource{keysARN: "k1:c2VjcmV0", certARN: "-----BEGIN CERTIFICATE-----\n..."}
	calls := 0
	dir := t.TempDir()
	lookup, err := ResolveSecrets(context.Background(), SecretsConfig{Settings: settings, Lookup: envLookup(env), Environ: environ(env), Dir: dir,
		NewSource: func(context.Context) (SecretSource, error) { calls++; return src, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := lookup("BEHALF_SESSION_KEYS"); v != "k1:c2VjcmV0" {
		t.Fatal("session keys not resolved")
	}
	if v, _ := lookup("BEHALF_CLIENT_ID"); v != "app" {
		t.Fatal("plain settings no longer pass through")
	}
	p, _ := lookup("BEHALF_CLIENT_CERTIFICATE_PATH")
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o600 || !strings.HasPrefix(p, dir) {
		t.Fatalf("certificate file %q: %v %v", p, st, err)
	}
	if b, _ := os.ReadFile(p); string(b) != src[certARN] {
		t.Fatal("certificate file content differs")
	}
	if calls != 1 {
		t.Fatalf("client built %d times", calls)
	}

	// Without references no client is built at all.
	plain := map[string]string{"BEHALF_CLIENT_ID": "app"}
	if _, err := ResolveSecrets(context.Background(), SecretsConfig{Settings: settings, Lookup: envLookup(plain), Environ: environ(plain),
		NewSource: func(context.Context) (SecretSource, error) { t.Fatal("client built"); return nil, nil }}); err != nil {
		t.Fatal(err)
	}
}

func TestLambdaResolveSecretsRefusesBadReferences(t *testing.T) {
	settings := []SecretSetting{{Name: "BEHALF_SESSION_KEYS"}}
	src := func(context.Context) (SecretSource, error) {
		return mapSource{keysARN: "k1:x", keysARN + "2": "  "}, nil
	}
	cases := map[string]struct {
		env  map[string]string
		want string
	}{
		"both set":       {map[string]string{"BEHALF_SESSION_KEYS": "k", "BEHALF_SESSION_KEYS_SECRET_ARN": keysARN}, "both set"},
		"not an ARN":     {map[string]string{"BEHALF_SESSION_KEYS_SECRET_ARN": "behalf/session-keys"}, "must be a Secrets Manager ARN"},
		"wrong service":  {map[string]string{"BEHALF_SESSION_KEYS_SECRET_ARN": "arn:aws:ssm:eu-west-1:1:parameter/x"}, "must be a Secrets Manager ARN"},
		"typo":           {map[string]string{"BEHALF_SESION_KEYS_SECRET_ARN": keysARN}, "names no setting"},
		"not a secret":   {map[string]string{"BEHALF_CLIENT_ID_SECRET_ARN": keysARN}, "names no setting"},
		"missing secret": {map[string]string{"BEHALF_SESSION_KEYS_SECRET_ARN": keysARN + "3"}, "ResourceNotFoundException"},
		"empty secret":   {map[string]string{"BEHALF_SESSION_KEYS_SECRET_ARN": keysARN + "2"}, "empty"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ResolveSecrets(context.Background(), SecretsConfig{Settings: settings, Lookup: envLookup(c.env), Environ: environ(c.env), NewSource: src})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if strings.Contains(err.Error(), "k1:x") {
				t.Fatal("error shows a secret value")
			}
		})
	}
}

// TestSecretsManagerClient runs the real SDK client against a local
// endpoint speaking the Secrets Manager JSON protocol.
func TestLambdaSecretsManagerClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256") {
			http.Error(w, "unexpected call", http.StatusBadRequest)
			return
		}
		var in struct{ SecretId string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		switch in.SecretId {
		case keysARN:
			_ = json.NewEncoder(w).Encode(map[string]any{"ARN": keysARN, "Name": "behalf/session-keys", "SecretString": "k1:c2VjcmV0"})
		case certARN:
			_ = json.NewEncoder(w).Encode(map[string]any{"ARN": certARN, "SecretBinary": "AAEC"})
		default:
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"__type": "ResourceNotFoundException", "message": "Secrets Manager can't find the specified secret."})
		}
	}))
	defer srv.Close()
	sm, err := NewSecretsManager(context.Background(),
		awsconfig.WithRegion("eu-west-1"),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDTEST", "test-secret", "")),
		awsconfig.WithBaseEndpoint(srv.URL),
		awsconfig.WithRetryMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := sm.SecretString(context.Background(), keysARN); err != nil || v != "k1:c2VjcmV0" {
		t.Fatalf("got %q, %v", v, err)
	}
	if _, err := sm.SecretString(context.Background(), certARN); err == nil || !strings.Contains(err.Error(), "binary") {
		t.Fatalf("binary secret: %v", err)
	}
	if _, err := sm.SecretString(context.Background(), keysARN+"x"); err == nil || !strings.Contains(err.Error(), "ResourceNotFound") {
		t.Fatalf("missing secret: %v", err)
	}
}
