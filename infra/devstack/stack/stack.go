// Package stack runs the offline product behind `behalf dev` (make run):
// the emulators of Entra ID and a Databricks workspace, the embedded queue
// and audit store, the local trigger driver, and the function app itself —
// the same production code, configured to use the emulators. It is
// compiled only into dev builds (the devstack tag) because the emulators
// mint tokens.
package stack

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/behalf-dev/behalf/infra/devstack/databricks"
	"github.com/behalf-dev/behalf/infra/devstack/entra"
	"github.com/behalf-dev/behalf/infra/devstack/teams"
	"github.com/behalf-dev/behalf/shared/funchost"
)

// Options configure the dev stack.
type Options struct {
	// Addr is where the function app listens (default 127.0.0.1:7071).
	Addr string
	// DataDir holds the dev CA, SQLite files and exports (default .devstack).
	DataDir string
	Stdout  io.Writer
	// Lookup reads the developer's environment; dev settings fill the gaps.
	Lookup func(string) (string, bool)
	// Functions is the function app folder (function.json files).
	Functions fs.FS
	// Serve runs the function app on l with the given settings until ctx ends.
	Serve func(ctx context.Context, l net.Listener, settings func(string) (string, bool)) error
	// DatabricksAddr is where the workspace emulator listens (default
	// 127.0.0.1:8444).
	DatabricksAddr string
	// EntraAddr is where the Entra ID emulator listens (default
	// 127.0.0.1:8443; ":0" picks a free port).
	EntraAddr string
	// TeamsAddr is where the Teams webhook recorder listens (default
	// 127.0.0.1:8445).
	TeamsAddr string
	// Ready, if set, is called once everything is listening.
	Ready func(*Running)
	// QueueSource opens the local queue the trigger driver pumps (the same
	// embedded queue file the function app uses, opened a second time the
	// way another process would); nil drives no queue functions.
	QueueSource func(ctx context.Context, settings func(string) (string, bool)) (funchost.QueueSource, func(), error)
}

// Running describes a started stack.
type Running struct {
	AppURL string
	// Authority is the Entra ID emulator's authority for behalf's tenant
	// (what MSAL is given).
	Authority string
	// Services lists what runs where, for the banner and for tests.
	Services []Service
	// People are the demo people one can sign in as.
	People []Person
	// Entra is the running Entra ID emulator, for tests: its minting
	// helpers, counters and fault knobs.
	Entra *entra.Emulator
	// Databricks is the running workspace emulator (counters, faults).
	Databricks *databricks.Emulator
	// Teams records the approval cards behalf posts.
	Teams *teams.Recorder
	// Driver delivers queue messages and timer ticks; tests Fire timers.
	Driver  *funchost.Driver
	DataDir string
}

// Service is one line of the banner.
type Service struct {
	Name, URL, Note string
}

// Person is a demo person in the banner.
type Person struct {
	Name, UPN, Role string
}

// ParseFlags reads `behalf dev` flags.
func ParseFlags(args []string, stderr io.Writer) (Options, error) {
	fl := flag.NewFlagSet("behalf dev", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var o Options
	fl.StringVar(&o.Addr, "addr", "127.0.0.1:7071", "address of the function app")
	fl.StringVar(&o.DataDir, "data-dir", ".devstack", "folder for the dev CA, databases and exports")
	fl.StringVar(&o.DatabricksAddr, "databricks-addr", "127.0.0.1:8444", "address of the Databricks workspace emulator")
	fl.StringVar(&o.EntraAddr, "entra-addr", "127.0.0.1:8443", "address of the Entra ID emulator")
	fl.StringVar(&o.TeamsAddr, "teams-addr", "127.0.0.1:8445", "address of the Teams webhook recorder")
	if err := fl.Parse(args); err != nil {
		return o, err
	}
	if fl.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %v", fl.Args())
	}
	return o, nil
}

// Run starts the stack and blocks until ctx ends, then shuts everything
// down, draining in-flight requests.
func Run(ctx context.Context, o Options) error {
	if o.Serve == nil || o.Functions == nil {
		return errors.New("stack: Serve and Functions are required")
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:7071"
	}
	if o.DataDir == "" {
		o.DataDir = ".devstack"
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Lookup == nil {
		o.Lookup = os.LookupEnv
	}
	dataDir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("stack: data dir: %w", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	emus, err := startEmulators(ctx, o, dataDir)
	if err != nil {
		return err
	}
	defer emus.close()
	settings := emus.settings
	lookup := func(name string) (string, bool) {
		if v, ok := settings[name]; ok {
			return v, true
		}
		return o.Lookup(name)
	}

	l, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("stack: listen on %s: %w (is another `behalf dev` running?)", o.Addr, err)
	}
	appURL := "http://" + l.Addr().String()
	settings["BEHALF_PUBLIC_URL"] = appURL
	if err := emus.identity.appStarted(appURL, settings); err != nil {
		l.Close()
		return err
	}

	var wg sync.WaitGroup
	errc := make(chan error, 2)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := o.Serve(ctx, l, lookup); err != nil {
			errc <- fmt.Errorf("function app: %w", err)
			cancel()
		}
	}()

	// The app opens (and, the first time, creates) the queue file; the
	// driver opens it second, once the app answers, as another process
	// would.
	if err := waitReady(ctx, appURL); err != nil {
		cancel()
		wg.Wait()
		return errors.Join(err, drain(errc))
	}
	var queues funchost.QueueSource
	if o.QueueSource != nil {
		src, closeQueue, err := o.QueueSource(ctx, lookup)
		if err != nil {
			cancel()
			wg.Wait()
			return errors.Join(fmt.Errorf("stack: local queue: %w", err), drain(errc))
		}
		defer closeQueue()
		queues = src
	}
	driver, err := funchost.NewDriver(funchost.DriverConfig{
		Functions: o.Functions,
		BaseURL:   appURL,
		Queues:    queues,
		Setting:   func(n string) string { v, _ := lookup(n); return v },
		Logger:    slog.Default(),
	})
	if err != nil {
		cancel()
		wg.Wait()
		return errors.Join(err, drain(errc))
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := driver.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			errc <- fmt.Errorf("trigger driver: %w", err)
			cancel()
		}
	}()
	running := &Running{AppURL: appURL, Authority: emus.identity.emu.Authority(emus.identity.tenant), People: emus.people,
		Entra: emus.identity.emu, Databricks: emus.dbx, Teams: emus.teams, Driver: driver, DataDir: dataDir, Services: append([]Service{
			{"function app", appURL + "/api/health", "every function under " + appURL + "/api/"},
			{"trigger driver", "-", "delivers queue messages and timer ticks through the invocation protocol"},
		}, append(emus.services, Service{"data", dataDir, "dev CA (ca.pem), databases, exports"})...)}
	printBanner(o.Stdout, running)
	if o.Ready != nil {
		o.Ready(running)
	}
	<-ctx.Done()
	wg.Wait()
	return drain(errc)
}

func drain(errc chan error) error {
	var errs []error
	for {
		select {
		case err := <-errc:
			errs = append(errs, err)
		default:
			return errors.Join(errs...)
		}
	}
}

// waitReady polls the app the way the Functions host does: any HTTP answer
// means ready.
func waitReady(ctx context.Context, url string) error {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/", nil)
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("stack: function app did not answer at %s within 30s", url)
}

func printBanner(w io.Writer, r *Running) {
	fmt.Fprintf(w, "\nbehalf dev stack is running (Ctrl-C stops it)\n\n")
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	for _, s := range r.Services {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.Name, s.URL, s.Note)
	}
	_ = tw.Flush()
	if len(r.People) > 0 {
		fmt.Fprintf(w, "\ndemo people (sign in at %s/api/auth/login, authority %s):\n", r.AppURL, r.Authority)
		tw = tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		for _, p := range r.People {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", p.Name, p.UPN, p.Role)
		}
		_ = tw.Flush()
	}
	fmt.Fprintf(w, "\ntry: curl %s/api/health\n\n", r.AppURL)
}
