package export

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/behalf-dev/behalf/shared/audit"
)

// Config configures an Exporter.
type Config struct {
	Store audit.Reader
	Sink  Sink
	// Period is the export slot length (default 24 h, aligned to UTC
	// midnight).
	Period time.Duration
	// MaxRecords and MaxBytes bound one export; records beyond them wait
	// for the next period (defaults 1,000,000 and 256 MiB).
	MaxRecords int64
	MaxBytes   int
	Logger     *slog.Logger
}

// Exporter writes periods of the chain to a sink.
type Exporter struct {
	cfg Config
	log *slog.Logger
}

// Result is what one Export did.
type Result struct {
	Manifest *Manifest
	// Written is false when the period was already exported with the
	// same bytes (a no-op).
	Written bool
	// Resumed is true when a data file left by an interrupted run was
	// checked and kept.
	Resumed bool
}

// New checks cfg.
func New(cfg Config) (*Exporter, error) {
	if cfg.Store == nil || cfg.Sink == nil {
		return nil, errors.New("export: Config.Store and Config.Sink are required")
	}
	if cfg.Period <= 0 {
		cfg.Period = 24 * time.Hour
	}
	if cfg.Period < time.Minute || cfg.Period > 31*24*time.Hour {
		return nil, fmt.Errorf("export: period must be between 1 minute and 31 days, got %s", cfg.Period)
	}
	if cfg.MaxRecords <= 0 {
		cfg.MaxRecords = 1_000_000
	}
	if cfg.MaxBytes <= 0 || cfg.MaxBytes > MaxObjectBytes {
		cfg.MaxBytes = 256 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Exporter{cfg: cfg, log: cfg.Logger}, nil
}

// Export writes the period before at: every record after the previous
// export's last one, by chain sequence — not by event time, so an event
// that arrives late is in the next export and never skipped. Running it
// again for the same period writes nothing and checks that the existing
// files still match the store byte for byte. A run interrupted between
// the data file and the manifest is resumed: the data file is verified
// against the chain and kept.
func (x *Exporter) Export(ctx context.Context, at time.Time) (*Result, error) {
	res, err := x.export(ctx, at)
	if errors.Is(err, ErrExists) {
		// Another exporter raced us to an object; look again.
		res, err = x.export(ctx, at)
	}
	return res, err
}

func (x *Exporter) export(ctx context.Context, at time.Time) (*Result, error) {
	p := PeriodAt(at, x.cfg.Period)
	names, err := x.cfg.Sink.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("export: list %s: %w", x.cfg.Sink, err)
	}
	have := map[string]bool{}
	latest := ""
	for _, n := range names {
		have[n] = true
		if IsManifestName(n) && n > latest {
			latest = n
		}
	}
	mName, dName := manifestName(p.Label), dataName(p.Label)
	if have[mName] {
		return x.recheck(ctx, mName)
	}
	if latest > mName {
		return nil, fmt.Errorf("%w: %s exists, so %s cannot be added", ErrSuperseded, latest, mName)
	}
	start, prevName := audit.EmptyHead(), ""
	if latest != "" {
		prev, err := x.getManifest(ctx, latest)
		if err != nil {
			return nil, err
		}
		start, prevName = audit.Head{Seq: prev.LastSeq, Hash: prev.HeadHash}, latest
	}
	res := &Result{Written: true}
	var recs []audit.Record
	var data []byte
	if have[dName] {
		// An earlier run wrote the data but not the manifest: keep the file
		// if it is exactly what the store holds for that range.
		if data, recs, err = x.adopt(ctx, dName, start); err != nil {
			return nil, err
		}
		res.Resumed = true
	} else {
		head, err := x.cfg.Store.Head(ctx)
		if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		last := min(head.Seq, start.Seq+x.cfg.MaxRecords)
		if recs, data, err = x.read(ctx, start, last); err != nil {
			return nil, err
		}
		if err := x.cfg.Sink.PutIfAbsent(ctx, dName, data); err != nil {
			return nil, fmt.Errorf("export: write %s: %w", dName, err)
		}
	}
	m := buildManifest(p, dName, prevName, start, recs, data)
	mb, err := m.Encode()
	if err != nil {
		return nil, err
	}
	if err := x.cfg.Sink.PutIfAbsent(ctx, mName, mb); err != nil {
		return nil, fmt.Errorf("export: write %s: %w", mName, err)
	}
	res.Manifest = m
	x.log.InfoContext(ctx, "audit export written", "period", p.Label, "records", m.Count, "first_seq", m.FirstSeq,
		"last_seq", m.LastSeq, "head", m.HeadHash, "sink", x.cfg.Sink.String(), "resumed", res.Resumed)
	return res, nil
}

// read returns the records after start up to seq last, checking that they
// continue the chain from start, and their data file bytes.
func (x *Exporter) read(ctx context.Context, start audit.Head, last int64) ([]audit.Record, []byte, error) {
	// The store must still hold the record the previous export ended on,
	// unchanged: otherwise this is another chain, or history was rewritten.
	if start.Seq > 0 {
		anchor, err := x.cfg.Store.Range(ctx, start.Seq, 1)
		if err != nil {
			return nil, nil, fmt.Errorf("export: read the store: %w", err)
		}
		if len(anchor) != 1 || anchor[0].Seq != start.Seq || anchor[0].Hash != start.Hash {
			return nil, nil, fmt.Errorf("%w: the store's record %d is not the head the previous export ended on", ErrConflict, start.Seq)
		}
	}
	v := audit.NewVerifier(start)
	var recs []audit.Record
	size := 0
	for from := start.Seq + 1; from <= last; {
		page, err := x.cfg.Store.Range(ctx, from, int(min(int64(audit.MaxRange), last-from+1)))
		if err != nil {
			return nil, nil, fmt.Errorf("export: read the store: %w", err)
		}
		if len(page) == 0 {
			return nil, nil, fmt.Errorf("%w: the store has no record %d below its head %d", ErrConflict, from, last)
		}
		for _, r := range page {
			if r.Seq > last {
				break
			}
			if err := v.Add(r); err != nil {
				return nil, nil, fmt.Errorf("%w: the store's chain does not continue the previous export: %w", ErrConflict, err)
			}
			size += len(r.EventJSON) + 200
			if size > x.cfg.MaxBytes && len(recs) > 0 {
				// The rest waits for the next period.
				return recs, mustEncode(recs), nil
			}
			recs = append(recs, r)
		}
		from = page[len(page)-1].Seq + 1
	}
	data, err := encodeRecords(recs)
	return recs, data, err
}

func mustEncode(recs []audit.Record) []byte {
	b, _ := encodeRecords(recs)
	return b
}

// adopt checks a data file left by an interrupted run: it must be a chain
// segment continuing start whose bytes equal the store's records.
func (x *Exporter) adopt(ctx context.Context, name string, start audit.Head) ([]byte, []audit.Record, error) {
	data, err := x.cfg.Sink.Get(ctx, name)
	if err != nil {
		return nil, nil, fmt.Errorf("export: read %s: %w", name, err)
	}
	recs, err := ParseSegment(data, start, name)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s was left by an interrupted run but is not a valid segment: %w", ErrConflict, name, err)
	}
	last := start.Seq
	if len(recs) > 0 {
		last = recs[len(recs)-1].Seq
	}
	_, fresh, err := x.read(ctx, start, last)
	if err != nil {
		return nil, nil, err
	}
	if !bytes.Equal(fresh, data) {
		return nil, nil, fmt.Errorf("%w: %s differs from the store's records %d..%d", ErrConflict, name, start.Seq+1, last)
	}
	return data, recs, nil
}

// recheck handles a period that already has a manifest: regenerate its
// files from the store and compare.
func (x *Exporter) recheck(ctx context.Context, mName string) (*Result, error) {
	m, err := x.getManifest(ctx, mName)
	if err != nil {
		return nil, err
	}
	recs, data, err := x.read(ctx, audit.Head{Seq: m.FirstSeq - 1, Hash: m.PrevHash}, m.LastSeq)
	if err != nil {
		return nil, err
	}
	existing, err := x.cfg.Sink.Get(ctx, m.DataFile)
	if err != nil {
		return nil, fmt.Errorf("export: read %s: %w", m.DataFile, err)
	}
	again := buildManifest(m.Period, m.DataFile, m.PreviousManifest, audit.Head{Seq: m.FirstSeq - 1, Hash: m.PrevHash}, recs, data)
	want, _ := again.Encode()
	got, _ := m.Encode()
	if !bytes.Equal(existing, data) || !bytes.Equal(want, got) {
		return nil, fmt.Errorf("%w: the export of period %s no longer matches the store", ErrConflict, m.Period.Label)
	}
	return &Result{Manifest: m}, nil
}

func (x *Exporter) getManifest(ctx context.Context, name string) (*Manifest, error) {
	b, err := x.cfg.Sink.Get(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("export: read %s: %w", name, err)
	}
	m, err := ParseManifest(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return m, nil
}

func buildManifest(p Period, dName, prevName string, start audit.Head, recs []audit.Record, data []byte) *Manifest {
	sum := sha256.Sum256(data)
	m := &Manifest{Version: ManifestVersion, Period: p, DataFile: dName, DataSHA256: hex.EncodeToString(sum[:]), DataBytes: int64(len(data)),
		Count: int64(len(recs)), FirstSeq: start.Seq + 1, LastSeq: start.Seq + int64(len(recs)), PrevHash: start.Hash, HeadHash: start.Hash,
		PreviousManifest: prevName}
	if len(recs) > 0 {
		first, last := recs[0], recs[len(recs)-1]
		m.FirstID, m.LastID, m.HeadHash = first.Event.ID, last.Event.ID, last.Hash
		m.FirstEventTime, m.LastEventTime = first.Event.Time.Format(time.RFC3339Nano), last.Event.Time.Format(time.RFC3339Nano)
	}
	return m
}
