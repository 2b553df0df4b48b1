package embedded

// Several OS processes on one file: the test binary re-executes itself in
// a helper mode (BEHALF_QUEUE_HELPER) and talks to the helpers over their
// stdin and stdout, one line per event.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/behalf-dev/behalf/shared/queue"
)

const (
	helperEnv   = "BEHALF_QUEUE_HELPER"
	helperDBEnv = "BEHALF_QUEUE_HELPER_DB"
	batchSize   = 100
)

// helperQueues are the queues both sides declare.
func helperQueues() []QueueConfig {
	return []QueueConfig{
		{Name: "ops", Sessions: true, LockDuration: 5 * time.Second},
		{Name: "work", LockDuration: 5 * time.Second},
		{Name: "batch"},
	}
}

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		if err := runHelper(mode, os.Getenv(helperDBEnv)); err != nil {
			fmt.Printf("error: %v\n", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runHelper(mode, path string) error {
	ctx := context.Background()
	q, err := Open(ctx, Config{Path: path, Queues: helperQueues(), Logger: quietLogger()})
	if err != nil {
		return err
	}
	in := bufio.NewScanner(os.Stdin)
	waitGo := func() {
		fmt.Println("ready")
		in.Scan() // "go"
	}
	switch mode {
	case "accept":
		waitGo()
		s, err := q.AcceptSession(ctx, "ops", "op-1")
		switch {
		case err == nil:
			fmt.Println("won")
		case errors.Is(err, queue.ErrSessionLocked):
			fmt.Println("locked")
		default:
			return err
		}
		in.Scan() // hold until the parent has both answers
		if s != nil {
			return s.Close(ctx)
		}
		return nil
	case "drain":
		waitGo()
		for empty := 0; empty < 3; {
			ds, err := q.Receive(ctx, "work", 5, 100*time.Millisecond)
			if err != nil {
				return err
			}
			if len(ds) == 0 {
				empty++
				continue
			}
			empty = 0
			for _, d := range ds {
				if err := d.Complete(ctx); err != nil {
					return err
				}
				fmt.Println("got", d.Message().ID)
			}
			// A consumer does work between receives; without it one
			// process can take every batch before the other starts.
			time.Sleep(2 * time.Millisecond)
		}
		fmt.Println("done")
		return q.Close(ctx)
	case "hold":
		s, err := q.AcceptSession(ctx, "ops", "op-2")
		if err != nil {
			return err
		}
		ds, err := s.Receive(ctx, 1, 5*time.Second)
		if err != nil || len(ds) != 1 {
			return fmt.Errorf("hold: %d messages, %v", len(ds), err)
		}
		fmt.Println("held")
		select {} // until killed
	case "send-midbatch":
		q.beforeCommit = func(op string) {
			if op == "send" {
				fmt.Println("mid-batch")
				select {} // inside the transaction, until killed
			}
		}
		return q.Send(ctx, "batch", batch(0)...)
	case "send-loop":
		for i := 0; ; i++ {
			if err := q.Send(ctx, "batch", batch(i)...); err != nil {
				return err
			}
			fmt.Println("sent", i)
		}
	}
	return fmt.Errorf("unknown helper mode %q", mode)
}

func batch(i int) []queue.Message {
	body := make([]byte, 1<<10)
	msgs := make([]queue.Message, batchSize)
	for j := range msgs {
		msgs[j] = queue.Message{ID: fmt.Sprintf("b%d-%d", i, j), Body: body, Properties: map[string]any{"batch": int64(i)}}
	}
	return msgs
}

// helper is a running helper process.
type helper struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
}

func startHelper(t *testing.T, mode, path string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperDBEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helper{t: t, cmd: cmd, stdin: stdin, lines: make(chan string, 1024)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
		close(h.lines)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return h
}

// next returns the helper's next line; it fails the test on an error
// line, on exit, or after 20 s.
func (h *helper) next() string {
	h.t.Helper()
	select {
	case l, ok := <-h.lines:
		if !ok {
			h.t.Fatalf("helper %s exited early", h.cmd.Env[len(h.cmd.Env)-2])
		}
		if strings.HasPrefix(l, "error:") {
			h.t.Fatalf("helper: %s", l)
		}
		return l
	case <-time.After(20 * time.Second):
		h.t.Fatal("helper silent for 20 s")
		return ""
	}
}

func (h *helper) expect(want string) {
	h.t.Helper()
	if got := h.next(); got != want {
		h.t.Fatalf("helper said %q, want %q", got, want)
	}
}

func (h *helper) say(line string) {
	h.t.Helper()
	if _, err := io.WriteString(h.stdin, line+"\n"); err != nil {
		h.t.Fatal(err)
	}
}

// kill sends SIGKILL and reaps the process.
func (h *helper) kill() {
	h.t.Helper()
	if err := h.cmd.Process.Kill(); err != nil {
		h.t.Fatal(err)
	}
	_ = h.cmd.Wait()
}

func TestProcessesContendForOneSession(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	q := open(t, path, nil, helperQueues()...)
	if err := q.Send(context.Background(), "ops", queue.Message{ID: "op-1", SessionID: "op-1"}); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 3; round++ {
		a, b := startHelper(t, "accept", path), startHelper(t, "accept", path)
		a.expect("ready")
		b.expect("ready")
		a.say("go")
		b.say("go")
		got := []string{a.next(), b.next()}
		sort.Strings(got)
		if got[0] != "locked" || got[1] != "won" {
			t.Fatalf("round %d: the processes said %v, want one locked and one won", round, got)
		}
		a.say("exit")
		b.say("exit")
		if err := a.cmd.Wait(); err != nil {
			t.Fatalf("helper a: %v", err)
		}
		if err := b.cmd.Wait(); err != nil {
			t.Fatalf("helper b: %v", err)
		}
	}
}

func TestProcessesShareMessages(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	q := open(t, path, nil, helperQueues()...)
	const n = 100
	var msgs []queue.Message
	for i := 0; i < n; i++ {
		msgs = append(msgs, queue.Message{ID: fmt.Sprintf("w-%03d", i)})
	}
	if err := q.Send(ctx, "work", msgs...); err != nil {
		t.Fatal(err)
	}
	hs := []*helper{startHelper(t, "drain", path), startHelper(t, "drain", path)}
	for _, h := range hs {
		h.expect("ready")
	}
	for _, h := range hs {
		h.say("go")
	}
	seen := map[string]int{}
	perProcess := make([]int, len(hs))
	for i, h := range hs {
		for {
			l := h.next()
			if l == "done" {
				break
			}
			id, ok := strings.CutPrefix(l, "got ")
			if !ok {
				t.Fatalf("helper said %q", l)
			}
			seen[id]++
			perProcess[i]++
		}
	}
	if len(seen) != n {
		t.Fatalf("%d distinct messages completed, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("%s completed by %d processes", id, c)
		}
	}
	t.Logf("messages per process: %v", perProcess)
}

// A process killed inside a batch Send leaves none of the batch.
func TestKillMidBatchLeavesNothing(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	h := startHelper(t, "send-midbatch", path)
	h.expect("mid-batch")
	h.kill()
	q := open(t, path, nil, helperQueues()...)
	ds, err := q.Receive(ctx, "batch", queue.MaxReceive, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 0 {
		t.Fatalf("%d messages of a batch whose Send was killed before commit", len(ds))
	}
	checkIntegrity(t, q)
	// The file is writable again: the dead process' lock is gone.
	if err := q.Send(ctx, "batch", batch(1)...); err != nil {
		t.Fatalf("Send after the crash: %v", err)
	}
}

// A process killed at any point of a stream of batch Sends leaves whole
// batches only, and every batch it reported sent.
func TestKillDuringSendsLeavesWholeBatches(t *testing.T) {
	ctx := context.Background()
	for round, delay := range []time.Duration{0, 3 * time.Millisecond, 11 * time.Millisecond} {
		path := filepath.Join(t.TempDir(), fmt.Sprintf("q%d.db", round))
		h := startHelper(t, "send-loop", path)
		reported := -1
		for reported < 2 {
			l := h.next()
			i, err := strconv.Atoi(strings.TrimPrefix(l, "sent "))
			if err != nil {
				t.Fatalf("helper said %q", l)
			}
			reported = i
		}
		time.Sleep(delay)
		h.kill()
		// Lines printed before the kill name batches that must be there.
		for l := range h.lines {
			if i, err := strconv.Atoi(strings.TrimPrefix(l, "sent ")); err == nil {
				reported = i
			}
		}
		q := open(t, path, nil, helperQueues()...)
		counts := map[int64]int{}
		for {
			ds, err := q.Receive(ctx, "batch", queue.MaxReceive, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) == 0 {
				break
			}
			// Left locked, not completed: a lock is enough to count
			// each message once.
			for _, d := range ds {
				counts[d.Message().Properties["batch"].(int64)]++
			}
		}
		for b, c := range counts {
			if c != batchSize {
				t.Fatalf("round %d: batch %d has %d of %d messages", round, b, c, batchSize)
			}
		}
		for b := 0; b <= reported; b++ {
			if counts[int64(b)] != batchSize {
				t.Fatalf("round %d: batch %d was reported sent but is missing", round, b)
			}
		}
		checkIntegrity(t, q)
		t.Logf("round %d: %d whole batches, %d reported", round, len(counts), reported+1)
	}
}

// A session lock held by a killed process stays until it lapses; then the
// session can be accepted and its message is delivered again.
func TestKilledHoldersLockLapses(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	q := open(t, path, nil, helperQueues()...)
	if err := q.Send(ctx, "ops", queue.Message{ID: "op-2", SessionID: "op-2", Body: []byte("DELETE")}); err != nil {
		t.Fatal(err)
	}
	h := startHelper(t, "hold", path)
	h.expect("held")
	h.kill()
	if _, err := q.AcceptSession(ctx, "ops", "op-2"); !errors.Is(err, queue.ErrSessionLocked) {
		t.Fatalf("AcceptSession right after the holder died = %v, want ErrSessionLocked (its lock is recorded)", err)
	}
	var s queue.Session
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		s, err = q.AcceptSession(ctx, "ops", "op-2")
		if err == nil {
			break
		}
		if !errors.Is(err, queue.ErrSessionLocked) || time.Now().After(deadline) {
			t.Fatalf("AcceptSession after the lock should have lapsed: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ds, err := s.Receive(ctx, 1, 5*time.Second)
	if err != nil || len(ds) != 1 {
		t.Fatalf("Receive: %d messages, %v", len(ds), err)
	}
	if ds[0].Message().ID != "op-2" || ds[0].Message().DeliveryCount != 2 {
		t.Fatalf("got %q with DeliveryCount %d, want op-2/2", ds[0].Message().ID, ds[0].Message().DeliveryCount)
	}
	if err := ds[0].Complete(ctx); err != nil {
		t.Fatal(err)
	}
}

func checkIntegrity(t *testing.T, q *Queues) {
	t.Helper()
	var res string
	if err := q.db.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity_check = %q, %v", res, err)
	}
}
