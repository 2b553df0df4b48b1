package main

import (
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/databricks/databricks-sdk-go"

	"github.com/behalf-dev/behalf/shared/config"
	"github.com/behalf-dev/behalf/shared/genie"
	"github.com/behalf-dev/behalf/shared/httpapi"
	"github.com/behalf-dev/behalf/shared/identity"
	"github.com/behalf-dev/behalf/shared/obo"
	"github.com/behalf-dev/behalf/shared/session"
	"github.com/behalf-dev/behalf/shared/signin"
	"github.com/behalf-dev/behalf/shared/webauth"
	"github.com/behalf-dev/behalf/shared/workspace"
)

// identityDeps is everything that acts for a person: token validation,
// sessions, sign-in, the exchange and per-request Databricks clients.
// When required settings are missing it holds only the list of them, and
// every function that needs it answers 503 naming them (fail closed).
type identityDeps struct {
	missing    []string
	cfg        config.Identity
	auth       *webauth.Authenticator
	sessions   *session.Codec // nil without BEHALF_SESSION_KEYS
	signin     *signin.Flow   // nil without sessions or a public URL
	exchanger  obo.Exchanger
	federation *obo.Federation // nil unless BEHALF_EXCHANGE=federation
	workspaces *workspace.Factory
	httpClient *http.Client
}

func newIdentityDeps(ctx context.Context, cfg *config.Config) (*identityDeps, error) {
	id := cfg.Identity
	d := &identityDeps{cfg: id, missing: id.Missing()}
	if len(d.missing) > 0 {
		return d, nil
	}
	roots, err := rootCAs(id.CAFile)
	if err != nil {
		return nil, err
	}
	d.httpClient = &http.Client{Timeout: 30 * time.Second, Transport: transportWith(roots)}

	var extra []identity.Issuer
	for _, fi := range id.FederationIssuers {
		extra = append(extra, identity.Issuer{URL: fi.URL, Audience: fi.Audience})
	}
	validator, err := identity.NewValidator(ctx, identity.Config{
		ClientID: id.ClientID, Tenants: id.Tenants, AuthorityHost: id.AuthorityHost, V1IssuerHost: id.V1IssuerHost,
		RequiredScope: id.APIScope, Extra: extra, HTTPClient: d.httpClient,
	})
	if err != nil {
		return nil, err
	}
	if d.workspaces, err = workspace.NewFactory(workspace.Config{Host: id.DatabricksHost, RootCAs: roots}); err != nil {
		return nil, err
	}

	var cred confidential.Credential
	if len(id.Tenants) > 0 {
		if cred, err = clientCredential(id, d.httpClient); err != nil {
			return nil, err
		}
	}
	authority := id.AuthorityHost + "/" + firstOr(id.Tenants, "")
	customAuthority := !strings.HasPrefix(id.AuthorityHost, "https://login.microsoftonline.com")

	var exchanger obo.Exchanger
	switch id.Exchange {
	case "entra-obo":
		exchanger, err = obo.NewEntra(obo.EntraConfig{Authority: authority, ClientID: id.ClientID, Credential: cred,
			Scopes: []string{id.DatabricksResource + "/.default"}, HTTPClient: d.httpClient, DisableInstanceDiscovery: customAuthority})
	case "federation":
		d.federation, err = obo.NewFederation(obo.FederationConfig{Host: id.DatabricksHost, Roles: id.FederationRoles, Tools: id.FederationTools,
			AllowUserFederation: len(id.FederationRoles) == 0, HTTPClient: d.httpClient})
		exchanger = d.federation
	case "forwarded":
		exchanger = obo.Forwarded{}
	}
	if err != nil {
		return nil, err
	}
	if id.Exchange != "forwarded" {
		if exchanger, err = obo.NewCache(exchanger, obo.CacheConfig{Size: id.OBOCacheSize}); err != nil {
			return nil, err
		}
	}
	d.exchanger = exchanger

	d.auth = &webauth.Authenticator{Validator: validator}
	if id.SessionKeys != "" {
		keys, err := session.ParseKeys(id.SessionKeys)
		if err != nil {
			return nil, fmt.Errorf("BEHALF_SESSION_KEYS: %w", err)
		}
		secure := !strings.HasPrefix(id.PublicURL, "http://")
		if d.sessions, err = session.New(session.Config{Keys: keys, Secure: secure}); err != nil {
			return nil, err
		}
		d.auth.Sessions = d.sessions
		if id.PublicURL != "" && len(id.Tenants) > 0 {
			d.signin, err = signin.New(ctx, signin.Config{
				Authority: authority, Issuer: authority + "/v2.0", ClientID: id.ClientID, Credential: cred,
				RedirectURI: id.PublicURL + "/api/auth/callback", APIScope: "api://" + id.ClientID + "/" + id.APIScope,
				HTTPClient: d.httpClient, DisableInstanceDiscovery: customAuthority,
			})
			if err != nil {
				return nil, err
			}
			d.auth.Refresher = d.signin
		}
	}
	return d, nil
}

// ready fails closed when identity is not configured.
func (d *identityDeps) ready() error {
	if len(d.missing) == 0 {
		return nil
	}
	return &httpapi.Error{Status: http.StatusServiceUnavailable, Code: httpapi.CodeUnavailable,
		Message: "behalf is not configured to act for people yet; set " + strings.Join(d.missing, ", ")}
}

// Authenticate validates the caller.
func (d *identityDeps) Authenticate(w http.ResponseWriter, r *http.Request) (*webauth.Caller, error) {
	if err := d.ready(); err != nil {
		return nil, err
	}
	c, err := d.auth.Authenticate(w, r)
	if err == nil {
		noteCaller(r.Context(), c)
	}
	return c, err
}

// Exchange gets a Databricks token for the caller, applying the
// federation tool matrix for the calling function.
func (d *identityDeps) Exchange(ctx context.Context, r *http.Request, c *webauth.Caller, function string) (*obo.Token, error) {
	if err := d.ready(); err != nil {
		return nil, err
	}
	req := obo.Request{Assertion: c.Assertion, Principal: c.Principal}
	if d.cfg.Exchange == "forwarded" {
		req.Assertion = r.Header.Get(obo.ForwardedHeader)
	}
	if d.federation != nil {
		if err := d.federation.Authorize(req, function); err != nil {
			return nil, webauth.IdentityError(err)
		}
	}
	tok, err := d.exchanger.Exchange(ctx, req)
	if err != nil {
		return nil, webauth.IdentityError(err)
	}
	noteToken(ctx, tok)
	return tok, nil
}

// Workspace builds a client for this request only, holding only tok.
func (d *identityDeps) Workspace(tok *obo.Token) (*databricks.WorkspaceClient, error) {
	return d.workspaces.ForToken(tok.AccessToken)
}

func clientCredential(id config.Identity, hc *http.Client) (confidential.Credential, error) {
	switch id.Credential {
	case "secret":
		return confidential.NewCredFromSecret(id.ClientSecret)
	case "certificate":
		pem, err := os.ReadFile(id.CertificatePath)
		if err != nil {
			return confidential.Credential{}, fmt.Errorf("BEHALF_CLIENT_CERTIFICATE_PATH: %w", err)
		}
		certs, key, err := confidential.CertFromPEM(pem, "")
		if err != nil {
			return confidential.Credential{}, fmt.Errorf("BEHALF_CLIENT_CERTIFICATE_PATH: %w", err)
		}
		return confidential.NewCredFromCert(certs, key)
	default:
		opts := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: azcore.ClientOptions{Transport: hc}}
		if id.ManagedIdentityClientID != "" {
			opts.ID = azidentity.ClientID(id.ManagedIdentityClientID)
		}
		mi, err := azidentity.NewManagedIdentityCredential(opts)
		if err != nil {
			return confidential.Credential{}, fmt.Errorf("managed identity: %w", err)
		}
		return obo.ManagedIdentityAssertion(mi), nil
	}
}

func rootCAs(caFile string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if caFile == "" {
		return pool, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("BEHALF_CA_FILE: %w", err)
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("BEHALF_CA_FILE holds no PEM certificate")
	}
	return pool, nil
}

func firstOr(ss []string, def string) string {
	if len(ss) > 0 {
		return ss[0]
	}
	return def
}

func newGenieService(cfg *config.Config) (*genie.Service, error) {
	key, err := handleKey(cfg.Identity.SessionKeys)
	if err != nil {
		return nil, err
	}
	handles, err := genie.NewHandles(key)
	if err != nil {
		return nil, err
	}
	g := cfg.Genie
	return genie.New(genie.Config{
		DefaultSpace: g.DefaultSpace, AllowedSpaces: g.AllowedSpaces, MaxRows: g.MaxRows,
		NewDeadline: g.Deadline, FollowUpDeadline: g.FollowUpDeadline, PollInitial: g.PollInitial, PollMax: g.PollMax,
		QuestionsPerMinute: g.QuestionsPerMinute, Handles: handles,
	})
}

// handleKey derives the conversation-handle key from the first session key
// (HKDF, its own label), so handles verify on every instance. Without
// session keys a random per-process key is used: handles then only work on
// the instance that issued them (config check says so).
func handleKey(sessionKeys string) ([]byte, error) {
	if sessionKeys == "" {
		k := make([]byte, 32)
		_, err := rand.Read(k)
		return k, err
	}
	keys, err := session.ParseKeys(sessionKeys)
	if err != nil {
		return nil, fmt.Errorf("BEHALF_SESSION_KEYS: %w", err)
	}
	return hkdf.Key(sha256.New, keys[0].Secret, nil, "behalf genie conversation handles v1", 32)
}

// httpClientOrDefault is the outbound client trusting BEHALF_CA_FILE, or
// nil (the default client) when identity is not configured.
func (d *identityDeps) httpClientOrDefault() *http.Client { return d.httpClient }
