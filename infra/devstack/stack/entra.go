package stack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/behalf-dev/behalf/infra/devstack/devca"
	"github.com/behalf-dev/behalf/infra/devstack/directory"
	"github.com/behalf-dev/behalf/infra/devstack/entra"
	"github.com/behalf-dev/behalf/shared/session"
)

// behalfAppName is the demo directory's app registration of behalf.
const behalfAppName = "behalf"

// identity is the started Entra emulator and what behalf needs to use it.
type identity struct {
	emu    *entra.Emulator
	app    directory.App
	tenant string
	// credentialNote explains the credential choice in the banner.
	credentialNote string
	restoreEnv     func()
}

// startEntra starts the Entra ID emulator and fills the identity settings.
func startEntra(ctx context.Context, o Options, dir *directory.Directory, ca *devca.CA, dataDir string, settings map[string]string) (*identity, error) {
	app, ok := dir.AppNamed(behalfAppName)
	if !ok {
		return nil, fmt.Errorf("entra emulator: the directory has no app named %q", behalfAppName)
	}
	emu, err := entra.New(entra.Config{Directory: dir, CA: ca, Addr: o.EntraAddr})
	if err != nil {
		return nil, fmt.Errorf("entra emulator: %w", err)
	}
	if err := emu.Start(ctx); err != nil {
		return nil, fmt.Errorf("entra emulator: %w (is the port taken? use --entra-addr)", err)
	}
	id := &identity{emu: emu, app: app, tenant: app.Tenant, restoreEnv: func() {}}
	keys, err := sessionKeys(filepath.Join(dataDir, "session-keys"))
	if err != nil {
		id.close()
		return nil, err
	}
	var brokers []string
	for _, a := range dir.Apps {
		if a.BrokerAllowed {
			brokers = append(brokers, a.ClientID)
		}
	}
	for k, v := range map[string]string{
		"BEHALF_CLIENT_ID":           app.ClientID,
		"BEHALF_TENANT_IDS":          app.Tenant,
		"BEHALF_AUTHORITY_HOST":      emu.URL(),
		"BEHALF_V1_ISSUER_HOST":      entra.V1IssuerHost,
		"BEHALF_BROKER_ALLOWED_APPS": strings.Join(brokers, ","),
		"BEHALF_SESSION_KEYS":        keys,
	} {
		settings[k] = v
	}
	id.chooseCredential(settings)
	return id, nil
}

// chooseCredential prefers behalf's production credential, the managed
// identity as a federated credential (no secret anywhere). azidentity
// reads IDENTITY_ENDPOINT and IDENTITY_HEADER from the process
// environment, not from behalf's settings, so they are set there, and
// removed again when the stack stops. When the environment already names
// another managed-identity host, the dev secret is used instead.
func (id *identity) chooseCredential(settings map[string]string) {
	mis := id.app.FederatedManagedIdentities
	_, endpointSet := os.LookupEnv("IDENTITY_ENDPOINT")
	_, headerSet := os.LookupEnv("IDENTITY_HEADER")
	_, fabric := os.LookupEnv("IDENTITY_SERVER_THUMBPRINT")
	if len(mis) == 0 || endpointSet || headerSet || fabric {
		settings["BEHALF_CREDENTIAL"] = "secret"
		settings["BEHALF_CLIENT_SECRET"] = id.app.Secret
		id.credentialNote = "behalf authenticates with the dev client secret (IDENTITY_ENDPOINT is already set in this environment)"
		return
	}
	_ = os.Setenv("IDENTITY_ENDPOINT", id.emu.ManagedIdentityEndpoint())
	_ = os.Setenv("IDENTITY_HEADER", id.emu.IdentityHeader())
	id.restoreEnv = func() {
		_ = os.Unsetenv("IDENTITY_ENDPOINT")
		_ = os.Unsetenv("IDENTITY_HEADER")
	}
	settings["BEHALF_CREDENTIAL"] = "managed-identity"
	settings["BEHALF_MANAGED_IDENTITY_CLIENT_ID"] = mis[0]
	id.credentialNote = "behalf authenticates with its managed identity (federated credential, no secret)"
}

// appStarted registers behalf's sign-in callback on the port the app got
// (redirect URIs match exactly) and allows the app's own origins.
func (id *identity) appStarted(appURL string, settings map[string]string) error {
	if err := id.emu.AddRedirectURI(id.app.ClientID, appURL+"/api/auth/callback"); err != nil {
		return err
	}
	origins := []string{appURL}
	if u, err := url.Parse(appURL); err == nil && u.Hostname() == "127.0.0.1" {
		origins = append(origins, "http://localhost:"+u.Port())
	}
	settings["BEHALF_ALLOWED_ORIGINS"] = strings.Join(origins, ",")
	return nil
}

func (id *identity) close() {
	id.restoreEnv()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = id.emu.Close(sctx)
}

// people lists the tenant's demo people for the banner.
func (id *identity) people(dir *directory.Directory) []Person {
	var out []Person
	for _, p := range dir.People {
		if p.External {
			out = append(out, Person{Name: p.Name, UPN: p.UPN, Role: p.Role + " (partner IdP)"})
		} else if p.Tenant == id.tenant {
			out = append(out, Person{Name: p.Name, UPN: p.UPN, Role: p.Role})
		}
	}
	return out
}

// sessionKeys reads the dev cookie-session key, or makes and keeps one, so
// sessions survive restarts of `behalf dev`.
func sessionKeys(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		v := strings.TrimSpace(string(b))
		keys, perr := session.ParseKeys(v)
		if perr == nil && len(keys[0].Secret) == 32 {
			return v, nil
		}
		return "", fmt.Errorf("stack: %s is not a session key (id:base64 of 32 bytes); delete it to make a new one", path)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("stack: session key: %w", err)
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return "", fmt.Errorf("stack: session key: %w", err)
	}
	v := "dev1:" + base64.StdEncoding.EncodeToString(secret)
	if err := os.WriteFile(path, []byte(v+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("stack: session key: %w", err)
	}
	return v, nil
}
