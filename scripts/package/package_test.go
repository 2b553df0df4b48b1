package main

import (
	"archive/zip"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// TestFunctionsZipLayout builds the real zip and checks what the Functions
// host needs: host.json at the root, one folder per function with its
// function.json, and the behalf binary with its executable bit.
func TestFunctionsZipLayout(t *testing.T) {
	out := t.TempDir()
	if err := run(filepath.Join("..", ".."), out, "test"); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(filepath.Join(out, "behalf-functions.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	entries := map[string]*zip.File{}
	for _, f := range zr.File {
		entries[f.Name] = f
	}
	bin, ok := entries["behalf"]
	if !ok {
		t.Fatal("zip has no behalf binary at its root")
	}
	if bin.Mode().Perm()&0o100 == 0 {
		t.Fatalf("behalf binary mode %v lacks the executable bit", bin.Mode())
	}
	if _, ok := entries["host.json"]; !ok {
		t.Fatal("zip has no host.json at its root")
	}
	folders, _ := filepath.Glob(filepath.Join("..", "..", "functions", "*", "function.json"))
	if len(folders) == 0 {
		t.Fatal("no function folders found")
	}
	var want []string
	for _, f := range folders {
		name := filepath.Base(filepath.Dir(f)) + "/function.json"
		want = append(want, name)
		if _, ok := entries[name]; !ok {
			t.Errorf("zip lacks %s", name)
		}
	}
	var got []string
	for name := range entries {
		got = append(got, name)
	}
	sort.Strings(got)
	if len(got) != len(want)+2 {
		t.Errorf("zip holds unexpected files: %v", got)
	}
	// The binary is an ELF for linux.
	rc, err := bin.Open()
	if err != nil {
		t.Fatal(err)
	}
	magic := make([]byte, 4)
	_, _ = rc.Read(magic)
	rc.Close()
	if string(magic) != "\x7fELF" {
		t.Fatalf("binary is not ELF: %q", magic)
	}
	if st, err := os.Stat(filepath.Join(out, "behalf-functions.zip")); err != nil || st.Size() == 0 {
		t.Fatal("empty zip")
	}
}
