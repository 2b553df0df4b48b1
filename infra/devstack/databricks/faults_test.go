package databricks

import (
	"net/http"
	"testing"
	"time"
)

func TestFaultInjectionAndCounters(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	tok := v.idp.entraToken(t, wendy, nil)
	t.Run("503 is retried by the SDK", func(t *testing.T) {
		v.e.SetFault(EndpointSCIMMe, Fault{Next503: 1})
		me, err := v.client(t, tok).CurrentUser.Me(t.Context())
		if err != nil || me.UserName != wendy {
			t.Fatalf("Me = %v %v", me, err)
		}
		c := v.e.Counters()
		if c.Requests[EndpointSCIMMe] != 2 || c.FaultsInjected[EndpointSCIMMe] != 1 {
			t.Errorf("counters %+v", c)
		}
	})
	t.Run("429 with Retry-After", func(t *testing.T) {
		v.e.SetFault(EndpointExecuteStatement, Fault{Next429: 1, RetryAfter: 3 * time.Second})
		var body struct {
			ErrorCode string `json:"error_code"`
		}
		resp := v.raw(t, "POST", "/api/2.0/sql/statements", tok, map[string]string{"warehouse_id": DevWarehouseID, "statement": "SELECT 1"}, &body)
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "3" || body.ErrorCode != "REQUEST_LIMIT_EXCEEDED" {
			t.Errorf("%d %q %+v", resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
		if resp := v.raw(t, "POST", "/api/2.0/sql/statements", tok, map[string]string{"warehouse_id": DevWarehouseID, "statement": "SELECT 1"}, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("after the fault: %d", resp.StatusCode)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		v.e.SetFault(EndpointGenieOther, Fault{NextTimeout: 1, Hold: 20 * time.Millisecond})
		if resp := v.raw(t, "GET", "/api/2.0/genie/spaces", tok, nil, nil); resp.StatusCode != http.StatusGatewayTimeout {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
	t.Run("lost answer: the call happens, the client sees 503", func(t *testing.T) {
		before := v.e.Counters().GenieMessages
		v.e.SetFault(EndpointGenieStart, Fault{NextLost: 1})
		var body struct {
			ErrorCode string `json:"error_code"`
		}
		resp := v.raw(t, "POST", "/api/2.0/genie/spaces/"+SalesSpaceID+"/start-conversation", tok, map[string]string{"content": "How many deals are there?"}, &body)
		if resp.StatusCode != http.StatusServiceUnavailable || body.ErrorCode != "TEMPORARILY_UNAVAILABLE" {
			t.Fatalf("%d %+v", resp.StatusCode, body)
		}
		var list struct {
			Conversations []struct {
				Title string `json:"title"`
			} `json:"conversations"`
		}
		v.raw(t, "GET", "/api/2.0/genie/spaces/"+SalesSpaceID+"/conversations", tok, nil, &list)
		if c := v.e.Counters(); c.GenieMessages != before+1 || c.FaultsInjected[EndpointGenieStart] != 1 || len(list.Conversations) == 0 {
			t.Errorf("the lost call did not take effect: messages %d→%d, conversations %+v", before, c.GenieMessages, list)
		}
	})
	t.Run("rates, all endpoints, latency and clearing", func(t *testing.T) {
		v.e.SetFault(AllEndpoints, Fault{Rate503: 1, Latency: time.Millisecond})
		if resp := v.raw(t, "GET", "/api/2.0/sql/warehouses", tok, nil, nil); resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("status %d", resp.StatusCode)
		}
		v.e.ClearFaults()
		if resp := v.raw(t, "GET", "/api/2.0/sql/warehouses", tok, nil, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("after clearing: %d", resp.StatusCode)
		}
	})
	v.e.ResetCounters()
	if c := v.e.Counters(); len(c.Requests) != 0 || c.StatementsTotal != 0 {
		t.Errorf("after reset %+v", c)
	}
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{}); err == nil {
		t.Error("New without a directory")
	}
	v := newEnv(t)
	if err := v.e.Start(t.Context()); err == nil {
		t.Error("second Start")
	}
	e, err := New(Config{Directory: v.e.cfg.Directory, DealCount: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.IssueToken(wendy, time.Minute); err == nil {
		t.Error("issued a token before serving")
	}
	if err := e.Start(t.Context()); err == nil {
		t.Error("Start without a CA")
	}
	if err := e.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(t.Context()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if resp := v.raw(t, "GET", "/api/2.0/nothing/here", v.idp.entraToken(t, wendy, nil), nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown path: %d", resp.StatusCode)
	}
}
