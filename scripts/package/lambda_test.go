package main

import (
	"archive/zip"
	"debug/buildinfo"
	"debug/elf"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestLambdaZipLayout builds the real Lambda zip and checks what
// provided.al2023 needs: bootstrap alone at the root, executable, a static
// linux ELF for the template's architecture, built with lambda.norpc.
func TestLambdaZipLayout(t *testing.T) {
	out := t.TempDir()
	if err := runLambda(filepath.Join("..", ".."), out, "test", LambdaArch); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(filepath.Join(out, LambdaZip))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" {
		var names []string
		for _, f := range zr.File {
			names = append(names, f.Name)
		}
		t.Fatalf("zip holds %v, want only bootstrap", names)
	}
	f := zr.File[0]
	if f.Mode().Perm() != 0o755 {
		t.Fatalf("bootstrap mode %v, want 0755", f.Mode())
	}
	// Copy it out to read it as an ELF file.
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "bootstrap")
	w, err := os.Create(bin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, rc); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	w.Close()

	ef, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("bootstrap is not ELF: %v", err)
	}
	defer ef.Close()
	wantMachine := map[string]elf.Machine{"arm64": elf.EM_AARCH64, "amd64": elf.EM_X86_64}[LambdaArch]
	if ef.Machine != wantMachine {
		t.Fatalf("bootstrap is for %v, want %v", ef.Machine, wantMachine)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("bootstrap is dynamically linked; build with CGO_ENABLED=0")
		}
	}
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if !strings.Contains(settings["-tags"], "lambda.norpc") || strings.Contains(settings["-tags"], "devstack") {
		t.Errorf("build tags %q: want lambda.norpc and never devstack", settings["-tags"])
	}
	if settings["CGO_ENABLED"] != "0" || settings["GOOS"] != "linux" || settings["GOARCH"] != LambdaArch {
		t.Errorf("build settings %v", settings)
	}
	if bi.Path != "github.com/behalf-dev/behalf/functions" {
		t.Errorf("bootstrap is %s, want the functions binary", bi.Path)
	}
}

// TestLambdaArchMatchesSAMTemplate: the zip's architecture and the
// template's must agree, or Lambda cannot exec bootstrap.
func TestLambdaArchMatchesSAMTemplate(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "infra", "aws", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Globals struct {
			Function struct {
				Architectures []string `yaml:"Architectures"`
				Runtime       string   `yaml:"Runtime"`
				Handler       string   `yaml:"Handler"`
			} `yaml:"Function"`
		} `yaml:"Globals"`
	}
	if err := yaml.Unmarshal(b, &tpl); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"arm64": "arm64", "amd64": "x86_64"}[LambdaArch]
	g := tpl.Globals.Function
	if len(g.Architectures) != 1 || g.Architectures[0] != want || g.Runtime != "provided.al2023" || g.Handler != "bootstrap" {
		t.Fatalf("template Globals.Function %+v, want Architectures [%s], Runtime provided.al2023, Handler bootstrap", g, want)
	}
}

func TestLambdaArchIsChecked(t *testing.T) {
	if err := runLambda(filepath.Join("..", ".."), t.TempDir(), "test", "386"); err == nil {
		t.Fatal("architecture 386 accepted")
	}
}
