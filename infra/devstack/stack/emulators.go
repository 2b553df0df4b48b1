package stack

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/behalf-dev/behalf/infra/devstack/databricks"
	"github.com/behalf-dev/behalf/infra/devstack/devca"
	"github.com/behalf-dev/behalf/infra/devstack/directory"
	"github.com/behalf-dev/behalf/infra/devstack/teams"
)

// emulators are the started emulators, the settings that point behalf at
// them, and the banner lines describing them.
type emulators struct {
	settings map[string]string
	services []Service
	people   []Person
	identity *identity
	dbx      *databricks.Emulator
	teams    *teams.Recorder
	closers  []func()
}

func (e *emulators) close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
}

func startEmulators(ctx context.Context, o Options, dataDir string) (*emulators, error) {
	e := &emulators{settings: map[string]string{}}
	ca, err := devca.New(devca.Config{Dir: filepath.Join(dataDir, "ca")})
	if err != nil {
		return nil, err
	}
	caFile := filepath.Join(dataDir, "ca.pem")
	if err := ca.WriteCertPEM(caFile); err != nil {
		return nil, err
	}
	dir := directory.Demo()

	// Entra first: the workspace trusts its issuers.
	id, err := startEntra(ctx, o, dir, ca, dataDir, e.settings)
	if err != nil {
		return nil, err
	}
	e.identity = id
	e.closers = append(e.closers, id.close)
	authority := id.emu.Authority(id.tenant)
	e.services = append(e.services, Service{"Entra ID", authority, "sign in as a demo person below (no password); partner IdP " + id.emu.PartnerIssuer()})
	e.people = id.people(dir)

	dbx, err := databricks.New(databricks.Config{
		Directory: dir, CA: ca, Addr: o.DatabricksAddr, DataDir: filepath.Join(dataDir, "workspace"),
		TenantID:           id.tenant,
		TrustedIssuers:     databricks.EntraIssuers(id.emu.URL(), id.tenant),
		FederationPolicies: databricks.PartnerFederationPolicies(dir, id.emu.PartnerIssuer(), ""),
	})
	if err != nil {
		e.close()
		return nil, fmt.Errorf("workspace emulator: %w", err)
	}
	if err := dbx.Start(ctx); err != nil {
		e.close()
		return nil, fmt.Errorf("workspace emulator: %w (is the port taken? use --databricks-addr)", err)
	}
	e.closers = append(e.closers, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = dbx.Close(sctx)
	})
	e.services = append(e.services, Service{"Databricks workspace", dbx.URL(), fmt.Sprintf("warehouse %s, Genie space %s, governed demo data", databricks.DevWarehouseID, databricks.SalesSpaceID)})
	e.services = append(e.services, Service{"credential", "-", id.credentialNote})
	e.dbx = dbx

	rec, err := teams.NewRecorder(teams.RecorderConfig{Addr: o.TeamsAddr, DataDir: filepath.Join(dataDir, "teams")})
	if err != nil {
		e.close()
		return nil, fmt.Errorf("teams recorder: %w", err)
	}
	if err := rec.Start(ctx); err != nil {
		e.close()
		return nil, fmt.Errorf("teams recorder: %w (is the port taken? use --teams-addr)", err)
	}
	e.teams = rec
	e.closers = append(e.closers, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = rec.Close(sctx)
	})
	e.services = append(e.services, Service{"Teams (recorded)", rec.PageURL(), "approval cards behalf posts to the Workflows webhook"})
	approvers, _ := dir.GroupByName("approvers")

	for k, v := range map[string]string{
		"BEHALF_DATABRICKS_HOST": dbx.URL(),
		"BEHALF_CA_FILE":         caFile,
		"BEHALF_GENIE_SPACE_ID":  databricks.SalesSpaceID,
		// The propose → approve → run pipeline on the embedded queue.
		"BEHALF_QUEUE":             "embedded",
		"BEHALF_QUEUE_PATH":        filepath.Join(dataDir, "queue.db"),
		"BEHALF_SQL_WAREHOUSE_ID":  databricks.DevWarehouseID,
		"BEHALF_APPROVERS_GROUP":   approvers.ID,
		"BEHALF_TEAMS_WEBHOOK_URL": rec.URL(),
		// The audit trail: embedded store, daily export to a folder. The
		// timer's %BEHALF_AUDIT_EXPORT_SCHEDULE% must resolve, as in Azure.
		"BEHALF_AUDIT_SQLITE_PATH":     filepath.Join(dataDir, "audit.db"),
		"BEHALF_AUDIT_EXPORT_SINK":     "local",
		"BEHALF_AUDIT_EXPORT_DIR":      filepath.Join(dataDir, "exports"),
		"BEHALF_AUDIT_EXPORT_SCHEDULE": "0 0 2 * * *",
	} {
		e.settings[k] = v
	}
	return e, nil
}
