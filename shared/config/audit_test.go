package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAuditSettings(t *testing.T) {
	cfg, err := Load(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.Audit
	if a.Store != "sqlite" || a.ExportSchedule != "0 0 2 * * *" || a.ExportPeriod != 24*time.Hour || a.ReadFailMode != "closed" ||
		a.ExportSink != "none" || a.M2MCredential != "managed-identity" || a.Table != "main.behalf.audit_events" || a.MaxDeliveries != 10 {
		t.Fatalf("defaults %+v", a)
	}
	cases := map[string]struct {
		env  map[string]string
		want []string
	}{
		"bad values": {map[string]string{"BEHALF_AUDIT_EXPORT_SCHEDULE": "daily", "BEHALF_AUDIT_TABLE": "main.behalf.x; DROP TABLE y",
			"BEHALF_AUDIT_READS": "sometimes", "BEHALF_AUDIT_EXPORT_BLOB_CONTAINER_URL": "https://a.blob.core.windows.net/c?sig=abc",
			"BEHALF_AUDIT_EXPORT_VOLUME_DIR": "/tmp/x", "BEHALF_AUDIT_BATCH_SIZE": "5000"},
			[]string{"BEHALF_AUDIT_EXPORT_SCHEDULE", "BEHALF_AUDIT_TABLE", "BEHALF_AUDIT_READS", "BEHALF_AUDIT_EXPORT_BLOB_CONTAINER_URL", "BEHALF_AUDIT_EXPORT_VOLUME_DIR", "BEHALF_AUDIT_BATCH_SIZE"}},
		"databricks store needs a warehouse, host and M2M secret": {map[string]string{"BEHALF_AUDIT_STORE": "databricks", "BEHALF_DATABRICKS_M2M_CREDENTIAL": "oauth-secret"},
			[]string{"BEHALF_AUDIT_WAREHOUSE_ID", "BEHALF_DATABRICKS_HOST", "BEHALF_DATABRICKS_M2M_CLIENT_ID", "BEHALF_DATABRICKS_M2M_CLIENT_SECRET"}},
		"sinks need their location": {map[string]string{"BEHALF_AUDIT_EXPORT_SINK": "local"}, []string{"BEHALF_AUDIT_EXPORT_DIR"}},
		"blob sink":                 {map[string]string{"BEHALF_AUDIT_EXPORT_SINK": "blob"}, []string{"BEHALF_AUDIT_EXPORT_BLOB_CONTAINER_URL"}},
		"volume sink":               {map[string]string{"BEHALF_AUDIT_EXPORT_SINK": "volume"}, []string{"BEHALF_AUDIT_EXPORT_VOLUME_DIR", "BEHALF_DATABRICKS_HOST"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Load(func(k string) (string, bool) { v, ok := c.env[k]; return v, ok })
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("no problems: %v", err)
			}
			for _, w := range c.want {
				found := false
				for _, p := range ps {
					found = found || p.Name == w
				}
				if !found {
					t.Errorf("no problem for %s in %v", w, ps)
				}
			}
			if strings.Contains(err.Error(), "sig=abc") {
				t.Errorf("a SAS signature was echoed: %v", err)
			}
		})
	}
	good := map[string]string{"BEHALF_AUDIT_STORE": "databricks", "BEHALF_AUDIT_WAREHOUSE_ID": "abc", "BEHALF_DATABRICKS_HOST": "https://adb-1.azuredatabricks.net",
		"BEHALF_AUDIT_EXPORT_SINK": "volume", "BEHALF_AUDIT_EXPORT_VOLUME_DIR": "/Volumes/main/behalf/audit/exports/", "BEHALF_AUDIT_EXPORT_SCHEDULE": "0 30 * * * *"}
	cfg, err = Load(func(k string) (string, bool) { v, ok := good[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Audit.ExportVolumeDir != "/Volumes/main/behalf/audit/exports" || !cfg.Audit.NeedsM2M() {
		t.Fatalf("%+v", cfg.Audit)
	}
}
