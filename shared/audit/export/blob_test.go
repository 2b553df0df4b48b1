package export

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// lockedBuffer collects a child process' output for error messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Azurite, the Azure Storage emulator, pinned; the test installs it from
// npm into the user cache folder on first use.
const (
	azuriteVersion = "3.35.0"
	// The emulator's documented well-known development account. It only
	// opens the local emulator; it is no secret.
	azuriteAccount = "devstoreaccount1"
	azuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// startAzurite installs (once) and starts an in-memory Azurite blob
// service on a free loopback port, and returns a fresh container.
func startAzurite(t *testing.T) *container.Client {
	t.Helper()
	node, errNode := exec.LookPath("node")
	npm, errNpm := exec.LookPath("npm")
	if errNode != nil || errNpm != nil {
		t.Skipf("node and npm are needed to run Azurite for the blob sink test (node: %v, npm: %v)", errNode, errNpm)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	prefix := filepath.Join(cache, "behalf", "azurite-"+azuriteVersion)
	bin := filepath.Join(prefix, "node_modules", "azurite", "dist", "src", "blob", "main.js")
	if _, err := os.Stat(bin); err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, npm, "install", "--prefix", prefix, "--no-audit", "--no-fund", "--loglevel=error", "azurite@"+azuriteVersion).CombinedOutput()
		if err != nil {
			t.Fatalf("npm install azurite@%s: %v\n%s", azuriteVersion, err, out)
		}
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("azurite installed but %s is missing: %v", bin, err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	logs := &lockedBuffer{}
	// No telemetry: the emulator must not reach out of this machine.
	cmd := exec.Command(node, bin, "--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port), "--inMemoryPersistence",
		"--disableTelemetry", "--skipApiVersionCheck", "--silent")
	cmd.Dir = t.TempDir()
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("azurite exited (%v): %s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("azurite did not listen on %d: %s", port, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	cred, err := container.NewSharedKeyCredential(azuriteAccount, azuriteKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := container.NewClientWithSharedKeyCredential(fmt.Sprintf("http://127.0.0.1:%d/%s/audit-exports", port, azuriteAccount), cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestExportToAzurite is acceptance point 4: files and manifest appear in
// Blob Storage, a second run for the same period writes the same bytes,
// and a run interrupted after the data file resumes.
func TestExportToAzurite(t *testing.T) {
	c := startAzurite(t)
	ctx := context.Background()
	sink, err := NewBlobSink(BlobConfig{Container: c, Prefix: "behalf/"})
	if err != nil {
		t.Fatal(err)
	}
	s := newStore(t)
	appendN(t, s, 0, 25)
	flaky := &failingSink{Sink: sink}
	x := newExporter(t, s, flaky)

	// Interrupted after the data file.
	flaky.failManifests.Store(true)
	if _, err := x.Export(ctx, day1); err == nil {
		t.Fatal("export succeeded without its manifest")
	}
	names, err := sink.List(ctx)
	if err != nil || len(names) != 1 || names[0] != "audit-20250301T000000Z.jsonl" {
		t.Fatalf("after the interruption: %v %v", names, err)
	}
	partial, _ := sink.Get(ctx, names[0])
	appendN(t, s, 25, 5)
	flaky.failManifests.Store(false)
	res := mustExport(t, x, day1)
	if !res.Resumed || res.Manifest.Count != 25 {
		t.Fatalf("resumed %+v", res)
	}
	names, _ = sink.List(ctx)
	if len(names) != 2 || names[1] != "audit-20250301T000000Z.manifest.json" {
		t.Fatalf("objects %v", names)
	}
	objects := map[string][]byte{}
	for _, n := range names {
		objects[n], _ = sink.Get(ctx, n)
	}
	if !bytes.Equal(objects[names[0]], partial) {
		t.Fatal("the resumed export replaced the data blob")
	}
	// The same period again writes nothing and the bytes stay the same.
	if again := mustExport(t, x, day1); again.Written {
		t.Fatalf("second run wrote %+v", again)
	}
	for n, b := range objects {
		if got, _ := sink.Get(ctx, n); !bytes.Equal(got, b) {
			t.Fatalf("%s changed on the second run", n)
		}
	}
	// The next period carries the events that came in meanwhile.
	if next := mustExport(t, x, day2).Manifest; next.FirstSeq != 26 || next.Count != 5 {
		t.Fatalf("next %+v", next)
	}
	rep, err := Verify(ctx, sink)
	if err != nil || rep.Records != 30 || rep.Manifests != 2 {
		t.Fatalf("verify %+v %v", rep, err)
	}
	// Azure itself refuses to replace a blob.
	if err := sink.PutIfAbsent(ctx, names[1], []byte("{}")); !errors.Is(err, ErrExists) {
		t.Fatalf("overwrite: %v", err)
	}
	if _, err := sink.Get(ctx, "missing.json"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("missing blob: %v", err)
	}
	head, _ := s.Head(ctx)
	if rep.Head != head {
		t.Fatalf("export head %+v, store head %+v", rep.Head, head)
	}
}

func TestBlobContainerURLIsChecked(t *testing.T) {
	for _, u := range []string{"http://acct.blob.core.windows.net/c", "https://acct.blob.core.windows.net", "https://acct.blob.core.windows.net/c?sv=1&sig=x", "::"} {
		if _, err := NewBlobContainer(u, nil, nil); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}
