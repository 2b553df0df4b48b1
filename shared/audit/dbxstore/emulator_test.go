//go:build devstack

package dbxstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/behalf-dev/behalf/infra/devstack/databricks"
	"github.com/behalf-dev/behalf/infra/devstack/devca"
	"github.com/behalf-dev/behalf/infra/devstack/directory"
	"github.com/behalf-dev/behalf/shared/audit"
	"github.com/behalf-dev/behalf/shared/audit/audittest"
	"github.com/behalf-dev/behalf/shared/audit/dbxstore"
	"github.com/behalf-dev/behalf/shared/workspace"
)

// The behalf-audit-writer service principal of the demo directory.
const (
	m2mClientID = "d0000000-0000-4000-8000-0000000000d2"
	m2mSecret   = "dev-only-m2m-secret"
)

type emulated struct {
	dbx     *databricks.Emulator
	factory *workspace.Factory
}

func startWorkspace(t *testing.T) *emulated {
	t.Helper()
	ca, err := devca.New(devca.Config{})
	if err != nil {
		t.Fatal(err)
	}
	dbx, err := databricks.New(databricks.Config{Directory: directory.Demo(), CA: ca, DealCount: 50, GenieRateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := dbx.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dbx.Close(context.Background()) })
	f, err := workspace.NewFactory(workspace.Config{Host: dbx.URL(), RootCAs: ca.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	return &emulated{dbx: dbx, factory: f}
}

func (e *emulated) open(t *testing.T, table string) *dbxstore.Store {
	t.Helper()
	w, err := e.factory.ForM2M(workspace.M2M{ClientID: m2mClientID, ClientSecret: m2mSecret})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := dbxstore.Open(ctx, dbxstore.Config{Client: w, WarehouseID: databricks.DevWarehouseID, Table: table})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func randomTable() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "main.behalf.audit_" + hex.EncodeToString(b[:])
}

// TestContractAgainstWorkspaceEmulator runs the store contract through
// databricks-sdk-go against the workspace emulator, as the M2M service
// principal: table creation, MERGE with named parameters, parameterised
// SELECTs, and concurrent writers on one table.
func TestContractAgainstWorkspaceEmulator(t *testing.T) {
	e := startWorkspace(t)
	tables := map[audit.Store]string{}
	audittest.Run(t, audittest.Options{
		New: func(t *testing.T) audit.Store {
			name := randomTable()
			s := e.open(t, name)
			tables[s] = name
			return s
		},
		Second:     func(t *testing.T, first audit.Store) audit.Store { return e.open(t, tables[first]) },
		LargeBatch: 120,
	})
}

// TestOnlyTheM2MIdentityWritesTheTrail: the table is created by and
// belongs to the service principal; a person cannot append to it.
func TestOnlyTheM2MIdentityWritesTheTrail(t *testing.T) {
	e := startWorkspace(t)
	table := randomTable()
	s := e.open(t, table)
	if _, err := s.Append(context.Background(), audittest.Events(0, 3)); err != nil {
		t.Fatal(err)
	}
	tok, err := e.dbx.IssueToken("wendy.west@contoso.example", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	w, err := e.factory.ForToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	as, err := dbxstore.Open(context.Background(), dbxstore.Config{Client: w, WarehouseID: databricks.DevWarehouseID, Table: table})
	if err == nil {
		_, err = as.Append(context.Background(), audittest.Events(3, 1))
	}
	if err == nil {
		t.Fatal("a person appended to the audit trail")
	}
	res, err := e.dbx.QueryAsAdmin(context.Background(), "SELECT count(*) FROM "+table)
	if err != nil || *res.Rows[0][0] != "3" {
		t.Fatalf("rows: %v %v", res, err)
	}
	audittest.MustVerify(t, s)
}
