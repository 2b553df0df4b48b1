package sqlguard

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// Benchmarks report numbers for `make bench`; nothing here passes or fails
// on speed.

func benchStatements() []struct{ name, sql string } {
	long := "SELECT " + strings.Repeat("coalesce(a, b) + length(c) AS x, ", 1500) + "1 FROM t JOIN u ON t.id = u.id WHERE t.d > '2024-01-01'"
	return []struct{ name, sql string }{
		{"short", "SELECT 1"},
		{"typical", "SELECT o.region, sum(o.amount) AS revenue FROM main.sales.orders o JOIN main.sales.regions r ON o.region_id = r.id WHERE o.ts >= current_date() - INTERVAL 30 DAYS GROUP BY o.region ORDER BY revenue DESC LIMIT 100"},
		{"write", "MERGE INTO main.sales.orders t USING updates s ON t.id = s.id WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"},
		{"nested_comments", "/* a /* b /* c */ */ */ SELECT 1 /* d /* e */ */ FROM t -- x \\\n y"},
		{"long_60KB", long},
		{"long_many_tables", "SELECT * FROM " + strings.Repeat("t, ", 15000) + "u"},
	}
}

func BenchmarkClassify(b *testing.B) {
	c, _ := New(Config{})
	for _, bc := range benchStatements() {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.sql)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Classify(bc.sql); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSplit(b *testing.B) {
	sql := strings.Repeat("SELECT a, 'x;y', `z;` FROM t /* ; */; ", 1500)
	b.SetBytes(int64(len(sql)))
	for b.Loop() {
		if _, err := Split(sql); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClassifyJSONLines(b *testing.B) {
	var in bytes.Buffer
	for _, bc := range benchStatements()[:4] {
		for range 250 {
			line, _ := json.Marshal(map[string]string{"sql": bc.sql})
			in.Write(append(line, '\n'))
		}
	}
	c, _ := New(Config{})
	b.SetBytes(int64(in.Len()))
	for b.Loop() {
		if err := ClassifyJSONLines(context.Background(), c, bytes.NewReader(in.Bytes()), io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
