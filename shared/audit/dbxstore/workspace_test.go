package dbxstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/behalf-dev/behalf/shared/audit"
	"github.com/behalf-dev/behalf/shared/audit/audittest"
	"github.com/behalf-dev/behalf/shared/workspace"
)

// Variables for the contract run against a real workspace.
const (
	envHost      = "BEHALF_TEST_DATABRICKS_HOST"
	envClientID  = "BEHALF_TEST_DATABRICKS_CLIENT_ID"
	envSecret    = "BEHALF_TEST_DATABRICKS_CLIENT_SECRET"
	envWarehouse = "BEHALF_TEST_DATABRICKS_WAREHOUSE_ID"
	// envSchema is catalog.schema where the service principal may CREATE
	// TABLE; each case creates audit_test_<random> there and drops it.
	envSchema = "BEHALF_TEST_AUDIT_SCHEMA"
)

// TestContractAgainstRealWorkspace runs the store contract against a real
// Databricks workspace when its variables are set.
func TestContractAgainstRealWorkspace(t *testing.T) {
	vals := map[string]string{}
	for _, k := range []string{envHost, envClientID, envSecret, envWarehouse, envSchema} {
		vals[k] = os.Getenv(k)
		if vals[k] == "" {
			t.Skipf("set %s, %s, %s, %s and %s to run the audit store contract against a real workspace (%s is unset)",
				envHost, envClientID, envSecret, envWarehouse, envSchema, k)
		}
	}
	f, err := workspace.NewFactory(workspace.Config{Host: vals[envHost]})
	if err != nil {
		t.Fatal(err)
	}
	w, err := f.ForM2M(workspace.M2M{ClientID: vals[envClientID], ClientSecret: vals[envSecret]})
	if err != nil {
		t.Fatal(err)
	}
	tables := map[audit.Store]string{}
	openTable := func(t *testing.T, name string) *Store {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		s, err := Open(ctx, Config{Client: w, WarehouseID: vals[envWarehouse], Table: name})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	audittest.Run(t, audittest.Options{
		New: func(t *testing.T) audit.Store {
			var b [4]byte
			_, _ = rand.Read(b[:])
			name := vals[envSchema] + ".audit_test_" + hex.EncodeToString(b[:])
			s := openTable(t, name)
			tables[s] = name
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				if _, err := s.exec(ctx, "DROP TABLE IF EXISTS "+s.table, 1); err != nil {
					t.Logf("drop %s: %v", name, err)
				}
			})
			return s
		},
		Second:     func(t *testing.T, first audit.Store) audit.Store { return openTable(t, tables[first]) },
		Writers:    2,
		LargeBatch: 60,
	})
}

func TestQuoteTable(t *testing.T) {
	good := map[string]string{"main.behalf.audit_events": "`main`.`behalf`.`audit_events`", "A.b_1._c": "`A`.`b_1`.`_c`"}
	for in, want := range good {
		if got, err := QuoteTable(in); err != nil || got != want {
			t.Errorf("QuoteTable(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "audit", "a.b", "a.b.c.d", "main.behalf.audit`; DROP TABLE x; --", "main.behalf.audit events", "main..t", "1a.b.c", "main.behalf.tä"} {
		if _, err := QuoteTable(bad); err == nil {
			t.Errorf("QuoteTable(%q) accepted", bad)
		}
	}
}
