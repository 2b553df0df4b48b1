package e2e

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/behalf-dev/behalf/infra/devstack/databricks"
	"github.com/behalf-dev/behalf/shared/approval"
	"github.com/behalf-dev/behalf/shared/queue"
	"github.com/behalf-dev/behalf/shared/queue/embedded"
	"github.com/behalf-dev/behalf/shared/sqlexec"
	"github.com/behalf-dev/behalf/shared/sqlguard"
	"github.com/behalf-dev/behalf/shared/sqlops"
	"github.com/behalf-dev/behalf/shared/workspace"
)

// These tests kill a real process (SIGKILL: no deferred cleanup, no
// released lock) at the worst moments of the propose → approve → run
// pipeline, on the embedded queue that behalf dev and the standalone server
// use, and check what a surviving process finds. The test binary re-runs
// itself as the process to kill.

const (
	crashMode    = "BEHALF_E2E_CRASH_MODE"
	crashQueue   = "BEHALF_E2E_CRASH_QUEUE"
	crashOpFile  = "BEHALF_E2E_CRASH_OP"
	crashHost    = "BEHALF_E2E_CRASH_HOST"
	crashCA      = "BEHALF_E2E_CRASH_CA"
	crashToken   = "BEHALF_E2E_CRASH_TOKEN"
	pendingQueue = "pending-operations"
	// lockDuration is short so a dead holder's lock lapses quickly.
	lockDuration = 2 * time.Second
)

func TestMain(m *testing.M) {
	switch os.Getenv(crashMode) {
	case "":
		os.Exit(m.Run())
	case "propose":
		crashWhileProposing()
	case "confirm":
		crashWhileRunning()
	}
	os.Exit(3) // the modes never return: they die by SIGKILL
}

func openQueue(path string) (*embedded.Queues, error) {
	return embedded.Open(context.Background(), embedded.Config{Path: path, Queues: []embedded.QueueConfig{
		{Name: pendingQueue, Sessions: true, DeadLetterOnExpiry: true, LockDuration: lockDuration, MaxDeliveries: 100},
	}})
}

// noEvents records nothing; the audit trail is tested elsewhere.
type noEvents struct {
	mu       sync.Mutex
	finished []approval.Status
}

func (*noEvents) Decided(context.Context, *approval.Operation, approval.State, approval.Decision) {}
func (*noEvents) Executing(context.Context, *approval.Operation) error                            { return nil }
func (e *noEvents) Finished(_ context.Context, _ *approval.Operation, st approval.State) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.finished = append(e.finished, st.Status)
}

// killingQueues dies the moment the pending message is durably queued:
// after "accept" (the message exists) and before the operation is
// recorded or the proposer hears anything.
type killingQueues struct{ queue.Queues }

func (k killingQueues) Send(ctx context.Context, name string, msgs ...queue.Message) error {
	err := k.Queues.Send(ctx, name, msgs...)
	if err == nil {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	return err
}

func crashWhileProposing() {
	q, err := openQueue(os.Getenv(crashQueue))
	if err != nil {
		os.Exit(4)
	}
	svc := &approval.Service{Queue: &approval.SessionQueue{Queues: killingQueues{q}, Name: pendingQueue}, Events: &noEvents{}}
	op := newOp("DELETE FROM main.sales.deals WHERE stage = 'Closed Lost'")
	b, _ := json.Marshal(op)
	if os.WriteFile(os.Getenv(crashOpFile), b, 0o600) != nil {
		os.Exit(5)
	}
	_ = svc.Propose(context.Background(), op)
	os.Exit(6) // not reached: Send kills the process
}

// crashWhileRunning confirms an operation, lets the statement really run
// on the workspace, and dies before the outcome is recorded: the
// executing marker is on disk, the session lock still held.
func crashWhileRunning() {
	q, err := openQueue(os.Getenv(crashQueue))
	if err != nil {
		os.Exit(4)
	}
	var op approval.Operation
	b, err := os.ReadFile(os.Getenv(crashOpFile))
	if err != nil || json.Unmarshal(b, &op) != nil {
		os.Exit(5)
	}
	pem, err := os.ReadFile(os.Getenv(crashCA))
	if err != nil {
		os.Exit(7)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	run, err := runnerFor(os.Getenv(crashHost), roots, os.Getenv(crashToken))
	if err != nil {
		os.Exit(8)
	}
	svc := &approval.Service{Queue: &approval.SessionQueue{Queues: q, Name: pendingQueue}, Events: &noEvents{}}
	_, _ = svc.Decide(context.Background(), op.ID, approval.Actor{Person: op.Proposer}, approval.KindConfirm, "", op.StatementSHA256,
		func(ctx context.Context, o *approval.Operation) (*approval.Outcome, approval.Status) {
			out, st := run(ctx, o)
			if st == approval.StatusExecuted {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {}
			}
			os.Exit(9) // the statement did not run: the test would prove nothing
			return out, st
		})
	os.Exit(6)
}

func runnerFor(host string, roots *x509.CertPool, token string) (approval.Runner, error) {
	f, err := workspace.NewFactory(workspace.Config{Host: host, RootCAs: roots})
	if err != nil {
		return nil, err
	}
	w, err := f.ForToken(token)
	if err != nil {
		return nil, err
	}
	r, err := sqlexec.New(w)
	if err != nil {
		return nil, err
	}
	c, err := sqlguard.New(sqlguard.Config{})
	if err != nil {
		return nil, err
	}
	svc, err := sqlops.New(sqlops.Config{Classifier: c, Approvals: &approval.Service{}, DefaultWarehouse: databricks.DevWarehouseID})
	if err != nil {
		return nil, err
	}
	return svc.Runner(r), nil
}

func newOp(stmt string) *approval.Operation {
	now := time.Now().UTC()
	return &approval.Operation{ID: "9b2f3c1e-0000-4000-8000-" + now.Format("150405000000")[:12], Proposer: approval.Person{OID: "b0000000-0000-4000-8000-000000000001",
		UPN: west, TenantID: "7d3e2a10-5b1c-4c8e-9f00-0000000d3e10"}, Statement: stmt, StatementSHA256: approval.HashStatement(stmt),
		WarehouseID: databricks.DevWarehouseID, Class: "write", Risk: "medium", Policy: approval.PolicySelf, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
}

// runChild runs the test binary in a crash mode and expects it to die by
// SIGKILL.
func runChild(t *testing.T, mode string, env ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), crashMode+"="+mode), env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("%s: the child did not die: %v %s", mode, err, out)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("%s: the child exited (%v) instead of being killed mid-way: %s", mode, ee, out)
	}
}

// TestKilledBetweenAcceptAndResponse is sql-propose's acceptance 4: the
// process dies after the pending message is queued and before the
// operation is recorded. The interrupted proposal never becomes an
// operation anyone can decide on or run, and the sweep removes it.
func TestKilledBetweenAcceptAndResponse(t *testing.T) {
	dir := t.TempDir()
	path, opFile := filepath.Join(dir, "queue.db"), filepath.Join(dir, "op.json")
	runChild(t, "propose", crashQueue+"="+path, crashOpFile+"="+opFile)

	var op approval.Operation
	b, err := os.ReadFile(opFile)
	if err != nil || json.Unmarshal(b, &op) != nil {
		t.Fatalf("op file: %v", err)
	}
	q, err := openQueue(path)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close(context.Background())
	ev := &noEvents{}
	clock := time.Now()
	sq := &approval.SessionQueue{Queues: q, Name: pendingQueue, ReceiveWait: 200 * time.Millisecond}
	svc := &approval.Service{Queue: sq, Events: ev, Now: func() time.Time { return clock }}
	ctx := context.Background()
	if _, err := svc.Get(ctx, op.ID); !errors.Is(err, approval.ErrNotFound) {
		t.Fatalf("the interrupted proposal reads as %v", err)
	}
	ran := false
	// The killed process's session lock is still held: wait for it to lapse.
	deadline := time.Now().Add(3 * lockDuration)
	for {
		_, err = svc.Decide(ctx, op.ID, approval.Actor{Person: op.Proposer}, approval.KindConfirm, "", "", func(context.Context, *approval.Operation) (*approval.Outcome, approval.Status) {
			ran = true
			return &approval.Outcome{}, approval.StatusExecuted
		})
		if !errors.Is(err, approval.ErrBusy) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !errors.Is(err, approval.ErrNotFound) || ran {
		t.Fatalf("confirming the interrupted proposal: ran=%v err=%v", ran, err)
	}
	// Young orphans are left alone (a Propose may still be finishing)...
	rep, err := svc.Sweep(ctx, sq, approval.SweepConfig{Wait: 200 * time.Millisecond})
	if err != nil || rep.Orphans != 0 {
		t.Fatalf("sweep of a young orphan: %+v %v", rep, err)
	}
	// ...and old ones removed, with no event: it never was an operation.
	clock = clock.Add(11 * time.Minute)
	rep, err = svc.Sweep(ctx, sq, approval.SweepConfig{Wait: 200 * time.Millisecond})
	if err != nil || rep.Orphans != 1 || len(ev.finished) != 0 {
		t.Fatalf("sweep: %+v %v events %v", rep, err, ev.finished)
	}
	if rep, _ := svc.Sweep(ctx, sq, approval.SweepConfig{Wait: 200 * time.Millisecond}); rep.Visited != 0 {
		t.Fatalf("the orphan is still queued: %+v", rep)
	}
}

// TestKilledAfterTheExecutingMarker is sql-approve's acceptance 4: the
// statement is sent and the process dies before its outcome is recorded.
// The retry reports unknown and never runs it again: one execution at most.
func TestKilledAfterTheExecutingMarker(t *testing.T) {
	w := startWorkspace(t, nil)
	dir := t.TempDir()
	path, opFile, caFile := filepath.Join(dir, "queue.db"), filepath.Join(dir, "op.json"), filepath.Join(dir, "ca.pem")
	if err := w.ca.WriteCertPEM(caFile); err != nil {
		t.Fatal(err)
	}
	q, err := openQueue(path)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close(context.Background())
	ev := &noEvents{}
	sq := &approval.SessionQueue{Queues: q, Name: pendingQueue, ReceiveWait: 200 * time.Millisecond}
	svc := &approval.Service{Queue: sq, Events: ev}
	ctx := context.Background()
	op := newOp("UPDATE main.sales.deals SET stage = 'Qualification' WHERE stage = 'Proposal'")
	if err := svc.Propose(ctx, op); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(op)
	if err := os.WriteFile(opFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	runChild(t, "confirm", crashQueue+"="+path, crashOpFile+"="+opFile, crashHost+"="+w.dbx.URL(), crashCA+"="+caFile,
		crashToken+"="+w.tokenFor(t, west).AccessToken)
	if n := w.dbx.Counters().StatementsByPrincipal[west]; n != 1 {
		t.Fatalf("%d executions by the killed process", n)
	}

	ran := false
	retry := func(context.Context, *approval.Operation) (*approval.Outcome, approval.Status) {
		ran = true
		return &approval.Outcome{}, approval.StatusExecuted
	}
	var v *approval.View
	deadline := time.Now().Add(3 * lockDuration)
	for {
		v, err = svc.Decide(ctx, op.ID, approval.Actor{Person: op.Proposer}, approval.KindConfirm, "", "", retry)
		if !errors.Is(err, approval.ErrBusy) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var ref *approval.Refusal
	if !errors.As(err, &ref) || ref.Code != "CONFLICT" || v == nil || v.State.Status != approval.StatusUnknown || ran {
		t.Fatalf("retry after the crash: ran=%v view=%+v err=%v", ran, v, err)
	}
	if n := w.dbx.Counters().StatementsByPrincipal[west]; n != 1 {
		t.Fatalf("%d executions after the retry", n)
	}
	if len(ev.finished) != 1 || ev.finished[0] != approval.StatusUnknown {
		t.Fatalf("terminal events %v", ev.finished)
	}
	if v, err := svc.Get(ctx, op.ID); err != nil || v.State.Status != approval.StatusUnknown {
		t.Fatalf("after: %+v %v", v, err)
	}
}
