package directory

import "testing"

func TestDemoIsValidAndHasEveryRole(t *testing.T) {
	d := Demo()
	for _, upn := range []string{"wendy.west@contoso.example", "eli.east@contoso.example", "maya.manager@contoso.example",
		"xavier.exec@contoso.example", "fiona.finance@contoso.example", "adam.admin@contoso.example",
		"april.approver@contoso.example", "paula@partner.example"} {
		if _, ok := d.PersonByUPN(upn); !ok {
			t.Errorf("demo directory lacks %s", upn)
		}
	}
	if _, ok := d.App("e0000000-0000-4000-8000-0000000000b1"); !ok {
		t.Error("demo directory lacks the behalf app")
	}
}

func TestValidateNamesBadReferences(t *testing.T) {
	_, err := Parse([]byte(`{"tenants":[{"id":"t"}],"people":[{"oid":"o","tenant":"t","upn":"a@b","groups":["nope"]}]}`))
	if err == nil {
		t.Fatal("unknown group accepted")
	}
}
