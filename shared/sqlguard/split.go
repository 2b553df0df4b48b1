package sqlguard

// stmt is one statement: its tokens (without the separating semicolons) and
// the byte range of its text.
type stmt struct {
	toks       []token
	start, end int
}

// splitTokens cuts a token stream at top-level semicolons. A SQL scripting
// block (BEGIN ... END, optionally labelled) is one statement even though it
// holds semicolons. Empty statements (";;", comments only) are dropped.
func splitTokens(toks []token) []stmt {
	var out []stmt
	i := 0
	for i < len(toks) {
		if toks[i].kind == tkSemi {
			i++
			continue
		}
		start := i
		if isCompoundStart(toks[i:]) {
			i = compoundEnd(toks, i)
		}
		for i < len(toks) && toks[i].kind != tkSemi {
			i++
		}
		out = append(out, stmt{toks: toks[start:i], start: toks[start].start, end: toks[i-1].end})
	}
	return out
}

// isCompoundStart reports "BEGIN" or "label: BEGIN" at the start of a
// statement.
func isCompoundStart(t []token) bool {
	if len(t) > 0 && isWord(t[0], "BEGIN") {
		return true
	}
	return len(t) > 2 && (t[0].kind == tkWord || t[0].kind == tkQuoted) && isOp(t[1], ":") && isWord(t[2], "BEGIN")
}

// compoundEnd returns the index just after the END that closes the block
// opened at or after toks[i], or len(toks) if it is never closed. BEGIN and
// CASE open (a CASE expression and a CASE statement both close with END);
// "END IF", "END WHILE", "END LOOP", "END REPEAT" and "END FOR" close
// constructs whose openers are not counted, so they are skipped. "END CASE"
// closes a CASE statement, whose CASE was counted: the END counts, and the
// CASE after it must not open anything.
func compoundEnd(toks []token, i int) int {
	depth := 0
	for ; i < len(toks); i++ {
		t := toks[i]
		if t.kind != tkWord {
			continue
		}
		switch t.up {
		case "BEGIN", "CASE":
			depth++
		case "END":
			if i+1 < len(toks) && toks[i+1].kind == tkWord {
				switch toks[i+1].up {
				case "IF", "WHILE", "LOOP", "REPEAT", "FOR":
					i++
					continue
				case "CASE":
					i++ // END CASE: closes the CASE counted above
				}
			}
			depth--
			if depth <= 0 {
				return i + 1
			}
		}
	}
	return len(toks)
}

// Split returns the statements in sql, without separating semicolons and
// surrounding blanks; statements that are empty or only comments are left
// out. Comments inside a statement are kept. It fails only when the text
// cannot be lexed (see SyntaxError).
func Split(sql string) ([]string, error) {
	lx, err := lex(sql, sparkLex)
	if err != nil {
		return nil, err
	}
	parts := splitTokens(lx.toks)
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		// From the first token to the last: no blanks to trim (and
		// strings.TrimSpace would also eat characters that Spark does
		// not skip, such as U+2029).
		out = append(out, sql[p.start:p.end])
	}
	return out, nil
}

func isWord(t token, up string) bool { return t.kind == tkWord && t.up == up }

func isOp(t token, op string) bool { return t.kind == tkOp && t.up == op }
