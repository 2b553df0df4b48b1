package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/behalf-dev/behalf/shared/audit"
	"github.com/behalf-dev/behalf/shared/audit/export"
	"github.com/behalf-dev/behalf/shared/audit/sqlitestore"
)

const auditUsage = "behalf audit verify --store <sqlite file> | --export <folder or manifest>"

// cmdAudit runs `behalf audit verify`: it checks the hash chain of an
// embedded audit store, or of an export (a folder of exports, or one
// manifest), and names the first broken link. Nothing is written: the
// store is opened read-only. Without flags it verifies the store at
// BEHALF_AUDIT_SQLITE_PATH when that is set.
func cmdAudit(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	if len(args) == 0 || args[0] != "verify" {
		return fmt.Errorf("%w: %s", errUsage, auditUsage)
	}
	fs := flag.NewFlagSet("behalf audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	store := fs.String("store", "", "the embedded audit store's SQLite file")
	exp := fs.String("export", "", "a folder of audit exports, or one export manifest")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w: %s", errUsage, auditUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %v; %s", errUsage, fs.Args(), auditUsage)
	}
	if *store == "" && *exp == "" {
		if v, ok := lookup("BEHALF_AUDIT_SQLITE_PATH"); ok && v != "" {
			*store = v
		}
	}
	switch {
	case (*store == "") == (*exp == ""):
		return fmt.Errorf("%w: give exactly one of --store and --export; %s", errUsage, auditUsage)
	case *store != "":
		return verifyStore(ctx, *store, stdout)
	default:
		return verifyExport(ctx, *exp, stdout)
	}
}

func verifyStore(ctx context.Context, path string, stdout io.Writer) error {
	s, err := sqlitestore.Open(ctx, sqlitestore.Config{Path: path, ReadOnly: true})
	if err != nil {
		return err
	}
	defer s.Close()
	sum, err := audit.VerifyStore(ctx, s)
	if err != nil {
		return brokenOr(err, path)
	}
	fmt.Fprintf(stdout, "ok: %s holds %d records in one unbroken chain; head seq %d hash %s\n", path, sum.Records, sum.Head.Seq, sum.Head.Hash)
	return nil
}

func verifyExport(ctx context.Context, path string, stdout io.Writer) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	var rep *export.Report
	if st.IsDir() {
		rep, err = export.Verify(ctx, &export.LocalSink{Dir: path})
	} else {
		rep, _, err = export.VerifyManifest(ctx, &export.LocalSink{Dir: filepath.Dir(path)}, filepath.Base(path))
	}
	if err != nil {
		return brokenOr(err, path)
	}
	fmt.Fprintf(stdout, "ok: %s holds %d exports, %d records, seq %d to %d in one unbroken chain; head hash %s\n",
		path, rep.Manifests, rep.Records, rep.FirstSeq, rep.Head.Seq, rep.Head.Hash)
	for _, n := range rep.Notes {
		fmt.Fprintf(stdout, "note: %s\n", n)
	}
	return nil
}

// brokenOr says plainly that the chain is broken, and where.
func brokenOr(err error, path string) error {
	var be *audit.BrokenLinkError
	if errors.As(err, &be) {
		return fmt.Errorf("BROKEN: %s: the first broken link is at seq %d: %w", path, be.Seq, err)
	}
	return err
}
