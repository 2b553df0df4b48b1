package entra

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/behalf-dev/behalf/infra/devstack/directory"
)

// clientAssertionAlgs are the signature algorithms accepted in client
// assertions: MSAL signs certificate assertions with PS256, managed
// identity tokens are RS256. Never none or HMAC.
var clientAssertionAlgs = []jose.SignatureAlgorithm{jose.PS256, jose.RS256}

type clientAssertionClaims struct {
	Iss string          `json:"iss"`
	Sub string          `json:"sub"`
	Aud json.RawMessage `json:"aud"`
	Exp *float64        `json:"exp"`
	Nbf *float64        `json:"nbf"`
	OID string          `json:"oid"`
	TID string          `json:"tid"`
}

func (c clientAssertionClaims) audiences() []string {
	return assertionClaims{Aud: c.Aud}.audiences()
}

// verifyClientAssertion authenticates an app by a JWT it presents:
// either signed by one of its registered certificates (private_key_jwt,
// named by x5t#S256 or x5t), or a token of a managed identity the app
// trusts as a federated credential (issued by this tenant for
// api://AzureADTokenExchange, signed by the tenant keys).
func (e *Emulator) verifyClientAssertion(raw string, a *app, t directory.Tenant) *Error {
	if len(raw) > maxAssertionBytes {
		return invalidClient(CodeAssertionSignature, "The client assertion is larger than %d bytes.", maxAssertionBytes)
	}
	jws, err := jose.ParseSigned(raw, clientAssertionAlgs)
	if err != nil || len(jws.Signatures) != 1 {
		return invalidClient(CodeAssertionSignature, "Client assertion is not a JWT signed with PS256 or RS256.")
	}
	h := jws.Signatures[0].Header
	if cert := a.certFor(h); cert != nil {
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok {
			return invalidClient(CodeAssertionSignature, "The app's certificate does not hold an RSA key.")
		}
		payload, err := jws.Verify(pub)
		if err != nil {
			return invalidClient(CodeAssertionSignature, "Client assertion contains an invalid signature. [Reason - The signature does not verify with the certificate named by the assertion.]")
		}
		return e.checkCertAssertion(payload, a, t)
	}
	if _, ok := e.keys.publishedKey(h.KeyID); ok && h.KeyID != "" {
		payload, err := e.keys.verify(raw)
		if err != nil {
			return invalidClient(CodeAssertionSignature, "Client assertion contains an invalid signature.")
		}
		return e.checkFederatedAssertion(payload, a, t)
	}
	return invalidClient(CodeAssertionSignature, "Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '%s']", clip(thumbprintOf(h)))
}

func (e *Emulator) assertionTimes(c clientAssertionClaims) *Error {
	now := e.now()
	if c.Exp == nil {
		return invalidClient(CodeAssertionExpired, "Client assertion has no exp claim.")
	}
	exp := time.Unix(int64(*c.Exp), 0)
	if !now.Before(exp.Add(clockSkew)) {
		return invalidClient(CodeAssertionExpired, "Client assertion is not within its valid time range. Current time: %s, assertion valid to: %s.",
			now.UTC().Format(time.RFC3339), exp.UTC().Format(time.RFC3339))
	}
	if c.Nbf != nil && now.Add(clockSkew).Before(time.Unix(int64(*c.Nbf), 0)) {
		return invalidClient(CodeAssertionExpired, "Client assertion is not within its valid time range: it is not valid yet.")
	}
	return nil
}

func (e *Emulator) checkCertAssertion(payload []byte, a *app, t directory.Tenant) *Error {
	var c clientAssertionClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return invalidClient(CodeAssertionSignature, "Client assertion claims are malformed.")
	}
	if oe := e.assertionTimes(c); oe != nil {
		return oe
	}
	if c.Iss != a.ClientID || c.Sub != a.ClientID {
		return invalidClient(CodeAssertionSignature, "Client assertion iss and sub must both be the client id '%s'.", a.ClientID)
	}
	ok := false
	for _, tenant := range []string{t.ID, t.Domain} {
		base := e.URL() + "/" + tenant
		for _, aud := range []string{base + "/oauth2/v2.0/token", base + "/oauth2/token", base + "/v2.0"} {
			ok = ok || slices.Contains(c.audiences(), aud)
		}
	}
	if !ok {
		return invalidClient(CodeAssertionAudience, "Client assertion audience '%s' is not this tenant's token endpoint.", clip(firstOf(c.audiences())))
	}
	return nil
}

// checkFederatedAssertion accepts a managed-identity token for
// api://AzureADTokenExchange of an identity listed in the app's
// federated credentials.
func (e *Emulator) checkFederatedAssertion(payload []byte, a *app, t directory.Tenant) *Error {
	var c clientAssertionClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return invalidClient(CodeAssertionSignature, "Client assertion claims are malformed.")
	}
	if oe := e.assertionTimes(c); oe != nil {
		return oe
	}
	if c.Iss != e.v2Issuer(t.ID) && c.Iss != v1Issuer(t.ID) {
		return invalidClient(CodeNoFederatedCredential, "No matching federated identity record found for presented assertion issuer '%s'.", clip(c.Iss))
	}
	if !slices.ContainsFunc(c.audiences(), func(s string) bool { return s == TokenExchangeAudience || s == TokenExchangeAppID }) {
		return invalidClient(CodeAssertionAudience, "No matching federated identity record found for presented assertion audience '%s'; use %s.", clip(firstOf(c.audiences())), TokenExchangeAudience)
	}
	for _, m := range e.cfg.Directory.ManagedIdentity {
		if m.PrincipalID == c.Sub && m.Tenant == t.ID && slices.Contains(a.FederatedManagedIdentities, m.ClientID) {
			return nil
		}
	}
	return invalidClient(CodeNoFederatedCredential, "No matching federated identity record found for presented assertion subject '%s'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion.", clip(c.Sub))
}

// certFor finds the registered certificate a JWS header names.
func (a *app) certFor(h jose.Header) *x509.Certificate {
	want, kind := headerThumbprint(h)
	if want == nil {
		return nil
	}
	for _, c := range a.certs {
		s256, s1 := certThumbprints(c)
		if (kind == "x5t#S256" && bytes.Equal(want, s256)) || (kind == "x5t" && bytes.Equal(want, s1)) {
			return c
		}
	}
	return nil
}

// headerThumbprint decodes x5t#S256 (preferred) or x5t; MSAL writes them
// in standard base64, RFC 7515 says base64url, so both are read.
func headerThumbprint(h jose.Header) ([]byte, string) {
	for _, name := range []string{"x5t#S256", "x5t"} {
		s, _ := h.ExtraHeaders[jose.HeaderKey(name)].(string)
		if s == "" {
			continue
		}
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(s); err == nil {
				return b, name
			}
		}
	}
	return nil, ""
}

func thumbprintOf(h jose.Header) string {
	for _, name := range []string{"x5t#S256", "x5t"} {
		if s, _ := h.ExtraHeaders[jose.HeaderKey(name)].(string); s != "" {
			return s
		}
	}
	return h.KeyID
}
