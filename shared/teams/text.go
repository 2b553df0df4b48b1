package teams

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxCombining is how many combining marks may follow one another before
// the rest are shown as ⟨U+XXXX⟩: real scripts need a few, "zalgo" text
// stacks hundreds to paint over the rest of the card.
const maxCombining = 4

// visibleRune reports how r is shown: ok=false means it is replaced by a
// ⟨U+XXXX⟩ marker. Control characters, format characters (bidi overrides
// and isolates, zero-width space/joiners, BOM, tag characters, soft
// hyphen), line and paragraph separators and private-use or unassigned
// code points could hide or reorder what an approver reads.
func visibleRune(r rune) bool {
	switch {
	case r == utf8.RuneError:
		return false
	case unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Co, unicode.Cs):
		return false
	case !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Zs):
		return false // unassigned or noncharacter
	}
	return true
}

func marker(r rune) string { return fmt.Sprintf("⟨U+%04X⟩", r) }

// cleanLine makes one line of user text safe to show literally: invalid
// UTF-8 becomes U+FFFD's marker, tabs become spaces, invisible characters
// and excess combining marks become markers. It returns the text and how
// many characters were replaced.
func cleanLine(s string) (string, int) {
	var b strings.Builder
	b.Grow(len(s))
	hidden, combining := 0, 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r == utf8.RuneError && size <= 1 {
			b.WriteString(marker(utf8.RuneError))
			hidden++
			combining = 0
			continue
		}
		if r == '\t' {
			b.WriteString("    ")
			combining = 0
			continue
		}
		if unicode.In(r, unicode.Mn, unicode.Me) {
			combining++
			if combining > maxCombining {
				b.WriteString(marker(r))
				hidden++
				continue
			}
		} else {
			combining = 0
		}
		if !visibleRune(r) {
			b.WriteString(marker(r))
			hidden++
			continue
		}
		b.WriteRune(r)
	}
	return b.String(), hidden
}

// splitLines normalises line ends (CRLF, CR) and splits on LF.
func splitLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Split(s, "\n")
}

// single prepares a one-line field (a name, a table, a reason): line
// breaks become spaces, runs of spaces collapse, invisible characters are
// marked, and the result is clipped to max characters with "…".
func single(s string, max int) string {
	s = strings.Join(strings.Fields(strings.Join(splitLines(s), " ")), " ")
	out, _ := cleanLine(s)
	return clip(out, max)
}

// clip shortens s to at most max runes, ending in "…" when it cut.
func clip(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// shortened is a multi-line text cut to fit a card.
type shortened struct {
	lines      []string
	shownLines int
	totalLines int
	shownRunes int
	totalRunes int
	truncated  bool
	hidden     int // characters shown as markers, in the whole text
}

// shorten cuts a statement to maxLines lines and maxRunes characters (of
// the cleaned text, so markers count: the bound holds for any input).
// Leading spaces become no-break spaces so indentation survives HTML
// renderers, and an empty line becomes one no-break space (a TextRun
// needs text).
func shorten(s string, maxLines, maxRunes int) shortened {
	raw := splitLines(strings.TrimRight(s, " \t\r\n"))
	for len(raw) > 0 && strings.TrimSpace(raw[0]) == "" {
		raw = raw[1:]
	}
	st := shortened{totalLines: len(raw)}
	budget := maxRunes
	for _, line := range raw {
		clean, hidden := cleanLine(strings.TrimRight(line, " \t"))
		st.hidden += hidden
		n := utf8.RuneCountInString(clean)
		st.totalRunes += n
		if st.truncated {
			continue // keep counting totals and hidden characters
		}
		if st.shownLines == maxLines || budget <= 0 {
			st.truncated = true
			continue
		}
		if n > budget {
			clean = clip(clean, budget)
			st.truncated = true
			n = budget
		}
		budget -= n
		st.shownRunes += n
		st.shownLines++
		st.lines = append(st.lines, indent(clean))
	}
	if len(st.lines) == 0 {
		st.lines = []string{"\u00a0"}
	}
	return st
}

func indent(line string) string {
	if line == "" {
		return "\u00a0"
	}
	trimmed := strings.TrimLeft(line, " ")
	return strings.Repeat("\u00a0", len(line)-len(trimmed)) + trimmed
}

// safeID is the operation id as it may appear in fallbackText (which can
// render markdown): only characters that markdown does not interpret, or
// "" when the id has others.
func safeID(id string) string {
	if id == "" || len(id) > maxOpID {
		return ""
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == ':') {
			return ""
		}
	}
	return id
}
