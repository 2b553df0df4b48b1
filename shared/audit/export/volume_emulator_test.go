//go:build devstack

package export_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/behalf-dev/behalf/infra/devstack/databricks"
	"github.com/behalf-dev/behalf/infra/devstack/devca"
	"github.com/behalf-dev/behalf/infra/devstack/directory"
	"github.com/behalf-dev/behalf/shared/audit/audittest"
	"github.com/behalf-dev/behalf/shared/audit/export"
	"github.com/behalf-dev/behalf/shared/audit/sqlitestore"
	"github.com/behalf-dev/behalf/shared/workspace"
)

// TestExportToAVolumeOnTheWorkspaceEmulator exports through the Files API
// as behalf's M2M identity (the audit writer service principal).
func TestExportToAVolumeOnTheWorkspaceEmulator(t *testing.T) {
	ca, err := devca.New(devca.Config{})
	if err != nil {
		t.Fatal(err)
	}
	dbx, err := databricks.New(databricks.Config{Directory: directory.Demo(), CA: ca, DealCount: 20, GenieRateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := dbx.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer dbx.Close(context.Background())
	f, err := workspace.NewFactory(workspace.Config{Host: dbx.URL(), RootCAs: ca.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	w, err := f.ForM2M(workspace.M2M{ClientID: "d0000000-0000-4000-8000-0000000000d2", ClientSecret: "dev-only-m2m-secret"})
	if err != nil {
		t.Fatal(err)
	}
	sink, err := export.NewVolumeSink(export.VolumeConfig{Files: w.Files, Dir: databricks.AuditVolume + "/exports"})
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlitestore.Open(ctx, sqlitestore.Config{Path: filepath.Join(t.TempDir(), "audit.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := store.Append(ctx, audittest.Events(0, 12)); err != nil {
		t.Fatal(err)
	}
	x, err := export.New(export.Config{Store: store, Sink: sink, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 2, 2, 0, 0, 0, time.UTC)
	res, err := x.Export(ctx, at)
	if err != nil || !res.Written || res.Manifest.Count != 12 {
		t.Fatalf("export %+v %v", res, err)
	}
	names, err := sink.List(ctx)
	if err != nil || len(names) != 2 {
		t.Fatalf("volume holds %v %v", names, err)
	}
	first, _ := sink.Get(ctx, names[0])
	if again, err := x.Export(ctx, at); err != nil || again.Written {
		t.Fatalf("second run %+v %v", again, err)
	}
	if b, _ := sink.Get(ctx, names[0]); !bytes.Equal(b, first) {
		t.Fatal("the second run changed the data file")
	}
	if rep, err := export.Verify(ctx, sink); err != nil || rep.Records != 12 {
		t.Fatalf("verify %+v %v", rep, err)
	}
	if err := sink.PutIfAbsent(ctx, names[0], []byte("x")); !errors.Is(err, export.ErrExists) {
		t.Fatalf("overwrite in the volume: %v", err)
	}
}
