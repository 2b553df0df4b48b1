//go:build devstack

package obo

import (
	"context"
	"testing"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/behalf-dev/behalf/infra/devstack/devca"
	"github.com/behalf-dev/behalf/infra/devstack/directory"
	"github.com/behalf-dev/behalf/infra/devstack/entra"
)

// TestEntraReplacesItsMSALClient: the OBO exchanger serves every exchange
// with MSAL against the Entra ID emulator, and replaces its MSAL client
// (whose OBO cache never evicts) every ClientReuse exchanges — one
// authority discovery per client, one token request per exchange.
func TestEntraReplacesItsMSALClient(t *testing.T) {
	ca, err := devca.New(devca.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	dir := directory.Demo()
	emu, err := entra.New(entra.Config{Directory: dir, CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close(context.Background()) })
	app, _ := dir.AppNamed("behalf")
	agent, _ := dir.AppNamed("agent-backend (allow-listed)")
	cred, err := confidential.NewCredFromSecret(app.Secret)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := NewEntra(EntraConfig{Authority: emu.Authority(app.Tenant), ClientID: app.ClientID, Credential: cred,
		HTTPClient: ca.HTTPClient(), DisableInstanceDiscovery: true, ClientReuse: 2})
	if err != nil {
		t.Fatal(err)
	}
	emu.ResetCounters()
	people := []string{"wendy.west@contoso.example", "eli.east@contoso.example", "fiona.finance@contoso.example",
		"maya.manager@contoso.example", "xavier.exec@contoso.example"}
	for _, upn := range people {
		assertion, err := emu.UserAccessToken(upn, app.ClientID, agent.ClientID)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := ex.Exchange(context.Background(), Request{Assertion: assertion})
		if err != nil || tok.AccessToken == "" || tok.Mode != ModeEntraOBO {
			t.Fatalf("%s: %+v %v", upn, tok, err)
		}
	}
	c := emu.Counters()
	if n := c.TokenRequests[entra.GrantOnBehalfOf]; n != int64(len(people)) {
		t.Errorf("%d OBO token requests for %d exchanges", n, len(people))
	}
	if n := c.Requests[entra.EndpointDiscovery]; n != 3 {
		t.Errorf("%d discoveries for 5 exchanges with a client reused twice, want 3", n)
	}
}
