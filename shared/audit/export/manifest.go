package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/behalf-dev/behalf/shared/audit"
)

// ManifestVersion is the manifest format version.
const ManifestVersion = 1

// Manifest describes one export: which part of the chain its data file
// holds and the chain head at its end. Its bytes are a pure function of
// the records and the period, so exporting a period again gives the same
// manifest.
type Manifest struct {
	Version int    `json:"version"`
	Period  Period `json:"period"`
	// DataFile is the JSON Lines file next to the manifest; DataSHA256 and
	// DataBytes are its hex SHA-256 and size.
	DataFile   string `json:"data_file"`
	DataSHA256 string `json:"data_sha256"`
	DataBytes  int64  `json:"data_bytes"`
	// Count records, seq FirstSeq..LastSeq (an empty export has Count 0
	// and LastSeq = FirstSeq-1).
	Count    int64  `json:"count"`
	FirstSeq int64  `json:"first_seq"`
	LastSeq  int64  `json:"last_seq"`
	FirstID  string `json:"first_id,omitempty"`
	LastID   string `json:"last_id,omitempty"`
	// FirstEventTime and LastEventTime are the first and last records'
	// event times (not bounds: late events are exported by sequence).
	FirstEventTime string `json:"first_event_time,omitempty"`
	LastEventTime  string `json:"last_event_time,omitempty"`
	// PrevHash is the chain head before this export — the previous
	// manifest's HeadHash (GenesisHash for the first); HeadHash is the
	// hash of the last record (PrevHash when empty).
	PrevHash string `json:"prev_hash"`
	HeadHash string `json:"head_hash"`
	// PreviousManifest names the manifest this one continues.
	PreviousManifest string `json:"previous_manifest,omitempty"`
}

// Period is the export slot a manifest belongs to: [Start, End).
type Period struct {
	Label string    `json:"label"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// PeriodAt is the last whole period before at: periods of length d are
// aligned to the Unix epoch in UTC (midnight for a day).
func PeriodAt(at time.Time, d time.Duration) Period {
	end := at.UTC().Truncate(d)
	start := end.Add(-d)
	return Period{Label: start.Format("20060102T150405Z"), Start: start, End: end}
}

// Object names of a period.
func dataName(label string) string     { return "audit-" + label + ".jsonl" }
func manifestName(label string) string { return "audit-" + label + ".manifest.json" }

// IsManifestName reports whether name is an export manifest.
func IsManifestName(name string) bool {
	return strings.HasPrefix(name, "audit-") && strings.HasSuffix(name, ".manifest.json")
}

// Encode is the manifest's canonical bytes (indented JSON and a newline).
func (m *Manifest) Encode() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ParseManifest decodes and checks a manifest.
func ParseManifest(b []byte) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("export: manifest: %w", err)
	}
	switch {
	case m.Version != ManifestVersion:
		return nil, fmt.Errorf("export: manifest version %d, want %d", m.Version, ManifestVersion)
	case CheckName(m.DataFile) != nil:
		return nil, fmt.Errorf("export: manifest names data file %q", m.DataFile)
	case m.Count < 0 || m.FirstSeq < 1 || m.LastSeq != m.FirstSeq+m.Count-1:
		return nil, fmt.Errorf("export: manifest counts %d records for seq %d..%d", m.Count, m.FirstSeq, m.LastSeq)
	}
	return &m, nil
}

// encodeRecords is the data file: one record per line.
func encodeRecords(recs []audit.Record) ([]byte, error) {
	var b bytes.Buffer
	for _, r := range recs {
		line, err := r.MarshalJSON()
		if err != nil {
			return nil, err
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}
