package databricks

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go"
	"github.com/databricks/databricks-sdk-go/apierr"
	"github.com/databricks/databricks-sdk-go/config"
	"github.com/databricks/databricks-sdk-go/service/files"
)

// m2m is a client authenticating as the audit writer service principal
// with OAuth client credentials, as behalf's own identity does.
func (v *env) m2m(t *testing.T) *databricks.WorkspaceClient {
	t.Helper()
	w, err := databricks.NewWorkspaceClient(v.sdkConfig(func(c *databricks.Config) {
		c.ClientID, c.ClientSecret, c.AuthType = auditWriterSP, auditSecret, "oauth-m2m"
		c.Credentials = config.M2mCredentials{}
	}))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestFilesAPIThroughTheSDK drives the volume Files API with
// databricks-sdk-go's w.Files, as the audit export does.
func TestFilesAPIThroughTheSDK(t *testing.T) {
	v := newEnv(t)
	w := v.m2m(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := AuditVolume + "/exports/2025"
	upload := func(name, body string, overwrite bool) error {
		return w.Files.Upload(ctx, files.UploadRequest{FilePath: dir + "/" + name, Contents: io.NopCloser(strings.NewReader(body)),
			Overwrite: overwrite, ForceSendFields: []string{"Overwrite"}})
	}
	if err := upload("a.jsonl", "line 1\n", false); err != nil {
		t.Fatal(err)
	}
	// The parents were created; a second create-only upload is refused.
	if err := w.Files.GetDirectoryMetadataByDirectoryPath(ctx, AuditVolume+"/exports"); err != nil {
		t.Fatalf("parent directory: %v", err)
	}
	if err := upload("a.jsonl", "other\n", false); !errors.Is(err, apierr.ErrAlreadyExists) {
		t.Fatalf("create-only upload over an existing file: %v", err)
	}
	if err := upload("a.jsonl", "line 1\nline 2\n", true); err != nil {
		t.Fatal(err)
	}
	d, err := w.Files.DownloadByFilePath(ctx, dir+"/a.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(d.Contents)
	d.Contents.Close()
	if string(body) != "line 1\nline 2\n" || d.ContentLength != int64(len(body)) {
		t.Fatalf("download %q (%d bytes)", body, d.ContentLength)
	}
	meta, err := w.Files.GetMetadataByFilePath(ctx, dir+"/a.jsonl")
	if err != nil || meta.ContentLength != 14 || meta.LastModified == "" {
		t.Fatalf("metadata %+v %v", meta, err)
	}
	for i := range 5 {
		if err := upload("f"+string(rune('0'+i))+".json", "{}", false); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Files.CreateDirectory(ctx, files.CreateDirectoryRequest{DirectoryPath: dir + "/sub"}); err != nil {
		t.Fatal(err)
	}
	all, err := w.Files.ListDirectoryContentsAll(ctx, files.ListDirectoryContentsRequest{DirectoryPath: dir, PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range all {
		names = append(names, e.Name)
		if e.Name == "sub" != e.IsDirectory {
			t.Fatalf("entry %+v", e)
		}
	}
	if strings.Join(names, ",") != "a.jsonl,f0.json,f1.json,f2.json,f3.json,f4.json,sub" {
		t.Fatalf("listing (pages of 2): %v", names)
	}
	if err := w.Files.DeleteDirectoryByDirectoryPath(ctx, dir); !errors.Is(err, apierr.ErrResourceConflict) {
		t.Fatalf("deleting a non-empty directory: %v", err)
	}
	if err := w.Files.DeleteByFilePath(ctx, dir+"/a.jsonl"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Files.DownloadByFilePath(ctx, dir+"/a.jsonl"); !apierr.IsMissing(err) {
		t.Fatalf("download of a deleted file: %v", err)
	}
	if _, err := w.Files.ListDirectoryContentsAll(ctx, files.ListDirectoryContentsRequest{DirectoryPath: AuditVolume + "/nope"}); !apierr.IsMissing(err) {
		t.Fatalf("listing a missing directory: %v", err)
	}
}

func TestFilesAPIRefusesPeopleAndBadPaths(t *testing.T) {
	v := newEnv(t)
	ctx := context.Background()
	wendyClient := v.as(t, wendy)
	err := wendyClient.Files.Upload(ctx, files.UploadRequest{FilePath: AuditVolume + "/x.txt", Contents: io.NopCloser(bytes.NewReader([]byte("x")))})
	if !errors.Is(err, apierr.ErrPermissionDenied) {
		t.Fatalf("a person wrote to the audit volume: %v", err)
	}
	tok, err := v.e.IssueToken(auditWriterSP, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/api/2.0/fs/files/tmp/x", "/api/2.0/fs/files/Volumes/main/behalf", "/api/2.0/fs/files/Volumes/main/behalf/audit"} {
		resp := v.raw(t, http.MethodPut, p, tok, nil, nil)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("PUT %s: %d", p, resp.StatusCode)
		}
	}
	if resp := v.raw(t, http.MethodGet, "/api/2.0/fs/files"+AuditVolume+"/missing", "", nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unauthenticated read: %d", resp.StatusCode)
	}
}
