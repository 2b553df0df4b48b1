package obo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
)

// AzureDatabricksScope is the scope for Azure Databricks' first-party app.
const AzureDatabricksScope = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default"

// EntraConfig configures Entra on-behalf-of.
type EntraConfig struct {
	// Authority is https://<host>/<tenant>.
	Authority string
	// ClientID is behalf's application id.
	ClientID string
	// Credential is behalf's client credential: from a managed identity
	// (ManagedIdentityCredential), a certificate, or a development secret.
	Credential confidential.Credential
	// Scopes requested for Databricks (default AzureDatabricksScope).
	Scopes []string
	// HTTPClient for the token endpoint (tests trust the dev CA with it).
	HTTPClient *http.Client
	// DisableInstanceDiscovery is needed for authorities MSAL does not
	// know (the dev emulator).
	DisableInstanceDiscovery bool
	// ClientReuse is how many exchanges one MSAL client serves before it
	// is replaced (default DefaultClientReuse).
	ClientReuse int
}

// Entra exchanges a person's Entra token for a Databricks token with MSAL
// Go's confidential client (OBO flow).
//
// MSAL's OBO cache keeps one partition per assertion and never evicts (and
// its partitioned cache cannot be emptied through a cache accessor: MSAL
// cannot unmarshal into it), so one long-lived client would grow without
// bound with the number of people. The confidential client is therefore
// replaced after ClientReuse exchanges: memory stays bounded, and the
// authority discovery each new client performs is paid once per
// ClientReuse exchanges. The bounded Cache in front of this exchanger does
// the reuse of tokens.
type Entra struct {
	authority string
	clientID  string
	cred      confidential.Credential
	opts      []confidential.Option
	scopes    []string
	reuse     int

	mu     sync.Mutex
	client *confidential.Client
	uses   int
}

// DefaultClientReuse bounds MSAL's OBO cache to this many partitions.
const DefaultClientReuse = 1000

// NewEntra builds the MSAL confidential client.
func NewEntra(cfg EntraConfig) (*Entra, error) {
	if cfg.Authority == "" || cfg.ClientID == "" {
		return nil, errors.New("obo: Entra needs Authority and ClientID")
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{AzureDatabricksScope}
	}
	opts := []confidential.Option{
		// MSAL_FORCE_REGION in the environment must not redirect us.
		confidential.WithAzureRegion("DisableMsalForceRegion"),
	}
	if cfg.HTTPClient != nil {
		opts = append(opts, confidential.WithHTTPClient(cfg.HTTPClient))
	}
	if cfg.DisableInstanceDiscovery {
		opts = append(opts, confidential.WithInstanceDiscovery(false))
	}
	// Validate the configuration once, up front.
	if _, err := confidential.New(cfg.Authority, cfg.ClientID, cfg.Credential, opts...); err != nil {
		return nil, fmt.Errorf("obo: msal: %w", err)
	}
	if cfg.ClientReuse <= 0 {
		cfg.ClientReuse = DefaultClientReuse
	}
	return &Entra{authority: cfg.Authority, clientID: cfg.ClientID, cred: cfg.Credential, opts: opts, scopes: cfg.Scopes, reuse: cfg.ClientReuse}, nil
}

// msal returns the current client, replacing it after reuse exchanges.
// An old client stays usable by the calls that already hold it.
func (e *Entra) msal() (*confidential.Client, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.client == nil || e.uses >= e.reuse {
		c, err := confidential.New(e.authority, e.clientID, e.cred, e.opts...)
		if err != nil {
			return nil, err
		}
		e.client, e.uses = &c, 0
	}
	e.uses++
	return e.client, nil
}

// Exchange runs the OBO flow for req's assertion.
func (e *Entra) Exchange(ctx context.Context, req Request) (*Token, error) {
	client, err := e.msal()
	if err != nil {
		return nil, &Error{Code: CodeMisconfigured, Message: "behalf's MSAL client could not be built", Err: err}
	}
	res, err := client.AcquireTokenOnBehalfOf(ctx, req.Assertion, e.scopes)
	if err != nil {
		return nil, mapMSALError(err)
	}
	return &Token{AccessToken: res.AccessToken, TokenType: "Bearer", ExpiresAt: res.ExpiresOn, Scope: strings.Join(res.GrantedScopes, " "), Mode: ModeEntraOBO}, nil
}

// entraErrorBody is the JSON body of an Entra token error.
type entraErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Codes       []int  `json:"error_codes"`
	Claims      string `json:"claims"`
	SubError    string `json:"suberror"`
}

var aadsts = regexp.MustCompile(`AADSTS\d+`)

// mapMSALError turns MSAL's CallErr into a typed Error with an actionable
// message, keeping a claims challenge for the caller.
func mapMSALError(err error) error {
	var call msalerrors.CallErr
	if !errors.As(err, &call) || call.Resp == nil {
		return &Error{Code: CodeUnavailable, Message: "the identity provider could not be reached; retry shortly", Err: err}
	}
	var body entraErrorBody
	if call.Resp.Body != nil {
		b, _ := io.ReadAll(io.LimitReader(call.Resp.Body, 64<<10))
		_ = json.Unmarshal(b, &body)
	}
	code := aadsts.FindString(body.Description)
	if code == "" && len(body.Codes) > 0 {
		code = fmt.Sprintf("AADSTS%d", body.Codes[0])
	}
	// The raw MSAL error holds the response body; keep only the essentials.
	cause := fmt.Errorf("entra %s %s (status %d)", body.Error, code, call.Resp.StatusCode)
	switch {
	case body.Error == "interaction_required" || body.Claims != "":
		return &Error{Code: CodeInteractionRequired, Message: "the identity provider requires the person to sign in again (multi-factor authentication or Conditional Access); retry with the claims challenge", Claims: body.Claims, IdPCode: code, Err: cause}
	case body.Error == "consent_required" || code == "AADSTS65001":
		return &Error{Code: CodeConsentRequired, Message: "behalf has no consent to call Azure Databricks for this person; an administrator must grant consent to behalf's user_impersonation permission", IdPCode: code, Err: cause}
	case body.Error == "invalid_client" || body.Error == "unauthorized_client":
		return &Error{Code: CodeMisconfigured, Message: "behalf's own credential or app registration was refused by the identity provider; check the app registration and its federated credential", IdPCode: code, Err: cause}
	case body.Error == "invalid_grant":
		return &Error{Code: CodeInvalidGrant, Message: "the identity provider refused the person's token for exchange; sign in again", IdPCode: code, Err: cause}
	case call.Resp.StatusCode == http.StatusTooManyRequests || call.Resp.StatusCode >= 500:
		return &Error{Code: CodeUnavailable, Message: "the identity provider is unavailable; retry shortly", IdPCode: code, Err: cause}
	}
	return &Error{Code: CodeInvalidGrant, Message: "the identity provider refused the exchange", IdPCode: code, Err: cause}
}

// ManagedIdentityAssertion returns a client credential that proves
// behalf's identity with a managed-identity token for
// api://AzureADTokenExchange (a federated identity credential): no secret
// exists anywhere.
func ManagedIdentityAssertion(cred azcore.TokenCredential) confidential.Credential {
	return confidential.NewCredFromAssertionCallback(func(ctx context.Context, _ confidential.AssertionRequestOptions) (string, error) {
		tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"api://AzureADTokenExchange/.default"}})
		if err != nil {
			return "", fmt.Errorf("managed identity assertion: %w", err)
		}
		return tok.Token, nil
	})
}
