package export

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/databricks/databricks-sdk-go/apierr"
	"github.com/databricks/databricks-sdk-go/service/files"
)

// VolumeConfig configures a VolumeSink.
type VolumeConfig struct {
	// Files is w.Files of behalf's M2M workspace client.
	Files files.FilesInterface
	// Dir is a folder in a Unity Catalog volume:
	// /Volumes/<catalog>/<schema>/<volume>[/...].
	Dir string
}

// VolumeSink is a Unity Catalog volume folder, through the Files API.
type VolumeSink struct {
	f   files.FilesInterface
	dir string
}

// NewVolumeSink checks cfg.
func NewVolumeSink(cfg VolumeConfig) (*VolumeSink, error) {
	if cfg.Files == nil {
		return nil, errors.New("export: VolumeConfig.Files is required")
	}
	dir := path.Clean(cfg.Dir)
	if dir != strings.TrimSuffix(cfg.Dir, "/") || !strings.HasPrefix(dir, "/Volumes/") || len(strings.Split(dir, "/")) < 5 {
		return nil, fmt.Errorf("export: volume folder %q must be /Volumes/<catalog>/<schema>/<volume>[/...]", cfg.Dir)
	}
	return &VolumeSink{f: cfg.Files, dir: dir}, nil
}

func (s *VolumeSink) String() string { return "volume folder " + s.dir }

// List returns the files in the folder (none if it does not exist yet).
func (s *VolumeSink) List(ctx context.Context) ([]string, error) {
	entries, err := s.f.ListDirectoryContentsAll(ctx, files.ListDirectoryContentsRequest{DirectoryPath: s.dir})
	if apierr.IsMissing(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("export: list %s: %w", s, err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDirectory {
			out = append(out, e.Name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Get downloads a file.
func (s *VolumeSink) Get(ctx context.Context, name string) ([]byte, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	resp, err := s.f.DownloadByFilePath(ctx, s.dir+"/"+name)
	if apierr.IsMissing(err) {
		return nil, fmt.Errorf("%w: %s", ErrNotExist, name)
	}
	if err != nil {
		return nil, fmt.Errorf("export: download %s: %w", name, err)
	}
	defer resp.Contents.Close()
	return readBounded(resp.Contents)
}

// PutIfAbsent uploads with overwrite=false: the Files API refuses an
// existing file with 409.
func (s *VolumeSink) PutIfAbsent(ctx context.Context, name string, data []byte) error {
	if err := CheckName(name); err != nil {
		return err
	}
	err := s.f.Upload(ctx, files.UploadRequest{FilePath: s.dir + "/" + name, Contents: io.NopCloser(bytes.NewReader(data)),
		Overwrite: false, ForceSendFields: []string{"Overwrite"}})
	if errors.Is(err, apierr.ErrAlreadyExists) || errors.Is(err, apierr.ErrResourceConflict) {
		return fmt.Errorf("%w: %s", ErrExists, name)
	}
	if err != nil {
		return fmt.Errorf("export: upload %s: %w", name, err)
	}
	return nil
}
