package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// addDependencyChecks registers reachability checks of the identity
// provider and the workspace in /api/health. They are not critical: a
// brief outage of either degrades behalf (cached signing keys and tokens
// still work) and must not make the platform recycle healthy instances.
func (a *app) addDependencyChecks(id *identityDeps) {
	if len(id.missing) > 0 || id.httpClient == nil {
		return
	}
	if len(id.cfg.Tenants) > 0 {
		url := id.cfg.AuthorityHost + "/" + id.cfg.Tenants[0] + "/v2.0/.well-known/openid-configuration"
		a.health.Add("identity-provider", false, reachable(id.httpClient, url, http.StatusOK))
	}
	// The workspace's OAuth discovery document needs no token.
	a.health.Add("databricks-workspace", false, reachable(id.httpClient, strings.TrimRight(id.cfg.DatabricksHost, "/")+"/oidc/.well-known/oauth-authorization-server", http.StatusOK))
}

func reachable(c *http.Client, url string, want int) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode != want {
			return fmt.Errorf("answered %d", resp.StatusCode)
		}
		return nil
	}
}
