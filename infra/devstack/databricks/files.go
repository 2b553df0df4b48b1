package databricks

import (
	"io"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The Files API for Unity Catalog volumes (/api/2.0/fs/files{path} and
// /api/2.0/fs/directories{path}), enough for databricks-sdk-go's w.Files:
// upload (PUT, overwrite=false refuses an existing file with 409
// ALREADY_EXISTS, parent directories are created), download (GET), metadata
// (HEAD), delete, and directory create / list (paged) / check / delete.
// Files live in memory; they are the emulator's volume contents, not
// governed table data. Only members of the admins group — the demo
// admins and the behalf-audit-writer service principal — may use it.

// EndpointFiles counts Files API calls.
const EndpointFiles Endpoint = "files"

// AuditVolume is the demo volume the audit export writes to.
const AuditVolume = "/Volumes/main/behalf/audit"

// Bounds of the emulated volumes.
const (
	maxVolumeFile  = 64 << 20
	maxVolumeBytes = 512 << 20
	defaultPage    = 1000
)

type volumeFile struct {
	data     []byte
	modified time.Time
}

type volumeFS struct {
	mu    sync.Mutex
	files map[string]*volumeFile // clean absolute path
	dirs  map[string]time.Time
	total int64
}

// filesAPI serves one emulator's volumes.
type filesAPI struct {
	e *Emulator
	v *volumeFS
}

// fileRoutes registers the Files API on the routes mux; the volumes live
// as long as the emulator's handler.
func (e *Emulator) fileRoutes(api func(pattern string, ep Endpoint, h func(http.ResponseWriter, *http.Request, *Principal))) {
	a := &filesAPI{e: e, v: &volumeFS{files: map[string]*volumeFile{}, dirs: map[string]time.Time{}}}
	api("PUT /api/2.0/fs/files/{path...}", EndpointFiles, a.handleFilePut)
	api("GET /api/2.0/fs/files/{path...}", EndpointFiles, a.handleFileGet) // and HEAD
	api("DELETE /api/2.0/fs/files/{path...}", EndpointFiles, a.handleFileDelete)
	api("PUT /api/2.0/fs/directories/{path...}", EndpointFiles, a.handleDirPut)
	api("GET /api/2.0/fs/directories/{path...}", EndpointFiles, a.handleDirGet) // and HEAD
	api("DELETE /api/2.0/fs/directories/{path...}", EndpointFiles, a.handleDirDelete)
}

// volumePath checks that p is inside a volume (/Volumes/c/s/v/...) and
// that the caller may use volumes. file requires a path below the volume
// root.
func volumePath(r *http.Request, p *Principal, file bool) (string, error) {
	raw := "/" + r.PathValue("path")
	clean := path.Clean(raw)
	if clean != strings.TrimSuffix(raw, "/") && clean != raw {
		return "", errInvalidParam("The path " + raw + " is not a normalized absolute path.")
	}
	parts := strings.Split(strings.TrimPrefix(clean, "/"), "/")
	if len(parts) < 4 || parts[0] != "Volumes" || (file && len(parts) < 5) {
		return "", errInvalidParam("The path must be inside a Unity Catalog volume: /Volumes/<catalog>/<schema>/<volume>/....")
	}
	if !p.memberOf([]string{"admins"}) {
		return "", errPermissionDenied("User does not have WRITE VOLUME or READ VOLUME on Volume '"+strings.Join(parts[1:4], ".")+"'.", "PERMISSION_DENIED")
	}
	return clean, nil
}

// volumeRoot is /Volumes/c/s/v of a clean volume path.
func volumeRoot(p string) string {
	parts := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 5)
	return "/" + strings.Join(parts[:4], "/")
}

// isDirLocked says whether p is a directory (volume roots always are).
func (v *volumeFS) isDirLocked(p string) bool {
	if p == volumeRoot(p) {
		return true
	}
	_, ok := v.dirs[p]
	return ok
}

// mkdirLocked creates p and its parents up to the volume root.
func (v *volumeFS) mkdirLocked(p string, now time.Time) *APIError {
	root := volumeRoot(p)
	for d := p; d != root && d != "/"; d = path.Dir(d) {
		if _, isFile := v.files[d]; isFile {
			return &APIError{Status: http.StatusConflict, Code: "RESOURCE_ALREADY_EXISTS", Message: "A file exists at " + d + "."}
		}
		if _, ok := v.dirs[d]; !ok {
			v.dirs[d] = now
		}
	}
	return nil
}

func (a *filesAPI) handleFilePut(w http.ResponseWriter, r *http.Request, pr *Principal) {
	p, err := volumePath(r, pr, true)
	if err != nil {
		a.e.writeError(w, r, err)
		return
	}
	overwrite := true
	if s := r.URL.Query().Get("overwrite"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			a.e.writeError(w, r, errInvalidParam("overwrite must be true or false."))
			return
		}
		overwrite = b
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxVolumeFile+1))
	if err != nil {
		a.e.writeError(w, r, errInvalidParam("The request body could not be read."))
		return
	}
	if len(data) > maxVolumeFile {
		a.e.writeError(w, r, &APIError{Status: http.StatusRequestEntityTooLarge, Code: "INVALID_PARAMETER_VALUE", Message: "The file is larger than the emulator's 64 MiB limit."})
		return
	}
	v := a.v
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.isDirLocked(p) {
		a.e.writeError(w, r, &APIError{Status: http.StatusConflict, Code: "RESOURCE_ALREADY_EXISTS", Message: "A directory exists at " + p + "."})
		return
	}
	old, exists := v.files[p]
	if exists && !overwrite {
		a.e.writeError(w, r, &APIError{Status: http.StatusConflict, Code: "ALREADY_EXISTS", Message: "The file " + p + " already exists."})
		return
	}
	grow := int64(len(data))
	if exists {
		grow -= int64(len(old.data))
	}
	if v.total+grow > maxVolumeBytes {
		a.e.writeError(w, r, &APIError{Status: http.StatusInsufficientStorage, Code: "RESOURCE_EXHAUSTED", Message: "The emulator's volumes are full."})
		return
	}
	now := time.Now().UTC()
	if aerr := v.mkdirLocked(path.Dir(p), now); aerr != nil {
		a.e.writeError(w, r, aerr)
		return
	}
	v.files[p] = &volumeFile{data: data, modified: now}
	v.total += grow
	w.WriteHeader(http.StatusNoContent)
}

func (a *filesAPI) handleFileGet(w http.ResponseWriter, r *http.Request, pr *Principal) {
	p, err := volumePath(r, pr, true)
	if err != nil {
		a.e.writeError(w, r, err)
		return
	}
	v := a.v
	v.mu.Lock()
	f, ok := v.files[p]
	var data []byte
	var mod time.Time
	if ok {
		data, mod = f.data, f.modified
	}
	v.mu.Unlock()
	if !ok {
		a.e.writeError(w, r, errNotFound("The file "+p+" does not exist."))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	h.Set("Last-Modified", mod.Format(http.TimeFormat))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(data)
	}
}

func (a *filesAPI) handleFileDelete(w http.ResponseWriter, r *http.Request, pr *Principal) {
	p, err := volumePath(r, pr, true)
	if err != nil {
		a.e.writeError(w, r, err)
		return
	}
	v := a.v
	v.mu.Lock()
	defer v.mu.Unlock()
	f, ok := v.files[p]
	if !ok {
		a.e.writeError(w, r, errNotFound("The file "+p+" does not exist."))
		return
	}
	v.total -= int64(len(f.data))
	delete(v.files, p)
	w.WriteHeader(http.StatusNoContent)
}

func (a *filesAPI) handleDirPut(w http.ResponseWriter, r *http.Request, pr *Principal) {
	p, err := volumePath(r, pr, false)
	if err != nil {
		a.e.writeError(w, r, err)
		return
	}
	v := a.v
	v.mu.Lock()
	defer v.mu.Unlock()
	if aerr := v.mkdirLocked(p, time.Now().UTC()); aerr != nil {
		a.e.writeError(w, r, aerr)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type dirEntry struct {
	Path         string `json:"path"`
	IsDirectory  bool   `json:"is_directory"`
	FileSize     int64  `json:"file_size,omitempty"`
	LastModified int64  `json:"last_modified"`
	Name         string `json:"name"`
}

func (a *filesAPI) handleDirGet(w http.ResponseWriter, r *http.Request, pr *Principal) {
	p, err := volumePath(r, pr, false)
	if err != nil {
		a.e.writeError(w, r, err)
		return
	}
	v := a.v
	v.mu.Lock()
	exists := v.isDirLocked(p)
	var entries []dirEntry
	if exists && r.Method != http.MethodHead {
		for fp, f := range v.files {
			if path.Dir(fp) == p {
				entries = append(entries, dirEntry{Path: fp, FileSize: int64(len(f.data)), LastModified: f.modified.UnixMilli(), Name: path.Base(fp)})
			}
		}
		for dp, mod := range v.dirs {
			if path.Dir(dp) == p {
				entries = append(entries, dirEntry{Path: dp, IsDirectory: true, LastModified: mod.UnixMilli(), Name: path.Base(dp)})
			}
		}
	}
	v.mu.Unlock()
	if !exists {
		a.e.writeError(w, r, errNotFound("The directory "+p+" does not exist."))
		return
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Path < entries[j].Path })
	size := defaultPage
	if s := r.URL.Query().Get("page_size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > defaultPage {
			a.e.writeError(w, r, errInvalidParam("page_size must be 1 to 1000."))
			return
		}
		size = n
	}
	// The page token is the path of the last entry of the previous page.
	if tok := r.URL.Query().Get("page_token"); tok != "" {
		i := sort.Search(len(entries), func(i int) bool { return entries[i].Path > tok })
		entries = entries[i:]
	}
	out := map[string]any{"contents": []dirEntry{}}
	if len(entries) > size {
		out["next_page_token"] = entries[size-1].Path
		entries = entries[:size]
	}
	if len(entries) > 0 {
		out["contents"] = entries
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *filesAPI) handleDirDelete(w http.ResponseWriter, r *http.Request, pr *Principal) {
	p, err := volumePath(r, pr, false)
	if err != nil {
		a.e.writeError(w, r, err)
		return
	}
	v := a.v
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.dirs[p]; !ok {
		if v.isDirLocked(p) {
			a.e.writeError(w, r, errInvalidParam("A volume's root directory cannot be deleted."))
			return
		}
		a.e.writeError(w, r, errNotFound("The directory "+p+" does not exist."))
		return
	}
	for fp := range v.files {
		if path.Dir(fp) == p {
			a.e.writeError(w, r, &APIError{Status: http.StatusConflict, Code: "DIRECTORY_NOT_EMPTY", Message: "The directory " + p + " is not empty."})
			return
		}
	}
	for dp := range v.dirs {
		if path.Dir(dp) == p {
			a.e.writeError(w, r, &APIError{Status: http.StatusConflict, Code: "DIRECTORY_NOT_EMPTY", Message: "The directory " + p + " is not empty."})
			return
		}
	}
	delete(v.dirs, p)
	w.WriteHeader(http.StatusNoContent)
}
