package identity

import (
	"context"
	"testing"
)

// FuzzValidate feeds arbitrary text to the validator: it must never panic
// and never accept anything it did not sign-check.
func FuzzValidate(f *testing.F) {
	fx := newFixture(&testing.T{})
	valid := fx.rsa.sign(&testing.T{}, fx.claimsF(nil))
	f.Add(valid)
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := fx.v.Validate(context.Background(), raw)
		if err == nil && raw != valid {
			// Only the one genuinely signed token (or text that decodes to
			// the same JWS) may pass.
			if p == nil || p.OID == "" {
				t.Fatalf("accepted %q without a principal", raw)
			}
		}
	})
}
