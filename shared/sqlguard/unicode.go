package sqlguard

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Unicode that the lexer treats specially: Spark's blanks beyond ASCII, and
// characters that hide text or change how it is displayed, which make a
// statement not read-only wherever they appear.

func runeName(r rune) string {
	return fmt.Sprintf("U+%04X", r)
}

// isSparkSpace is Spark's WS rule beyond ASCII.
func isSparkSpace(r rune) bool {
	switch r {
	case 0x00A0, 0x1680, 0x2028, 0x202F, 0x205F, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200A
}

// Characters that hide text or change how it is displayed.

func isBidiControl(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) || r == 0x200E || r == 0x200F || r == 0x061C
}

func noteBidiRune(r rune, out *lexed) {
	if isBidiControl(r) {
		out.suspect("bidirectional control character %s can make the text display differently from how it runs", runeName(r))
	}
}

func noteBidi(s string, out *lexed) {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			for _, r := range s[i:] {
				noteBidiRune(r, out)
			}
			return
		}
	}
}

// noteInvisible flags invisible (format) characters inside a quoted name.
func noteInvisible(s, what string, out *lexed) {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			for _, r := range s[i:] {
				if isInvisible(r) {
					out.suspect("invisible character %s inside a quoted %s", runeName(r), what)
				}
			}
			return
		}
		if s[i] < ' ' || s[i] == 0x7f {
			out.suspect("control character inside a quoted %s", what)
		}
	}
}

// isInvisible reports characters that render as nothing (zero-width spaces
// and joiners, BOM, fillers, variation selectors, tags, controls).
func isInvisible(r rune) bool {
	return unicode.In(r, unicode.Cf, unicode.Cc, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
}
