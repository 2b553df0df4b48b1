package teams

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

// TestGolden pins the exact webhook body of each card kind. Run
// `go test ./shared/teams -run TestGolden -update` after an intended
// change and review the diff.
func TestGolden(t *testing.T) {
	n := 0
	for _, c := range allCases() {
		if !c.golden {
			continue
		}
		n++
		t.Run(c.name, func(t *testing.T) {
			body, err := Envelope(c.card)
			if err != nil {
				t.Fatal(err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, body, "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			path := filepath.Join("testdata", c.name+".golden.json")
			if *update {
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(pretty.Bytes(), want) {
				t.Errorf("%s differs from the golden file; run with -update if intended.\ngot:\n%s", path, pretty.Bytes())
			}
		})
	}
	if n < 1+len(UpdateKinds()) {
		t.Errorf("only %d golden cases; want at least one proposal and one per update kind", n)
	}
}
