package govsql

import (
	"fmt"
	"strings"
)

// tokKind classifies a token. The lexer follows SQLite's tokenizer closely
// so that what the rewriter sees is what SQLite will execute.
type tokKind int

const (
	tkSpace   tokKind = iota // whitespace
	tkComment                // -- or /* */
	tkIdent                  // bare identifier or keyword
	tkQuoted                 // `ident` or [ident]: an identifier in SQLite
	tkDQuoted                // "text": a string literal in Databricks SQL
	tkString                 // 'text'
	tkBlob                   // X'hex'
	tkNumber                 // 1, 1.5, .5, 1e3, 0x1F
	tkParam                  // :name, @name, $name, ?NNN, ?
	tkPunct                  // operators and punctuation
)

type token struct {
	kind tokKind
	text string // as written (or as it will be emitted)
	val  string // identifier value (unquoted), string content or parameter name
}

func (t token) is(kw string) bool {
	return t.kind == tkIdent && strings.EqualFold(t.text, kw)
}

func (t token) isPunct(p string) bool { return t.kind == tkPunct && t.text == p }

// isName reports whether the token can name something (identifier, quoted
// identifier); keywords count too, the caller decides.
func (t token) isName() bool { return t.kind == tkIdent || t.kind == tkQuoted }

func (t token) significant() bool { return t.kind != tkSpace && t.kind != tkComment }

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}

func isIdentChar(c byte) bool {
	return isIdentStart(c) || (c >= '0' && c <= '9') || c == '$'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// lex splits SQL into tokens. It fails on unterminated literals, which
// SQLite would also reject.
func lex(sql string) ([]token, error) {
	var toks []token
	i := 0
	n := len(sql)
	for i < n {
		c := sql[i]
		start := i
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			for i < n && (sql[i] == ' ' || sql[i] == '\t' || sql[i] == '\n' || sql[i] == '\r' || sql[i] == '\f') {
				i++
			}
			toks = append(toks, token{kind: tkSpace, text: sql[start:i]})
		case c == '-' && i+1 < n && sql[i+1] == '-':
			for i < n && sql[i] != '\n' {
				i++
			}
			toks = append(toks, token{kind: tkComment, text: sql[start:i]})
		case c == '/' && i+1 < n && sql[i+1] == '*':
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				i = n // SQLite treats an unterminated comment as running to the end
			} else {
				i += 2 + end + 2
			}
			toks = append(toks, token{kind: tkComment, text: sql[start:i]})
		case c == '\'':
			s, next, err := scanQuoted(sql, i, '\'', '\'')
			if err != nil {
				return nil, err
			}
			i = next
			toks = append(toks, token{kind: tkString, text: sql[start:i], val: s})
		case c == '"':
			s, next, err := scanQuoted(sql, i, '"', '"')
			if err != nil {
				return nil, err
			}
			i = next
			toks = append(toks, token{kind: tkDQuoted, text: sql[start:i], val: s})
		case c == '`':
			s, next, err := scanQuoted(sql, i, '`', '`')
			if err != nil {
				return nil, err
			}
			i = next
			toks = append(toks, token{kind: tkQuoted, text: sql[start:i], val: s})
		case c == '[':
			end := strings.IndexByte(sql[i+1:], ']')
			if end < 0 {
				return nil, fmt.Errorf("unterminated [identifier] at offset %d", i)
			}
			i += 1 + end + 1
			toks = append(toks, token{kind: tkQuoted, text: sql[start:i], val: sql[start+1 : i-1]})
		case (c == 'x' || c == 'X') && i+1 < n && sql[i+1] == '\'':
			s, next, err := scanQuoted(sql, i+1, '\'', '\'')
			if err != nil {
				return nil, err
			}
			i = next
			toks = append(toks, token{kind: tkBlob, text: sql[start:i], val: s})
		case isIdentStart(c):
			for i < n && isIdentChar(sql[i]) {
				i++
			}
			toks = append(toks, token{kind: tkIdent, text: sql[start:i], val: sql[start:i]})
		case isDigit(c) || (c == '.' && i+1 < n && isDigit(sql[i+1])):
			i = scanNumber(sql, i)
			toks = append(toks, token{kind: tkNumber, text: sql[start:i]})
		case c == '?':
			i++
			for i < n && isDigit(sql[i]) {
				i++
			}
			toks = append(toks, token{kind: tkParam, text: sql[start:i], val: sql[start+1 : i]})
		case (c == ':' || c == '@' || c == '$') && i+1 < n && isIdentChar(sql[i+1]) && !(c == ':' && i > 0 && sql[i-1] == ':'):
			i++
			for i < n && isIdentChar(sql[i]) {
				i++
			}
			toks = append(toks, token{kind: tkParam, text: sql[start:i], val: sql[start+1 : i]})
		default:
			i += punctLen(sql[i:])
			toks = append(toks, token{kind: tkPunct, text: sql[start:i]})
		}
	}
	return toks, nil
}

// scanQuoted reads a literal opened at sql[i] and closed by q, where a
// doubled q stands for itself.
func scanQuoted(sql string, i int, open, q byte) (string, int, error) {
	var b strings.Builder
	j := i + 1
	for j < len(sql) {
		if sql[j] == q {
			if j+1 < len(sql) && sql[j+1] == q {
				b.WriteByte(q)
				j += 2
				continue
			}
			return b.String(), j + 1, nil
		}
		b.WriteByte(sql[j])
		j++
	}
	return "", 0, fmt.Errorf("unterminated %c literal at offset %d", open, i)
}

func scanNumber(sql string, i int) int {
	n := len(sql)
	if sql[i] == '0' && i+1 < n && (sql[i+1] == 'x' || sql[i+1] == 'X') {
		i += 2
		for i < n && (isDigit(sql[i]) || strings.IndexByte("abcdefABCDEF", sql[i]) >= 0) {
			i++
		}
		return i
	}
	for i < n && (isDigit(sql[i]) || sql[i] == '_') {
		i++
	}
	if i < n && sql[i] == '.' {
		i++
		for i < n && isDigit(sql[i]) {
			i++
		}
	}
	if i < n && (sql[i] == 'e' || sql[i] == 'E') {
		j := i + 1
		if j < n && (sql[j] == '+' || sql[j] == '-') {
			j++
		}
		if j < n && isDigit(sql[j]) {
			i = j
			for i < n && isDigit(sql[i]) {
				i++
			}
		}
	}
	// A number glued to identifier characters (1abc) is one bad token in
	// SQLite; keep it together so it cannot smuggle an identifier.
	for i < n && isIdentChar(sql[i]) {
		i++
	}
	return i
}

var multiPunct = []string{"<=>", "->>", "||", "<=", ">=", "<>", "!=", "==", "<<", ">>", "->", "::"}

func punctLen(s string) int {
	for _, p := range multiPunct {
		if strings.HasPrefix(s, p) {
			return len(p)
		}
	}
	return 1
}

// render joins tokens back into SQL text.
func render(toks []token) string {
	var b strings.Builder
	for _, t := range toks {
		b.WriteString(t.text)
	}
	return b.String()
}

// quoteIdent quotes an identifier for SQLite.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// quoteString quotes a string literal for SQLite.
func quoteString(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

func identTok(name string) token { return token{kind: tkQuoted, text: quoteIdent(name), val: name} }

func stringTok(s string) token { return token{kind: tkString, text: quoteString(s), val: s} }

func rawTok(text string) token { return token{kind: tkPunct, text: text} }

func spaceTok() token { return token{kind: tkSpace, text: " "} }
