package audit

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/behalf-dev/behalf/shared/identity"
)

// ActorFromPrincipal is the actor of a verified principal. The principal
// never holds its token, so neither does the actor.
func ActorFromPrincipal(p *identity.Principal) Actor {
	if p == nil {
		return Actor{}
	}
	upn := p.UPN
	if upn == "" {
		upn = p.Email
	}
	oid := p.OID
	if oid == "" {
		oid = p.Subject
	}
	return Actor{OID: oid, UPN: upn, TenantID: p.TenantID, Issuer: p.Issuer, ClientAppID: p.ClientAppID}
}

// ModeFromExchange maps BEHALF_EXCHANGE to the on_behalf_of mode.
func ModeFromExchange(exchange string) Mode {
	switch exchange {
	case "entra-obo":
		return ModeEntraOBO
	case "federation":
		return ModeFederation
	case "forwarded":
		return ModeForwarded
	}
	return ""
}

// StatementSHA256 is the hex SHA-256 of a statement's exact text.
func StatementSHA256(statement string) string {
	s := sha256.Sum256([]byte(statement))
	return hex.EncodeToString(s[:])
}
