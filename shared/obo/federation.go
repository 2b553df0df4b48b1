package obo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	dbxoidc "github.com/databricks/databricks-sdk-go/config/experimental/auth/oidc"
	"github.com/databricks/databricks-sdk-go/credentials/u2m"
	"golang.org/x/oauth2"
)

// FederationConfig configures Databricks token federation.
type FederationConfig struct {
	// Host is the workspace (or account) URL whose /oidc/v1/token is used.
	Host string
	// TokenEndpoint overrides Host + /oidc/v1/token (account endpoints).
	TokenEndpoint string
	// Roles maps an external IdP group to the application id of the role
	// service principal its members act as (service-principal federation).
	Roles map[string]string
	// Tools maps a role service principal application id to the functions
	// it may call: defence in depth on top of Unity Catalog grants.
	Tools map[string][]string
	// AllowUserFederation lets people with no role group exchange as
	// themselves (user federation, no client_id).
	AllowUserFederation bool
	// Scopes requested (default all-apis).
	Scopes     []string
	HTTPClient *http.Client
}

// Federation exchanges a token from any trusted OIDC IdP for a Databricks
// token through RFC 8693 token exchange, using databricks-sdk-go's OIDC
// token source.
type Federation struct {
	cfg FederationConfig
}

// NewFederation validates the configuration.
func NewFederation(cfg FederationConfig) (*Federation, error) {
	if cfg.Host == "" && cfg.TokenEndpoint == "" {
		return nil, errors.New("obo: federation needs Host or TokenEndpoint")
	}
	if cfg.TokenEndpoint == "" {
		cfg.TokenEndpoint = strings.TrimRight(cfg.Host, "/") + "/oidc/v1/token"
	}
	if !strings.HasPrefix(cfg.TokenEndpoint, "https://") {
		return nil, fmt.Errorf("obo: federation token endpoint %q must use https", cfg.TokenEndpoint)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	return &Federation{cfg: cfg}, nil
}

// RoleFor returns the role service principal for a person, chosen by
// their IdP groups (sorted, first match), or "" for user federation.
func (f *Federation) RoleFor(req Request) (string, error) {
	if req.Principal == nil {
		return "", &Error{Code: CodeNotAllowed, Message: "no verified person"}
	}
	groups := slices.Clone(req.Principal.Groups)
	sort.Strings(groups)
	for _, g := range groups {
		if sp, ok := f.cfg.Roles[g]; ok {
			return sp, nil
		}
	}
	if f.cfg.AllowUserFederation {
		return "", nil
	}
	return "", &Error{Code: CodeNotAllowed, Message: "this person belongs to no group that maps to a Databricks role"}
}

// Authorize applies the tool-access matrix: a role may call only the
// functions listed for it. People exchanging as themselves are not limited
// here (Unity Catalog governs them).
func (f *Federation) Authorize(req Request, function string) error {
	role, err := f.RoleFor(req)
	if err != nil {
		return err
	}
	if role == "" {
		return nil
	}
	if !slices.Contains(f.cfg.Tools[role], function) {
		return &Error{Code: CodeNotAllowed, Message: fmt.Sprintf("the role this person acts as may not call %s", function)}
	}
	return nil
}

// Exchange performs the token exchange.
func (f *Federation) Exchange(ctx context.Context, req Request) (*Token, error) {
	role, err := f.RoleFor(req)
	if err != nil {
		return nil, err
	}
	cfg := dbxoidc.DatabricksOIDCTokenSourceConfig{
		ClientID: role,
		Host:     f.cfg.Host,
		TokenEndpointProvider: func(context.Context) (*u2m.OAuthAuthorizationServer, error) {
			return &u2m.OAuthAuthorizationServer{TokenEndpoint: f.cfg.TokenEndpoint}, nil
		},
		IDTokenSource: dbxoidc.IDTokenSourceFn(func(context.Context, string) (*dbxoidc.IDToken, error) {
			return &dbxoidc.IDToken{Value: req.Assertion}, nil
		}),
	}
	if cfg.Host == "" {
		cfg.Host = f.cfg.TokenEndpoint
	}
	if len(f.cfg.Scopes) > 0 {
		cfg.SetScopes(f.cfg.Scopes)
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, f.cfg.HTTPClient)
	tok, err := dbxoidc.NewDatabricksOIDCTokenSource(cfg).Token(ctx)
	if err != nil {
		return nil, mapOAuthError(err)
	}
	scope, _ := tok.Extra("scope").(string)
	return &Token{AccessToken: tok.AccessToken, TokenType: "Bearer", ExpiresAt: tok.Expiry, Scope: scope, Mode: ModeFederation, Role: role}, nil
}

func mapOAuthError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		return &Error{Code: CodeUnavailable, Message: "the Databricks token endpoint could not be reached; retry shortly", Err: err}
	}
	cause := fmt.Errorf("databricks token exchange: %s (status %d)", re.ErrorCode, re.Response.StatusCode)
	switch {
	case re.Response.StatusCode == http.StatusTooManyRequests || re.Response.StatusCode >= 500:
		return &Error{Code: CodeUnavailable, Message: "the Databricks token endpoint is unavailable; retry shortly", Err: cause}
	case re.ErrorCode == "invalid_client" || re.ErrorCode == "unauthorized_client":
		return &Error{Code: CodeMisconfigured, Message: "Databricks refused the role service principal; check its federation policy", Err: cause}
	}
	return &Error{Code: CodeInvalidGrant, Message: "Databricks refused the token exchange; check the federation policy (issuer, audience, subject)", Err: cause}
}

// Forwarded uses the token the Databricks Apps proxy forwards
// (X-Forwarded-Access-Token): the proxy already did the exchange.
type Forwarded struct{}

// ForwardedHeader carries the forwarded token.
const ForwardedHeader = "X-Forwarded-Access-Token"

// Exchange returns the forwarded token as the Databricks token.
func (Forwarded) Exchange(_ context.Context, req Request) (*Token, error) {
	if req.Assertion == "" {
		return nil, &Error{Code: CodeNotAllowed, Message: "no " + ForwardedHeader + " on the request"}
	}
	return &Token{AccessToken: req.Assertion, TokenType: "Bearer", Mode: ModeForwarded}, nil
}
