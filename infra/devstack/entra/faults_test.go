package entra

import (
	"context"
	"errors"
	"testing"
	"time"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
)

// TestFaultInjection: errors, outages and latency per endpoint, as MSAL
// sees them, and the counters that record them.
func TestFaultInjection(t *testing.T) {
	v := newEnv(t, nil)
	c := v.secretClient(t, behalfID, behalfSecret)
	// Discovery once, so that token faults hit the token endpoint.
	if _, err := c.AcquireTokenByCredential(ctx(t), []string{dbxScope}); err != nil {
		t.Fatal(err)
	}

	t.Run("next errors", func(t *testing.T) {
		v.e.ResetCounters()
		v.e.SetFault(EndpointToken, Fault{NextErrors: 1})
		defer v.e.ClearFaults()
		// (A resource MSAL has no cached token for, so the call reaches
		// the endpoint.)
		scopes := []string{"api://" + behalfID + "/.default"}
		_, err := c.AcquireTokenByCredential(ctx(t), scopes)
		callErr(t, err).wantCode(t, "temporarily_unavailable", CodeTransient, 503)
		if _, err := c.AcquireTokenByCredential(ctx(t), scopes); err != nil {
			t.Fatalf("after the injected error: %v", err)
		}
		got := v.e.Counters()
		if got.FaultsInjected[EndpointToken] != 1 || got.Errors["AADSTS90033"] != 1 || got.TokensIssued[GrantClientCredentials] != 1 {
			t.Errorf("counters %+v", got)
		}
	})
	t.Run("error rate", func(t *testing.T) {
		v.e.ResetCounters()
		v.e.SetFault(EndpointToken, Fault{ErrorRate: 1})
		defer v.e.ClearFaults()
		for i := 0; i < 3; i++ {
			if _, err := c.AcquireTokenByCredential(ctx(t), []string{"api://" + noConsentID + "/.default"}); err == nil {
				t.Fatal("a call passed an error rate of 1")
			}
		}
		if got := v.e.Counters(); got.FaultsInjected[EndpointToken] < 3 || got.TokensIssued[GrantClientCredentials] != 0 {
			t.Errorf("counters %+v", got)
		}
	})
	t.Run("outage", func(t *testing.T) {
		v.e.SetFault(AllEndpoints, Fault{Outage: true})
		defer v.e.ClearFaults()
		_, err := c.AcquireTokenByCredential(ctx(t), []string{"api://" + agentID + "/.default"})
		var ce msalerrors.CallErr
		if err == nil || errors.As(err, &ce) {
			t.Fatalf("an outage must look like an unreachable service, got %v", err)
		}
	})
	t.Run("latency", func(t *testing.T) {
		v.e.SetFault(EndpointToken, Fault{Latency: 5 * time.Second})
		defer v.e.ClearFaults()
		short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := c.AcquireTokenByCredential(short, []string{"api://" + agentID + "/.default"})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("latency beyond the caller's deadline: %v", err)
		}
	})
	t.Run("counters per grant type", func(t *testing.T) {
		v.e.ResetCounters()
		if _, err := c.AcquireTokenOnBehalfOf(ctx(t), mustToken(t, v, wendy), []string{dbxScope}); err != nil {
			t.Fatal(err)
		}
		got := v.e.Counters()
		if got.TokenRequests[GrantOnBehalfOf] != 1 || got.TokensIssued[GrantOnBehalfOf] != 1 || got.Requests[EndpointToken] != 1 {
			t.Errorf("counters %+v", got)
		}
	})
}

func mustToken(t *testing.T, v *env, upn string) string {
	t.Helper()
	raw, err := v.e.UserAccessToken(upn, behalfID, agentID)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
