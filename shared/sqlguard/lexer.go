package sqlguard

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The lexer mirrors Spark's SqlBaseLexer.g4 closely enough that token
// boundaries agree: a string, comment or identifier that ends in a different
// place than Spark thinks is exactly how a DROP hides inside a "comment".

type tokKind uint8

const (
	tkWord      tokKind = iota + 1 // unquoted identifier or keyword (also URI identifiers)
	tkQuoted                       // `backtick identifier`
	tkString                       // '...', "...", r'...', r"..."
	tkDollar                       // $tag$ ... $tag$ (Databricks function bodies)
	tkNumber                       // numeric literal
	tkOp                           // operator or punctuation, incl. the hint end "*/"
	tkSemi                         // ;
	tkHintStart                    // /*+
	tkInvalid                      // a character Spark does not recognise
)

type token struct {
	kind       tokKind
	start, end int    // byte offsets in the lexed text
	up         string // tkWord: text upper-cased the way Spark does; tkOp: the operator
}

// lexOptions select between Spark's reading and the plainer reading that
// other tools and older Spark versions use.
type lexOptions struct {
	nested       bool // /* /* */ */ nests (Spark 3+)
	continuation bool // a backslash before the newline continues a -- comment (Spark)
	raw          bool // r'...' is a raw string without escapes (Spark 3.5+)
}

var (
	sparkLex = lexOptions{nested: true, continuation: true, raw: true}
	plainLex = lexOptions{}
)

type lexed struct {
	toks []token
	// ambiguous: the text holds a construct that other readers lex
	// differently (nested comment, comment continuation, raw string with a
	// backslash), so it must also be read-only under plainLex.
	ambiguous bool
	// suspicious: findings that make the text not read-only on their own
	// (invisible or look-alike characters, unrecognised characters).
	suspicious []string
	// unrecognised: a character Spark's lexer rejects, so Spark cannot parse.
	unrecognised bool
}

// maxSuspicious bounds the findings kept: one is enough to refuse a read,
// and hostile input must not make the list (or its de-duplication) grow
// with the input.
const maxSuspicious = 8

func (l *lexed) suspect(format string, args ...any) {
	if len(l.suspicious) >= maxSuspicious {
		return
	}
	msg := fmt.Sprintf(format, args...)
	for _, s := range l.suspicious {
		if s == msg {
			return
		}
	}
	l.suspicious = append(l.suspicious, msg)
}

// lex splits s into tokens, dropping whitespace and comments. It fails on
// unterminated strings, identifiers and comments and on invalid UTF-8.
func lex(s string, opt lexOptions) (*lexed, error) {
	// Invalid UTF-8 is refused wherever it is, strings and comments
	// included: decoders disagree on how to repair it (Go's JSON and the
	// JVM each substitute U+FFFD in their own way), so no two readers are
	// sure to see the same text.
	if !utf8.ValidString(s) {
		off := 0
		for off < len(s) {
			r, size := utf8.DecodeRuneInString(s[off:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			off += size
		}
		return nil, &SyntaxError{Offset: off, Msg: "invalid UTF-8"}
	}
	out := &lexed{toks: make([]token, 0, len(s)/4+1)}
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			i = lexLineComment(s, i, opt, out)
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			if i+2 < len(s) && s[i+2] == '+' {
				out.toks = append(out.toks, token{kind: tkHintStart, start: i, end: i + 3, up: "/*+"})
				i += 3
				continue
			}
			end, err := lexBlockComment(s, i, opt, out)
			if err != nil {
				return nil, err
			}
			i = end
		case c == '\'' || c == '"':
			end, err := lexQuoted(s, i, c, true)
			if err != nil {
				return nil, err
			}
			noteBidi(s[i:end], out)
			out.toks = append(out.toks, token{kind: tkString, start: i, end: end})
			i = end
		case c == '`':
			end, err := lexBacktick(s, i)
			if err != nil {
				return nil, err
			}
			noteInvisible(s[i+1:end-1], "identifier", out)
			out.toks = append(out.toks, token{kind: tkQuoted, start: i, end: end})
			i = end
		case c == '$':
			end, ok, err := lexDollar(s, i)
			if err != nil {
				return nil, err
			}
			if !ok {
				out.invalid(s, i, 1)
				i++
				continue
			}
			noteBidi(s[i:end], out)
			out.toks = append(out.toks, token{kind: tkDollar, start: i, end: end})
			i = end
		case c == ';':
			out.toks = append(out.toks, token{kind: tkSemi, start: i, end: i + 1, up: ";"})
			i++
		case isDigit(c) || (c == '.' && i+1 < len(s) && isDigit(s[i+1])):
			i = lexNumber(s, i, out)
		case c < utf8.RuneSelf:
			if isWordStartASCII(c) {
				end, err := lexWord(s, i, opt, out)
				if err != nil {
					return nil, err
				}
				i = end
				continue
			}
			if n := opLen(s, i); n > 0 {
				out.toks = append(out.toks, token{kind: tkOp, start: i, end: i + n, up: s[i : i+n]})
				i += n
				continue
			}
			out.invalid(s, i, 1)
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return nil, &SyntaxError{Offset: i, Msg: "invalid UTF-8"}
			}
			switch {
			case isSparkSpace(r):
				i += size
			case unicode.IsLetter(r):
				end, err := lexWord(s, i, opt, out)
				if err != nil {
					return nil, err
				}
				i = end
			default:
				out.invalid(s, i, size)
				i += size
			}
		}
	}
	return out, nil
}

func (l *lexed) invalid(s string, i, size int) {
	r, _ := utf8.DecodeRuneInString(s[i:])
	l.toks = append(l.toks, token{kind: tkInvalid, start: i, end: i + size})
	l.unrecognised = true
	if r >= utf8.RuneSelf || r < ' ' || r == 0x7f {
		l.suspect("invisible or unrecognised character %s outside a string literal", runeName(r))
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isWordStartASCII(c byte) bool {
	return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

func isWordByte(c byte) bool { return isWordStartASCII(c) || isDigit(c) }

// wordEnd returns the end of Spark's IDENTIFIER rule (letters, digits, _)
// starting at i, and whether it met a non-ASCII letter.
func wordEnd(s string, i int) (end int, nonASCII bool) {
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if !isWordByte(c) {
				break
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsLetter(r) {
			break
		}
		nonASCII = true
		i += size
	}
	return i, nonASCII
}

func lexWord(s string, i int, opt lexOptions, out *lexed) (int, error) {
	// r'...' and r"..." are raw strings: no escapes inside.
	if opt.raw && (s[i] == 'r' || s[i] == 'R') && i+1 < len(s) && (s[i+1] == '\'' || s[i+1] == '"') {
		end, err := lexQuoted(s, i+1, s[i+1], false)
		if err != nil {
			return 0, err
		}
		if strings.IndexByte(s[i+2:end-1], '\\') >= 0 {
			out.ambiguous = true // without raw strings the backslash escapes the quote
		}
		noteBidi(s[i:end], out)
		out.toks = append(out.toks, token{kind: tkString, start: i, end: end})
		return end, nil
	}
	end, nonASCII := wordEnd(s, i)
	// URI identifiers (abfss://host/path) are one token to Spark, so a "--"
	// or "/*" inside them is not a comment.
	if u := uriEnd(s, i); u > end {
		end = u
		nonASCII = nonASCII || hasNonASCII(s[i:u])
	}
	word := s[i:end]
	if nonASCII {
		out.suspect("non-ASCII letters in the unquoted name or keyword %q (look-alike characters)", word)
	}
	out.toks = append(out.toks, token{kind: tkWord, start: i, end: end, up: sparkUpper(word)})
	return end, nil
}

// uriEnd implements IDENTIFIER's second alternative:
// UNICODE_LETTER+ '://' (letter | digit | _ / - . ? = & # %)+ .
func uriEnd(s string, i int) int {
	j := i
	for j < len(s) {
		r, size := utf8.DecodeRuneInString(s[j:])
		if !unicode.IsLetter(r) {
			break
		}
		j += size
	}
	if j == i || !strings.HasPrefix(s[j:], "://") {
		return 0
	}
	j += 3
	start := j
	for j < len(s) {
		c := s[j]
		if c < utf8.RuneSelf {
			if isWordByte(c) || strings.IndexByte("/-.?=&#%", c) >= 0 {
				j++
				continue
			}
			break
		}
		r, size := utf8.DecodeRuneInString(s[j:])
		if !unicode.IsLetter(r) {
			break
		}
		j += size
	}
	if j == start {
		return 0
	}
	return j
}

func hasNonASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// sparkUpper upper-cases like Spark's UpperCaseCharStream (per code point,
// simple mapping), so "ınsert" is INSERT and "ſelect" is SELECT.
func sparkUpper(w string) string {
	ascii := true
	lower := false
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		if c >= 'a' && c <= 'z' {
			lower = true
		}
	}
	if ascii {
		if !lower {
			return w
		}
		return strings.ToUpper(w)
	}
	return strings.Map(unicode.ToUpper, w)
}

// lexQuoted scans a string starting at the quote s[i]; with escapes, a
// backslash escapes the next character (Spark semantics for '...' and "...").
func lexQuoted(s string, i int, q byte, escapes bool) (int, error) {
	j := i + 1
	for j < len(s) {
		c := s[j]
		if escapes && c == '\\' {
			j += 2
			continue
		}
		if c == q {
			return j + 1, nil
		}
		j++
	}
	return 0, &SyntaxError{Offset: i, Msg: "unterminated string literal"}
}

func lexBacktick(s string, i int) (int, error) {
	j := i + 1
	for j < len(s) {
		if s[j] == '`' {
			if j+1 < len(s) && s[j+1] == '`' {
				j += 2
				continue
			}
			return j + 1, nil
		}
		j++
	}
	return 0, &SyntaxError{Offset: i, Msg: "unterminated backtick identifier"}
}

// lexDollar scans a Databricks dollar-quoted string $tag$...$tag$. ok is false
// when s[i] does not start one (a lone '$' is an unrecognised character).
func lexDollar(s string, i int) (end int, ok bool, err error) {
	j := i + 1
	for j < len(s) && (isWordByte(s[j])) {
		j++
	}
	if j >= len(s) || s[j] != '$' || (j > i+1 && isDigit(s[i+1])) {
		return 0, false, nil
	}
	tag := s[i : j+1]
	k := strings.Index(s[j+1:], tag)
	if k < 0 {
		return 0, false, &SyntaxError{Offset: i, Msg: "unterminated dollar-quoted string"}
	}
	return j + 1 + k + len(tag), true, nil
}

// lexLineComment skips a -- comment. Spark continues it over a backslash
// that ends the line.
func lexLineComment(s string, i int, opt lexOptions, out *lexed) int {
	j := i + 2
	for j < len(s) {
		c := s[j]
		if c == '\n' || c == '\r' {
			return j
		}
		if c == '\\' && j+1 < len(s) && s[j+1] == '\n' {
			out.ambiguous = true
			if opt.continuation {
				j += 2
				continue
			}
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[j:])
			if r == 0x2028 || r == 0x2029 || r == 0x85 {
				// Spark keeps going, but anything that treats these as line
				// breaks would end the comment here.
				out.suspect("line separator %s inside a -- comment", runeName(r))
			}
			noteBidiRune(r, out)
			j += size
			continue
		}
		if c == '\v' || c == '\f' {
			out.suspect("vertical tab or form feed inside a -- comment")
		}
		j++
	}
	return j
}

// lexBlockComment skips a /* */ comment starting at i. With nesting, an
// inner "/*" that is not a hint opener ("/*+") opens a nested comment, as in
// Spark's BRACKETED_COMMENT rule.
func lexBlockComment(s string, i int, opt lexOptions, out *lexed) (int, error) {
	depth := 1
	j := i + 2
	for j < len(s) {
		c := s[j]
		switch {
		case c == '*' && j+1 < len(s) && s[j+1] == '/':
			depth--
			j += 2
			if depth == 0 {
				return j, nil
			}
		case c == '/' && j+1 < len(s) && s[j+1] == '*' && !(j+2 < len(s) && s[j+2] == '+'):
			out.ambiguous = true
			if opt.nested {
				depth++
				j += 2
			} else {
				j++
			}
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[j:])
			noteBidiRune(r, out)
			j += size
		default:
			j++
		}
	}
	return 0, &SyntaxError{Offset: i, Msg: "unterminated /* comment"}
}

// lexNumber follows Spark's numeric literal rules, including isValidDecimal
// (a decimal literal must not run into a letter, digit or '_'), and competes
// with IDENTIFIER by longest match, so that "1.x" is 1 . x and "1e" is a name.
func lexNumber(s string, i int, out *lexed) int {
	identLen := 0
	if s[i] != '.' {
		e, _ := wordEnd(s, i)
		identLen = e - i
	}
	numLen := numericLen(s, i)
	if numLen == 0 && identLen == 0 {
		// ".5x": not a valid decimal, so Spark reads a dot and then "5x".
		out.toks = append(out.toks, token{kind: tkOp, start: i, end: i + 1, up: "."})
		return i + 1
	}
	if identLen > numLen {
		end := i + identLen
		w := s[i:end]
		if hasNonASCII(w) {
			out.suspect("non-ASCII letters in the unquoted name %q (look-alike characters)", w)
		}
		out.toks = append(out.toks, token{kind: tkWord, start: i, end: end, up: sparkUpper(w)})
		return end
	}
	out.toks = append(out.toks, token{kind: tkNumber, start: i, end: i + numLen})
	return i + numLen
}

func numericLen(s string, i int) int {
	digits := func(j int) int {
		k := j
		for k < len(s) && isDigit(s[k]) {
			k++
		}
		return k - j
	}
	upAt := func(j int) byte {
		if j < len(s) && s[j] < utf8.RuneSelf {
			return s[j] &^ 0x20
		}
		return 0
	}
	exponent := func(j int) int { // 'E' [+-]? DIGIT+
		if upAt(j) != 'E' {
			return 0
		}
		k := j + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if d := digits(k); d > 0 {
			return k + d - j
		}
		return 0
	}
	validAfter := func(j int) bool { // isValidDecimal
		if j >= len(s) {
			return true
		}
		r, _ := utf8.DecodeRuneInString(s[j:])
		u := unicode.ToUpper(r)
		return !(u >= 'A' && u <= 'Z' || u >= '0' && u <= '9' || u == '_')
	}
	suffix := func(j int) int { // 'F' | 'D' | 'BD'
		switch upAt(j) {
		case 'F', 'D':
			return 1
		case 'B':
			if upAt(j+1) == 'D' {
				return 2
			}
		}
		return 0
	}
	best := 0
	d := digits(i)
	if d > 0 {
		best = d // INTEGER_VALUE
		switch upAt(i + d) {
		case 'L', 'S', 'Y':
			best = d + 1
		}
		e := exponent(i + d)
		best = max(best, d+e)
		if n := suffix(i + d + e); n > 0 {
			best = max(best, d+e+n)
		}
	}
	if i+d < len(s) && s[i+d] == '.' {
		frac := digits(i + d + 1)
		if d > 0 || frac > 0 {
			dec := d + 1 + frac // DECIMAL_DIGITS
			if validAfter(i + dec) {
				best = max(best, dec)
			}
			e := exponent(i + dec)
			if e > 0 && validAfter(i+dec+e) {
				best = max(best, dec+e)
			}
			if n := suffix(i + dec + e); n > 0 && validAfter(i+dec+e+n) {
				best = max(best, dec+e+n)
			}
		}
	}
	return best
}

var multiOps = [...]string{"<=>", ">>>", "<>", "!=", "<=", ">=", "!>", "!<", "==", "=>", "->", "::", "||", "|>", "<<", ">>", "*/"}

// opLen returns the length of the operator at s[i], or 0 for a character
// Spark does not recognise.
func opLen(s string, i int) int {
	for _, op := range multiOps {
		if strings.HasPrefix(s[i:], op) {
			return len(op)
		}
	}
	if strings.IndexByte("(),.[]!=<>+-*/%~&|^:?@", s[i]) >= 0 {
		return 1
	}
	return 0
}
