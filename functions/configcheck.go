package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/behalf-dev/behalf/shared/config"
)

// cmdConfigCheck prints every setting (secrets masked), what is missing
// and what is wrong; the exit status is 1 when anything is wrong.
func cmdConfigCheck(w io.Writer, lookup func(string) (string, bool)) int {
	items := config.Check(lookup)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "SETTING\tVALUE\tFROM\tPROBLEM")
	bad := 0
	for _, it := range items {
		problem := "-"
		switch {
		case it.Problem != "":
			problem = it.Problem
			bad++
		case it.Warning != "":
			problem = "warning: " + it.Warning
		}
		value := it.Value
		if value == "" {
			value = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", it.Name, value, it.Source, problem)
	}
	_ = tw.Flush()
	if bad > 0 {
		fmt.Fprintf(w, "\n%d problem(s): fix the settings above.\n", bad)
		return 1
	}
	fmt.Fprintln(w, "\nconfiguration is valid.")
	return 0
}
