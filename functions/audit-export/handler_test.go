package auditexport

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/behalf-dev/behalf/shared/audit"
	"github.com/behalf-dev/behalf/shared/audit/audittest"
	"github.com/behalf-dev/behalf/shared/audit/export"
	"github.com/behalf-dev/behalf/shared/audit/sqlitestore"
	"github.com/behalf-dev/behalf/shared/funchost"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

type trail struct {
	mu     sync.Mutex
	events []audit.Event
}

func (t *trail) Emit(_ context.Context, ev audit.Event) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.events = append(t.events, ev)
	return nil
}

func tick(t *testing.T, fn funchost.TriggerFunction, now time.Time) (*funchost.InvocationResult, error) {
	t.Helper()
	inv, err := funchost.EncodeTimer(Name, Binding, &funchost.TimerInfo{}, now)
	if err != nil {
		t.Fatal(err)
	}
	return fn.Handler(context.Background(), inv)
}

func TestTimerExportsThePeriod(t *testing.T) {
	ctx := context.Background()
	store, err := sqlitestore.Open(ctx, sqlitestore.Config{Path: filepath.Join(t.TempDir(), "audit.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := store.Append(ctx, audittest.Events(0, 6)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sink, _ := export.NewLocalSink(dir)
	x, _ := export.New(export.Config{Store: store, Sink: sink, Logger: quiet()})
	tr := &trail{}
	now := time.Date(2025, 3, 2, 2, 0, 0, 0, time.UTC)
	fn := Function(Config{Exporter: x, Trail: tr, Actor: audit.Actor{ClientAppID: "d0000000-0000-4000-8000-0000000000d2"}, Logger: quiet(), Now: func() time.Time { return now }})
	res, err := tick(t, fn, now)
	if err != nil || len(res.Logs) != 1 || !strings.Contains(res.Logs[0], "6 records") {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "audit-20250301T000000Z.manifest.json")); err != nil {
		t.Fatal(err)
	}
	// A second tick in the same period changes nothing.
	if res, err = tick(t, fn, now.Add(time.Hour)); err != nil || !strings.Contains(res.Logs[0], "written: false") {
		t.Fatalf("%+v %v", res, err)
	}
	if len(tr.events) != 2 || tr.events[0].Status != audit.StatusSuccess || tr.events[0].OnBehalfOf != audit.ModeM2M || *tr.events[0].Rows != 6 {
		t.Fatalf("events %+v", tr.events)
	}
}

type failing struct{ err error }

func (f failing) Export(context.Context, time.Time) (*export.Result, error) { return nil, f.err }

func TestFailuresAreReportedAndAudited(t *testing.T) {
	tr := &trail{}
	fn := Function(Config{Exporter: failing{export.ErrConflict}, Trail: tr, Logger: quiet()})
	if _, err := tick(t, fn, time.Now()); !errors.Is(err, export.ErrConflict) {
		t.Fatalf("conflict: %v", err)
	}
	if len(tr.events) != 1 || tr.events[0].Status != audit.StatusFailed || tr.events[0].ErrorCode != "EXPORT_CONFLICT" {
		t.Fatalf("events %+v", tr.events)
	}
	if _, err := tick(t, Function(Config{Exporter: failing{export.ErrSuperseded}, Logger: quiet()}), time.Now()); err != nil {
		t.Fatalf("superseded run: %v", err)
	}
	if res, err := tick(t, Function(Config{Logger: quiet()}), time.Now()); err != nil || res.Logs[0] != "audit export is off" {
		t.Fatalf("no sink: %+v %v", res, err)
	}
}

func TestFunctionJSONReadsTheScheduleSetting(t *testing.T) {
	fjs, err := funchost.LoadFunctions(os.DirFS(".."))
	if err != nil {
		t.Fatal(err)
	}
	trig, err := fjs[Name].Trigger()
	if err != nil || trig.Type != "timerTrigger" || trig.Name != Binding || trig.Schedule != "%BEHALF_AUDIT_EXPORT_SCHEDULE%" || trig.RunOnStartup {
		t.Fatalf("trigger %+v %v", trig, err)
	}
}
