package entra

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// maxClaimsParam bounds the claims request parameter.
const maxClaimsParam = 4096

// claimsRequest is what the emulator reads from an OIDC claims request
// parameter: the authentication contexts (acrs) asked for in the access
// token. Other members (xms_cc client capabilities, id_token claims) are
// accepted and ignored.
type claimsRequest struct {
	acrs []string
}

// claimValue is one requested claim: {"essential":true,"value":"c1"} or
// {"values":["c1","c2"]}.
type claimValue struct {
	Essential bool     `json:"essential"`
	Value     string   `json:"value"`
	Values    []string `json:"values"`
}

// parseClaimsParam reads a claims parameter ("" is none).
func parseClaimsParam(raw string) (claimsRequest, error) {
	var cr claimsRequest
	if raw == "" {
		return cr, nil
	}
	if len(raw) > maxClaimsParam {
		return cr, fmt.Errorf("the claims parameter is longer than %d bytes", maxClaimsParam)
	}
	var doc map[string]map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		return cr, errors.New("the claims parameter is not a JSON object of token types to requested claims")
	}
	acrs, ok := doc["access_token"]["acrs"]
	if !ok || string(acrs) == "null" {
		return cr, nil
	}
	var v claimValue
	if err := json.Unmarshal(acrs, &v); err != nil {
		return cr, errors.New(`the acrs claim request must look like {"essential":true,"value":"c1"}`)
	}
	for _, s := range append([]string{v.Value}, v.Values...) {
		if s = strings.TrimSpace(s); s != "" && len(s) <= 64 && !slices.Contains(cr.acrs, s) {
			cr.acrs = append(cr.acrs, s)
		}
	}
	if len(cr.acrs) > 16 {
		return claimsRequest{}, errors.New("the acrs claim request names too many authentication contexts")
	}
	return cr, nil
}

// mfaChallengeClaims is the claims challenge of an MFA requirement.
func (e *Emulator) mfaChallengeClaims() string {
	return fmt.Sprintf(`{"access_token":{"acrs":{"essential":true,"value":%q}}}`, e.cfg.MFAContext)
}

// requiresMFA says whether the person must have done MFA for res.
func requiresMFA(u user, res *resource) bool {
	return slices.ContainsFunc(u.person.RequireMFAFor, res.named)
}

// stepUp applies the MFA rule for a token for res. A request whose claims
// parameter asks for the MFA authentication context counts as a completed
// (dev) second factor: there is no real one to ask for. Without it, a
// person who requires MFA for res and has not done it gets
// interaction_required with the claims challenge.
func (e *Emulator) stepUp(u *user, res *resource, cr claimsRequest) *Error {
	if slices.Contains(cr.acrs, e.cfg.MFAContext) {
		u.mfa = true
	}
	if u.mfa && !slices.Contains(u.acrs, e.cfg.MFAContext) {
		u.acrs = append(slices.Clone(u.acrs), e.cfg.MFAContext)
	}
	if !requiresMFA(*u, res) || u.mfa {
		return nil
	}
	oe := oauthErr("interaction_required", CodeMFARequired,
		"Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '%s'.", res.id)
	oe.Claims = e.mfaChallengeClaims()
	return oe
}
