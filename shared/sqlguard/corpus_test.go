package sqlguard

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// corpusRow is one line of shared/corpora/spark-sql/spark.jsonl.
type corpusRow struct {
	ID         string `json:"id"`
	SQL        string `json:"sql"`
	Category   string `json:"category"`
	ReadOnly   bool   `json:"read_only"`
	Statements int    `json:"statements"`
	Note       string `json:"note"`
}

// loadCorpus reads the Spark SQL corpus that lives next to the repository
// (CI clones the repo as a sibling of shared/), or skips with the reason.
func loadCorpus(t testing.TB) []corpusRow {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatalf("working directory: %v", err)
	}
	path := filepath.Join(wd, "..", "..", "..", "shared", "corpora", "spark-sql", "spark.jsonl")
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("Spark SQL corpus not available at %s (%v); it is expected in a shared/ directory next to the repository", path, err)
	}
	defer f.Close()
	var rows []corpusRow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var r corpusRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(rows) == 0 {
		t.Fatalf("%s: no rows", path)
	}
	return rows
}

// TestCorpus computes score.py's metrics: critical (labelled not read-only
// but let through) must be 0 and usability (share of read-only statements
// let through) at least 95%.
func TestCorpus(t *testing.T) {
	rows := loadCorpus(t)
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	type counts struct{ total, predRO, critical, falseUnsafe int }
	perCat := map[string]*counts{}
	var critical, falseUnsafe []string
	nRO, errs, countMismatch := 0, 0, 0
	for _, r := range rows {
		res, err := c.Classify(r.SQL)
		if err != nil {
			errs++
		}
		if err == nil && res.Statements != r.Statements {
			countMismatch++
		}
		pred := res.ReadOnly && err == nil
		k := perCat[r.Category]
		if k == nil {
			k = &counts{}
			perCat[r.Category] = k
		}
		k.total++
		if pred {
			k.predRO++
		}
		line := fmt.Sprintf("%s [%s] %q -> %s/%s %v err=%v", r.ID, r.Category, short(r.SQL), res.Class, res.Risk, res.Reasons, err)
		if r.ReadOnly {
			nRO++
			if !pred {
				k.falseUnsafe++
				falseUnsafe = append(falseUnsafe, line)
			}
		} else if pred {
			k.critical++
			critical = append(critical, line)
		}
	}
	usability := 100 * float64(nRO-len(falseUnsafe)) / float64(nRO)
	cats := make([]string, 0, len(perCat))
	for cat := range perCat {
		cats = append(cats, cat)
	}
	sort.Strings(cats)
	for _, cat := range cats {
		k := perCat[cat]
		t.Logf("%-8s total=%5d pred_read_only=%5d critical=%d false_unsafe=%d", cat, k.total, k.predRO, k.critical, k.falseUnsafe)
	}
	t.Logf("rows=%d errors=%d statement_count_mismatches=%d", len(rows), errs, countMismatch)
	t.Logf("critical=%d usability=%.2f%% (false unsafe %d of %d)", len(critical), usability, len(falseUnsafe), nRO)
	for i, l := range falseUnsafe {
		if i == 10 {
			t.Logf("... %d more false unsafe", len(falseUnsafe)-10)
			break
		}
		t.Logf("false unsafe: %s", l)
	}
	if dump := os.Getenv("SQLGUARD_CORPUS_DUMP"); dump != "" {
		if err := os.WriteFile(dump, []byte(strings.Join(falseUnsafe, "\n")+"\n"), 0o600); err != nil {
			t.Errorf("writing %s: %v", dump, err)
		}
	}
	for _, l := range critical {
		t.Errorf("CRITICAL (not read-only, let through): %s", l)
	}
	if usability < 95 {
		t.Errorf("usability %.2f%% is below 95%%", usability)
	}
}

func short(s string) string {
	if len(s) > 160 {
		return s[:160] + "..."
	}
	return s
}
