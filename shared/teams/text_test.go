package teams

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestCleanLine(t *testing.T) {
	tests := []struct {
		in, want string
		hidden   int
	}{
		{"plain SELECT *", "plain SELECT *", 0},
		{"a\tb", "a    b", 0},
		{"rtl\u202eoverride", "rtl⟨U+202E⟩override", 1},
		{"zw\u200b\u200c\u200d\u2060", "zw⟨U+200B⟩⟨U+200C⟩⟨U+200D⟩⟨U+2060⟩", 4},
		{"bad\xffutf8", "bad⟨U+FFFD⟩utf8", 1},
		{"nul\x00del\x7f", "nul⟨U+0000⟩del⟨U+007F⟩", 2},
		{"tag\U000E0041", "tag⟨U+E0041⟩", 1},
		{"private\ue000", "private⟨U+E000⟩", 1},
		{"é", "é", 0},
		{"e\u0301\u0301\u0301\u0301\u0301", "e\u0301\u0301\u0301\u0301⟨U+0301⟩", 1},
		{"日本語 עברית", "日本語 עברית", 0},
	}
	for _, tt := range tests {
		got, hidden := cleanLine(tt.in)
		if got != tt.want || hidden != tt.hidden {
			t.Errorf("cleanLine(%q) = %q, %d; want %q, %d", tt.in, got, hidden, tt.want, tt.hidden)
		}
	}
}

func TestSingleAndClip(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"Alice  West", 50, "Alice West"},
		{"two\nlines\r\nhere", 50, "two lines here"},
		{"  padded  ", 50, "padded"},
		{"abcdef", 4, "abc…"},
		{"日本語テキスト", 4, "日本語…"},
		{"abcd", 4, "abcd"},
	}
	for _, tt := range tests {
		if got := single(tt.in, tt.max); got != tt.want {
			t.Errorf("single(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func TestShorten(t *testing.T) {
	tests := []struct {
		name                 string
		in                   string
		lines, runes         int
		wantLines            []string
		truncated            bool
		shownLines, total    int
		shownRunes, totalRun int
	}{
		{"fits", "SELECT 1\nFROM t", 5, 100, []string{"SELECT 1", "FROM t"}, false, 2, 2, 14, 14},
		{"line bound", "a\nb\nc\nd", 2, 100, []string{"a", "b"}, true, 2, 4, 2, 4},
		{"rune bound", "abcdef\nghi", 5, 4, []string{"abc…"}, true, 1, 2, 4, 9},
		{"exact fit", "abcd", 5, 4, []string{"abcd"}, false, 1, 1, 4, 4},
		{"blank lines and indent", "\n\nSELECT\n\n  x\n\n", 10, 100, []string{"SELECT", "\u00a0", "\u00a0\u00a0x"}, false, 3, 3, 9, 9},
		{"empty", "   ", 5, 100, []string{"\u00a0"}, false, 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := shorten(tt.in, tt.lines, tt.runes)
			if strings.Join(st.lines, "|") != strings.Join(tt.wantLines, "|") || st.truncated != tt.truncated ||
				st.shownLines != tt.shownLines || st.totalLines != tt.total || st.shownRunes != tt.shownRunes || st.totalRunes != tt.totalRun {
				t.Errorf("shorten(%q) = %+v", tt.in, st)
			}
		})
	}
}

func TestSafeID(t *testing.T) {
	for id, want := range map[string]string{
		testOpID:                 testOpID,
		"op-1.2:3":               "op-1.2:3",
		"op_[x](y)":              "",
		"**bold**":               "",
		"":                       "",
		strings.Repeat("a", 200): "",
	} {
		if got := safeID(id); got != want {
			t.Errorf("safeID(%q) = %q, want %q", id, got, want)
		}
	}
}

func TestGroupDigits(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := groupDigits(n); got != want {
			t.Errorf("groupDigits(%d) = %q, want %q", n, got, want)
		}
	}
}

// FuzzProposalCard: whatever people type, the card is valid, fits the
// message limit, and no user text reaches a markdown-rendering element.
func FuzzProposalCard(f *testing.F) {
	f.Add(shortSQL, "Alice", "main.sales.orders", "reason")
	f.Add(hostileSQL, "[x](y) <at>z</at>", "`t`", "**r**")
	f.Add(longSQL(100), "\u202e", "\xff", "\x00")
	f.Fuzz(func(t *testing.T, stmt, name, table, reason string) {
		p := baseProposal()
		p.Statement, p.Proposer.Name, p.Tables, p.Warehouse = "X"+stmt, name, []string{table, table}, reason
		cards := []Card{ProposalCard(p), UpdateCard(Update{Kind: UpdateRejected, OpID: testOpID, Statement: "X" + stmt, By: Person{Name: "b" + name}, Reason: reason, ReviewURL: testReview})}
		for _, c := range cards {
			if _, err := Envelope(c); err != nil {
				t.Fatalf("Envelope: %v", err)
			}
			pc := parseCard(t, c)
			for _, tb := range pc.textBlocks {
				if !safeTextBlock.MatchString(tb) {
					t.Fatalf("TextBlock %q", tb)
				}
			}
			for _, r := range pc.runs {
				if !utf8.ValidString(r) || strings.ContainsAny(r, "\u202e\x00\r\n\t") {
					t.Fatalf("run %q keeps an invisible character", r)
				}
			}
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-3", 0},
		{"7", 7 * time.Second},
		{"999999999999", maxRetryAfter},
		{now.Add(90 * time.Second).Format(httpTimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(httpTimeFormat), 0},
		{"soon", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

const httpTimeFormat = "Mon, 02 Jan 2006 15:04:05 GMT"
