package config

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Identity is how behalf knows people and acts for them.
type Identity struct {
	ClientID      string
	Tenants       []string
	AuthorityHost string
	V1IssuerHost  string
	APIScope      string
	// Credential is managed-identity, certificate or secret.
	Credential              string
	ManagedIdentityClientID string
	CertificatePath         string
	ClientSecret            string
	DatabricksHost          string
	DatabricksResource      string
	// Exchange is entra-obo, federation or forwarded.
	Exchange          string
	FederationIssuers []FederationIssuer
	FederationRoles   map[string]string
	FederationTools   map[string][]string
	OBOCacheSize      int
	BrokerAllowedApps []string
	SessionKeys       string
	PublicURL         string
	AllowedOrigins    []string
	CAFile            string
}

// FederationIssuer is an additional OIDC issuer for token federation.
type FederationIssuer struct {
	URL      string
	Audience string
}

// Missing lists the settings every authenticated function
// needs are present; functions answer 503 with the missing names otherwise.
func (i Identity) Missing() []string {
	var m []string
	if i.ClientID == "" {
		m = append(m, "BEHALF_CLIENT_ID")
	}
	if len(i.Tenants) == 0 && len(i.FederationIssuers) == 0 {
		m = append(m, "BEHALF_TENANT_IDS")
	}
	if i.DatabricksHost == "" {
		m = append(m, "BEHALF_DATABRICKS_HOST")
	}
	return m
}

func identitySettings() []Setting {
	str := func(name, def, desc string, set func(*Identity, string)) Setting {
		return Setting{Name: name, Default: def, Description: desc, apply: func(c *Config, v string) error { set(&c.Identity, v); return nil }}
	}
	httpsURL := func(name, def, desc string, set func(*Identity, string)) Setting {
		return Setting{Name: name, Default: def, Description: desc, apply: func(c *Config, v string) error {
			if v == "" {
				return nil
			}
			u, err := url.Parse(v)
			if err != nil || u.Scheme != "https" || u.Host == "" {
				return fmt.Errorf("must be an https URL, got %q", v)
			}
			set(&c.Identity, strings.TrimRight(v, "/"))
			return nil
		}}
	}
	return []Setting{
		str("BEHALF_CLIENT_ID", "", "Application (client) id of behalf's Entra app registration; tokens must be issued for it.",
			func(i *Identity, v string) { i.ClientID = v }),
		{Name: "BEHALF_TENANT_IDS", Description: "Comma-separated Entra tenant ids whose people may call behalf; the first is behalf's home tenant.",
			apply: func(c *Config, v string) error { c.Identity.Tenants = splitList(v); return nil }},
		httpsURL("BEHALF_AUTHORITY_HOST", "https://login.microsoftonline.com", "Entra sign-in host (sovereign clouds and the dev emulator differ).",
			func(i *Identity, v string) { i.AuthorityHost = v }),
		httpsURL("BEHALF_V1_ISSUER_HOST", "https://sts.windows.net", "Issuer host of Entra v1 tokens.",
			func(i *Identity, v string) { i.V1IssuerHost = v }),
		str("BEHALF_API_SCOPE", "access_as_user", "Delegated scope behalf's API exposes; user tokens must carry it.",
			func(i *Identity, v string) { i.APIScope = v }),
		{Name: "BEHALF_CREDENTIAL", Default: "managed-identity", Description: "How behalf proves its own identity to Entra: managed-identity (federated credential, no secret), certificate, or secret (development only).",
			apply: func(c *Config, v string) error {
				if !slices.Contains([]string{"managed-identity", "certificate", "secret"}, v) {
					return fmt.Errorf("must be managed-identity, certificate or secret, got %q", v)
				}
				c.Identity.Credential = v
				return nil
			}},
		str("BEHALF_MANAGED_IDENTITY_CLIENT_ID", "", "Client id of the user-assigned managed identity (unset: system-assigned).",
			func(i *Identity, v string) { i.ManagedIdentityClientID = v }),
		str("BEHALF_CLIENT_CERTIFICATE_PATH", "", "PEM file with behalf's certificate and private key (BEHALF_CREDENTIAL=certificate).",
			func(i *Identity, v string) { i.CertificatePath = v }),
		{Name: "BEHALF_CLIENT_SECRET", Secret: true, Description: "Client secret (BEHALF_CREDENTIAL=secret). Development only: production uses the managed identity.",
			apply: func(c *Config, v string) error { c.Identity.ClientSecret = v; return nil }},
		httpsURL("BEHALF_DATABRICKS_HOST", "", "Databricks workspace URL.",
			func(i *Identity, v string) { i.DatabricksHost = v }),
		str("BEHALF_DATABRICKS_RESOURCE", "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d", "Entra application id of Azure Databricks (the OBO resource).",
			func(i *Identity, v string) { i.DatabricksResource = v }),
		{Name: "BEHALF_EXCHANGE", Default: "entra-obo", Description: "How a person's token becomes a Databricks token: entra-obo, federation (RFC 8693 at the workspace) or forwarded (Databricks Apps proxy header).",
			apply: func(c *Config, v string) error {
				if !slices.Contains([]string{"entra-obo", "federation", "forwarded"}, v) {
					return fmt.Errorf("must be entra-obo, federation or forwarded, got %q", v)
				}
				c.Identity.Exchange = v
				return nil
			}},
		{Name: "BEHALF_FEDERATION_ISSUERS", Description: "Extra OIDC issuers for token federation: issuerURL|audience, comma-separated.",
			apply: func(c *Config, v string) error {
				c.Identity.FederationIssuers = nil
				for _, item := range splitList(v) {
					iss, aud, ok := strings.Cut(item, "|")
					if !ok || !strings.HasPrefix(iss, "https://") || aud == "" {
						return fmt.Errorf("each entry must be https-issuer|audience, got %q", item)
					}
					c.Identity.FederationIssuers = append(c.Identity.FederationIssuers, FederationIssuer{URL: iss, Audience: aud})
				}
				return nil
			}},
		{Name: "BEHALF_FEDERATION_ROLES", Description: "External IdP group to role service principal: group=applicationId, comma-separated.",
			apply: func(c *Config, v string) error {
				m, err := parsePairs(v)
				c.Identity.FederationRoles = m
				return err
			}},
		{Name: "BEHALF_FEDERATION_TOOLS", Description: "Functions each role service principal may call: applicationId=fn1+fn2, comma-separated.",
			apply: func(c *Config, v string) error {
				m, err := parsePairs(v)
				if err != nil {
					return err
				}
				c.Identity.FederationTools = map[string][]string{}
				for k, fns := range m {
					c.Identity.FederationTools[k] = strings.Split(fns, "+")
				}
				return nil
			}},
		{Name: "BEHALF_OBO_CACHE_SIZE", Default: "10000", Description: "Most exchanged Databricks tokens kept in memory (a bound, whatever the number of people).",
			apply: func(c *Config, v string) error {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 || n > 1_000_000 {
					return fmt.Errorf("must be a count between 1 and 1000000, got %q", v)
				}
				c.Identity.OBOCacheSize = n
				return nil
			}},
		{Name: "BEHALF_BROKER_ALLOWED_APPS", Description: "Client app ids (azp/appid) allowed to call obo-exchange, comma-separated; empty allows none.",
			apply: func(c *Config, v string) error { c.Identity.BrokerAllowedApps = splitList(v); return nil }},
		{Name: "BEHALF_SESSION_KEYS", Secret: true, Description: "Cookie-session keys, id:base64(32 bytes), comma-separated; the first encrypts (rotation). Keep them in Key Vault.",
			apply: func(c *Config, v string) error { c.Identity.SessionKeys = v; return nil }},
		{Name: "BEHALF_PUBLIC_URL", Description: "Public base URL of behalf (for the sign-in redirect URI), e.g. https://behalf.example.com.",
			apply: func(c *Config, v string) error {
				if v == "" {
					return nil
				}
				u, err := url.Parse(v)
				if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
					return fmt.Errorf("must be an https URL (http only for localhost), got %q", v)
				}
				c.Identity.PublicURL = strings.TrimRight(v, "/")
				return nil
			}},
		{Name: "BEHALF_ALLOWED_ORIGINS", Description: "Origins a sign-in may redirect back to (frontends), comma-separated.",
			apply: func(c *Config, v string) error { c.Identity.AllowedOrigins = splitList(v); return nil }},
		str("BEHALF_CA_FILE", "", "Extra CA certificates (PEM) to trust for the IdP and workspace; for the dev stack.",
			func(i *Identity, v string) { i.CAFile = v }),
	}
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func parsePairs(v string) (map[string]string, error) {
	m := map[string]string{}
	for _, item := range splitList(v) {
		k, val, ok := strings.Cut(item, "=")
		if !ok || k == "" || val == "" {
			return nil, fmt.Errorf("each entry must be key=value, got %q", item)
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(val)
	}
	return m, nil
}
