// Command package builds the deployable artefacts: the Azure Functions zip
// (host.json at the root, one folder per function with its function.json,
// and the linux/amd64 behalf binary with its executable bit kept) and the
// AWS Lambda zip (the same program as bootstrap, built with the
// lambda.norpc tag for provided.al2023; its function.json files are
// embedded in the binary). Zips are written from Go so the Unix mode
// survives on any build machine.
package main

import (
	"archive/zip"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

func main() {
	out := flag.String("out", "dist", "output folder")
	version := flag.String("version", "dev", "version stamped into the binary")
	root := flag.String("root", ".", "repository root")
	lambdaArch := flag.String("lambda-arch", LambdaArch, "GOARCH of the Lambda bootstrap (arm64 or amd64; must match the SAM template's Architectures)")
	flag.Parse()
	if err := run(*root, *out, *version); err != nil {
		fmt.Fprintln(os.Stderr, "package:", err)
		os.Exit(1)
	}
	if err := runLambda(*root, *out, *version, *lambdaArch); err != nil {
		fmt.Fprintln(os.Stderr, "package:", err)
		os.Exit(1)
	}
}

func run(root, out, version string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "behalf-package-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	bin := filepath.Join(tmp, "behalf")
	// No devstack tag: the emulators never ship.
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version="+version, "-o", bin, "./functions")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build: %w", err)
	}

	files := map[string]string{"host.json": filepath.Join(root, "host.json"), "behalf": bin}
	fnFiles, err := fs.Glob(os.DirFS(filepath.Join(root, "functions")), "*/function.json")
	if err != nil {
		return err
	}
	if len(fnFiles) == 0 {
		return fmt.Errorf("no functions/*/function.json under %s", root)
	}
	for _, f := range fnFiles {
		files[f] = filepath.Join(root, "functions", f)
	}
	zipPath := filepath.Join(out, "behalf-functions.zip")
	if err := writeZip(zipPath, files); err != nil {
		return err
	}
	fmt.Println("wrote", zipPath)
	return nil
}

// writeZip writes files (zip name → source path) in a stable order with
// fixed times, so the same inputs give the same zip.
func writeZip(path string, files map[string]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	epoch := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, name := range names {
		src := files[name]
		st, err := os.Stat(src)
		if err != nil {
			return err
		}
		hdr, err := zip.FileInfoHeader(st)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(name)
		hdr.Method = zip.Deflate
		hdr.Modified = epoch
		mode := fs.FileMode(0o644)
		if name == "behalf" || name == "bootstrap" || strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		hdr.SetMode(mode)
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		in, err := os.Open(src)
		if err != nil {
			return err
		}
		_, err = io.Copy(w, in)
		in.Close()
		if err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}
