package export

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/behalf-dev/behalf/shared/audit"
)

// ParseSegment reads a data file and verifies it as a chain segment that
// continues start. Errors are *audit.BrokenLinkError naming the file and
// line of the first broken link.
func ParseSegment(data []byte, start audit.Head, name string) ([]audit.Record, error) {
	v := audit.NewVerifier(start)
	var recs []audit.Record
	lines := bytes.Split(data, []byte{'\n'})
	if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	for i, line := range lines {
		where := fmt.Sprintf("%s line %d", name, i+1)
		var r audit.Record
		if err := json.Unmarshal(line, &r); err != nil {
			return nil, &audit.BrokenLinkError{Seq: v.Head().Seq + 1, Kind: audit.BrokenHash, Where: where, Detail: "the line is not a valid record: " + err.Error()}
		}
		if err := v.Add(r); err != nil {
			var be *audit.BrokenLinkError
			if errors.As(err, &be) {
				be.Where = where
			}
			return nil, err
		}
		recs = append(recs, r)
	}
	return recs, nil
}

// Report is a verified export.
type Report struct {
	Manifests int
	Records   int64
	// FirstSeq..Head.Seq is the part of the chain the export covers.
	FirstSeq int64
	Head     audit.Head
	// Notes are observations that are not failures (an export that starts
	// after seq 1, data files without a manifest).
	Notes []string
}

// VerifyManifest verifies one export: its data file's bytes, and the
// records as a chain segment from the manifest's prev_hash to its
// head_hash.
func VerifyManifest(ctx context.Context, sink Sink, name string) (*Report, *Manifest, error) {
	b, err := sink.Get(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	m, err := ParseManifest(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	data, err := sink.Get(ctx, m.DataFile)
	if err != nil {
		return nil, m, fmt.Errorf("%s: %w", name, err)
	}
	recs, err := ParseSegment(data, audit.Head{Seq: m.FirstSeq - 1, Hash: m.PrevHash}, m.DataFile)
	if err != nil {
		return nil, m, err
	}
	head := audit.Head{Seq: m.FirstSeq - 1, Hash: m.PrevHash}
	if len(recs) > 0 {
		head = recs[len(recs)-1].HeadAfter()
	}
	// Records removed from the end leave a valid but shorter chain; the
	// manifest's count and head catch that.
	if int64(len(recs)) != m.Count || head.Seq != m.LastSeq || head.Hash != m.HeadHash {
		return nil, m, &audit.BrokenLinkError{Seq: head.Seq, Kind: audit.BrokenHead, Where: m.DataFile,
			Detail: fmt.Sprintf("the file ends at seq %d with %d records; %s says seq %d, %d records, head %s", head.Seq, len(recs), name, m.LastSeq, m.Count, m.HeadHash)}
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != m.DataSHA256 || int64(len(data)) != m.DataBytes {
		return nil, m, &audit.BrokenLinkError{Seq: m.FirstSeq, Kind: audit.BrokenHash, Where: m.DataFile,
			Detail: "the records verify but the file's bytes differ from the manifest's data_sha256"}
	}
	if len(recs) > 0 && (recs[0].Event.ID != m.FirstID || recs[len(recs)-1].Event.ID != m.LastID) {
		return nil, m, &audit.BrokenLinkError{Seq: m.FirstSeq, Kind: audit.BrokenHead, Where: name, Detail: "first_id or last_id does not match the data file"}
	}
	return &Report{Manifests: 1, Records: int64(len(recs)), FirstSeq: m.FirstSeq, Head: head}, m, nil
}

// Verify verifies every export in a sink and that they form one chain:
// each manifest continues the previous one's head.
func Verify(ctx context.Context, sink Sink) (*Report, error) {
	names, err := sink.List(ctx)
	if err != nil {
		return nil, err
	}
	var manifests []string
	data := map[string]bool{}
	for _, n := range names {
		switch {
		case IsManifestName(n):
			manifests = append(manifests, n)
		case len(n) > 6 && n[:6] == "audit-":
			data[n] = true
		}
	}
	if len(manifests) == 0 {
		return nil, fmt.Errorf("export: %s holds no export manifest", sink)
	}
	sort.Strings(manifests)
	total := &Report{}
	var prev *Manifest
	prevName := ""
	for _, name := range manifests {
		rep, m, err := VerifyManifest(ctx, sink, name)
		if err != nil {
			return nil, err
		}
		delete(data, m.DataFile)
		if prev == nil {
			total.FirstSeq = m.FirstSeq
			if m.FirstSeq != 1 {
				total.Notes = append(total.Notes, fmt.Sprintf("the exports start at seq %d; earlier ones are not in %s", m.FirstSeq, sink))
			}
		} else {
			switch {
			case m.FirstSeq != prev.LastSeq+1:
				return nil, &audit.BrokenLinkError{Seq: prev.LastSeq + 1, Kind: audit.BrokenGap, Where: name,
					Detail: fmt.Sprintf("%s ends at seq %d but %s starts at seq %d", prevName, prev.LastSeq, name, m.FirstSeq)}
			case m.PrevHash != prev.HeadHash:
				return nil, &audit.BrokenLinkError{Seq: m.FirstSeq, Kind: audit.BrokenPrev, Where: name,
					Detail: fmt.Sprintf("prev_hash is not the head of %s", prevName)}
			case m.PreviousManifest != prevName:
				return nil, &audit.BrokenLinkError{Seq: m.FirstSeq, Kind: audit.BrokenPrev, Where: name,
					Detail: fmt.Sprintf("previous_manifest is %q, not %q", m.PreviousManifest, prevName)}
			}
		}
		total.Manifests++
		total.Records += rep.Records
		total.Head = rep.Head
		prev, prevName = m, name
	}
	for n := range data {
		total.Notes = append(total.Notes, n+" has no manifest (an export interrupted before its manifest; the next run resumes it)")
	}
	sort.Strings(total.Notes)
	return total, nil
}
