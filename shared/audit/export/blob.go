package export

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// BlobConfig configures a BlobSink.
type BlobConfig struct {
	// Container is the container client (NewBlobContainer in Azure).
	Container *container.Client
	// Prefix is a folder inside the container, e.g. "exports/" (optional).
	Prefix string
}

// BlobSink is an Azure Blob Storage container. Objects are created with
// If-None-Match: *, so Azure itself refuses to replace one.
type BlobSink struct {
	c      *container.Client
	prefix string
}

// NewBlobContainer is the container client for Azure: containerURL is
// https://<account>.blob.core.windows.net/<container> and cred an
// azidentity credential (the managed identity, which needs Storage Blob
// Data Contributor on the container).
func NewBlobContainer(containerURL string, cred azcore.TokenCredential, opts *container.ClientOptions) (*container.Client, error) {
	u, err := url.Parse(containerURL)
	if err != nil || u.Scheme != "https" || u.Host == "" || strings.Trim(u.Path, "/") == "" || u.RawQuery != "" {
		return nil, errors.New("export: the blob container URL must be https://<account>.blob.core.windows.net/<container>, with no query (no SAS)")
	}
	if cred == nil {
		return nil, errors.New("export: the blob sink needs a credential")
	}
	return container.NewClient(containerURL, cred, opts)
}

// NewBlobSink checks cfg.
func NewBlobSink(cfg BlobConfig) (*BlobSink, error) {
	if cfg.Container == nil {
		return nil, errors.New("export: BlobConfig.Container is required")
	}
	p := strings.TrimPrefix(cfg.Prefix, "/")
	if p != "" && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	if strings.Contains(p, "..") {
		return nil, fmt.Errorf("export: blob prefix %q is not allowed", cfg.Prefix)
	}
	return &BlobSink{c: cfg.Container, prefix: p}, nil
}

func (s *BlobSink) String() string {
	u, _ := url.Parse(s.c.URL())
	if u != nil {
		u.RawQuery = "" // never log a SAS
		return "blob container " + u.String() + "/" + s.prefix
	}
	return "blob container"
}

// List returns the blob names directly under the prefix.
func (s *BlobSink) List(ctx context.Context) ([]string, error) {
	var out []string
	pager := s.c.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &s.prefix})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("export: list %s: %w", s, err)
		}
		for _, b := range page.Segment.BlobItems {
			if b.Name == nil {
				continue
			}
			name := strings.TrimPrefix(*b.Name, s.prefix)
			if !strings.Contains(name, "/") {
				out = append(out, name)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// Get downloads a blob.
func (s *BlobSink) Get(ctx context.Context, name string) ([]byte, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	resp, err := s.c.NewBlobClient(s.prefix+name).DownloadStream(ctx, nil)
	if bloberror.HasCode(err, bloberror.BlobNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNotExist, name)
	}
	if err != nil {
		return nil, fmt.Errorf("export: download %s: %w", name, err)
	}
	defer resp.Body.Close()
	return readBounded(resp.Body)
}

// PutIfAbsent uploads a blob in one Put Blob with If-None-Match: *.
func (s *BlobSink) PutIfAbsent(ctx context.Context, name string, data []byte) error {
	if err := CheckName(name); err != nil {
		return err
	}
	ct := "application/json"
	if strings.HasSuffix(name, ".jsonl") {
		ct = "application/x-ndjson"
	}
	anyTag := azcore.ETagAny
	_, err := s.c.NewBlockBlobClient(s.prefix+name).Upload(ctx, streaming.NopCloser(bytes.NewReader(data)), &blockblob.UploadOptions{
		HTTPHeaders:      &blob.HTTPHeaders{BlobContentType: &ct},
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: &anyTag}},
	})
	if bloberror.HasCode(err, bloberror.BlobAlreadyExists, bloberror.ConditionNotMet) {
		return fmt.Errorf("%w: %s", ErrExists, name)
	}
	if err != nil {
		return fmt.Errorf("export: upload %s: %w", name, err)
	}
	return nil
}
