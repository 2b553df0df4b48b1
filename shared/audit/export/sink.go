// Package export writes the audit chain out, one period at a time, as
// JSON Lines plus a manifest that anchors the chain head, to a local
// folder, Azure Blob Storage or a Unity Catalog volume; and verifies such
// exports. See ../README.md for the format and the guarantees.
package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Sink is where exports go. Objects are written once: PutIfAbsent never
// replaces anything, so an export cannot silently overwrite history.
type Sink interface {
	// String names the sink for logs (never a secret).
	String() string
	// List returns the names of the sink's objects, sorted.
	List(ctx context.Context) ([]string, error)
	// Get returns an object's bytes, or an error wrapping ErrNotExist.
	Get(ctx context.Context, name string) ([]byte, error)
	// PutIfAbsent creates an object; if one of that name exists (whatever
	// its content) it fails with an error wrapping ErrExists.
	PutIfAbsent(ctx context.Context, name string, data []byte) error
}

// Errors callers branch on.
var (
	ErrNotExist = errors.New("export: no such object")
	ErrExists   = errors.New("export: the object already exists")
	// ErrConflict: an existing export differs from what the store holds
	// now — the store or the export was changed. Nothing is overwritten.
	ErrConflict = errors.New("export: an existing export conflicts with the store")
	// ErrSuperseded: a later period was already exported; an earlier one
	// cannot be added after it (its records are in the later export).
	ErrSuperseded = errors.New("export: a later period is already exported")
)

// MaxObjectBytes bounds what Get reads.
const MaxObjectBytes = 512 << 20

var reName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$`)

// CheckName refuses object names that could leave the sink's folder.
func CheckName(name string) error {
	if !reName.MatchString(name) || strings.Contains(name, "..") {
		return fmt.Errorf("export: object name %q is not allowed", name)
	}
	return nil
}

func readBounded(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxObjectBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxObjectBytes {
		return nil, fmt.Errorf("export: object larger than %d bytes", MaxObjectBytes)
	}
	return b, nil
}

// LocalSink is a folder.
type LocalSink struct {
	Dir string
}

// NewLocalSink creates the folder if needed.
func NewLocalSink(dir string) (*LocalSink, error) {
	if dir == "" {
		return nil, errors.New("export: local sink needs a folder")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return &LocalSink{Dir: dir}, nil
}

func (s *LocalSink) String() string { return "folder " + s.Dir }

// List returns the regular files of the folder.
func (s *LocalSink) List(context.Context) ([]string, error) {
	entries, err := os.ReadDir(s.Dir)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	var out []string
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// Get reads a file.
func (s *LocalSink) Get(_ context.Context, name string) ([]byte, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(s.Dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotExist, name)
	}
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	defer f.Close()
	return readBounded(f)
}

// PutIfAbsent writes a temporary file, syncs it, and links it into place:
// the link fails if the name exists, so creation is atomic and never
// replaces a file.
func (s *LocalSink) PutIfAbsent(_ context.Context, name string, data []byte) error {
	if err := CheckName(name); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.Dir, ".tmp-"+name+"-*")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("export: write %s: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("export: sync %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o400); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := os.Link(tmp.Name(), filepath.Join(s.Dir, name)); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%w: %s", ErrExists, name)
		}
		return fmt.Errorf("export: %w", err)
	}
	if d, err := os.Open(s.Dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
