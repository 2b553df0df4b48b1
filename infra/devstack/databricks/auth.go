package databricks

import (
	"context"
	"errors"
	"net/http"
	"strings"
)

// authenticate finds who is calling. Only a bearer JWT from a trusted
// issuer, or one this workspace issued, is accepted; everything else is a
// 401 (the token is never echoed or logged).
func (e *Emulator) authenticate(r *http.Request) (*Principal, error) {
	h := r.Header.Get("Authorization")
	scheme, raw, ok := strings.Cut(h, " ")
	raw = strings.TrimSpace(raw)
	if !ok || !strings.EqualFold(scheme, "Bearer") || raw == "" {
		return nil, errUnauthenticated("Credential was not sent or was of an unsupported type for this API.")
	}
	iss, err := peekIssuer(raw)
	if err != nil {
		return nil, errUnauthenticated("Invalid access token.")
	}
	ctx := r.Context()
	if own := e.ownIssuer(); own != "" && iss == own {
		claims, err := e.verifyOwn(ctx, raw)
		if err != nil {
			return nil, tokenError(err)
		}
		p := e.principals.byUserName(claimString(claims, "sub"))
		if p == nil {
			return nil, errUnauthenticated("Invalid access token: unknown subject.")
		}
		return p, nil
	}
	for _, ti := range e.cfg.TrustedIssuers {
		if ti.Issuer != iss {
			continue
		}
		claims, err := e.verifyTrusted(ctx, ti, raw)
		if err != nil {
			return nil, tokenError(err)
		}
		return e.principalFromClaims(claims)
	}
	return nil, errUnauthenticated("Invalid access token: the issuer is not trusted by this workspace.")
}

func (e *Emulator) verifyTrusted(ctx context.Context, ti TrustedIssuer, raw string) (map[string]any, error) {
	ks, err := e.keys.forIssuer(ctx, ti.Issuer, ti.JWKSURL)
	if err != nil {
		return nil, err
	}
	claims, err := verifyJWT(ctx, ks, ti.Issuer, raw, ti.Audiences)
	if err != nil {
		return nil, err
	}
	if ti.TenantID != "" && claimString(claims, "tid") != ti.TenantID {
		return nil, errors.New("token is for another tenant")
	}
	return claims, nil
}

func tokenError(err error) *APIError {
	if errors.Is(err, errExpired) {
		return errUnauthenticated("Token is expired")
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	// The reason helps a developer; it never contains the token.
	return errUnauthenticated("Invalid access token: " + err.Error())
}

// principalFromClaims maps a verified Entra token to a workspace principal:
// people by UPN / preferred_username (then object id), app-only tokens by
// their client (application) id.
func (e *Emulator) principalFromClaims(c map[string]any) (*Principal, error) {
	for _, k := range []string{"upn", "preferred_username", "unique_name", "email"} {
		if v := claimString(c, k); v != "" {
			if p := e.principals.byUserName(v); p != nil {
				return p, nil
			}
		}
	}
	if p := e.principals.byOID[claimString(c, "oid")]; p != nil {
		return p, nil
	}
	if claimString(c, "idtyp") == "app" || claimString(c, "scp") == "" {
		for _, k := range []string{"azp", "appid"} {
			if p := e.principals.byUserName(claimString(c, k)); p != nil && p.ServicePrincipal {
				return p, nil
			}
		}
	}
	return nil, errPermissionDenied("The user or service principal is not a member of this workspace.", "USER_NOT_IN_WORKSPACE")
}

type principalKey struct{}

// authed wraps a handler that needs a caller.
func (e *Emulator) authed(next func(http.ResponseWriter, *http.Request, *Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := e.authenticate(r)
		if err != nil {
			e.writeError(w, r, err)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)), p)
	}
}
