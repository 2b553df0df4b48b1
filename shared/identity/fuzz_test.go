package identity

import (
	"context"
	"testing"
)

// FuzzValidate feeds arbitrary text to the validator: it must never panic,
// and it may accept only the one token the fixture's IdP signed — any other
// input that passes must carry exactly that token's identity (no forged
// principal can come out of it).
func FuzzValidate(f *testing.F) {
	fx := newFixture(f)
	valid := fx.rsa.sign(f, fx.claimsF(nil))
	want, err := fx.v.Validate(context.Background(), valid)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := fx.v.Validate(context.Background(), raw)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("refusal without a code: %T %v", err, err)
			}
			return
		}
		if p == nil || p.OID != want.OID || p.UPN != want.UPN || p.TenantID != want.TenantID || !p.ExpiresAt.Equal(want.ExpiresAt) {
			t.Fatalf("accepted %q as %+v", raw, p)
		}
	})
}
