package databricks

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The question matcher stands in for Genie's language model: it maps a
// question to one of the space's example questions by canonical keywords,
// and reads "top N" and region filters as modifiers that follow-ups can
// apply to the conversation's previous query.

// synonymList maps words to canonical keywords; other words are ignored.
var synonymList = map[string][]string{
	"revenue":  {"revenue", "sales", "bookings", "amount", "amounts", "income", "turnover", "money"},
	"region":   {"region", "regions", "regional", "territory", "territories", "area", "areas"},
	"rep":      {"rep", "reps", "salesperson", "salespeople", "seller", "sellers", "representative", "representatives"},
	"top":      {"top", "biggest", "largest", "highest", "best", "leading", "major"},
	"deal":     {"deal", "deals", "opportunity", "opportunities", "contract", "contracts"},
	"margin":   {"margin", "margins", "profitability", "profit"},
	"average":  {"average", "avg", "mean", "typical"},
	"quarter":  {"quarter", "qtr", "quarterly"},
	"month":    {"month", "monthly", "months"},
	"closed":   {"closed", "close", "won", "signed"},
	"stage":    {"stage", "stages", "pipeline", "funnel"},
	"count":    {"count", "many", "number"},
	"customer": {"customer", "customers", "client", "clients", "account", "accounts"},
	"recent":   {"recent", "recently", "latest", "activity", "events", "happened", "history"},
	"partner":  {"partner", "partners", "shared"},
}

type matcher struct {
	canon map[string]string
}

func newMatcher() *matcher {
	m := &matcher{canon: map[string]string{}}
	for k, words := range synonymList {
		for _, w := range words {
			m.canon[w] = k
		}
	}
	return m
}

var reWord = regexp.MustCompile(`[a-z0-9]+`)

func (m *matcher) keywords(text string) map[string]bool {
	out := map[string]bool{}
	for _, w := range reWord.FindAllString(strings.ToLower(text), -1) {
		if k, ok := m.canon[w]; ok {
			out[k] = true
		}
	}
	return out
}

// modifiers are what a question says about filters and size.
type modifiers struct {
	Limit  int
	Region string
}

var (
	reTopN      = regexp.MustCompile(`\b(?:top|first|only|limit|just|best|biggest|largest)\s+(\d{1,4}|one|two|three|four|five|six|seven|eight|nine|ten|twenty)\b`)
	reNRows     = regexp.MustCompile(`\b(\d{1,4})\s+(?:deals|customers|reps|rows|results|regions|months)\b`)
	numberWords = map[string]int{"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "twenty": 20}
	regionWords = []string{"west", "east", "central", "south", "north"}
)

func parseModifiers(text string) (modifiers, bool) {
	t := strings.ToLower(text)
	var m modifiers
	found := false
	for _, re := range []*regexp.Regexp{reTopN, reNRows} {
		if g := re.FindStringSubmatch(t); g != nil {
			n, err := strconv.Atoi(g[1])
			if err != nil {
				n = numberWords[g[1]]
			}
			if n > 0 {
				m.Limit, found = n, true
				break
			}
		}
	}
	for _, w := range reWord.FindAllString(t, -1) {
		if slices.Contains(regionWords, w) {
			m.Region, found = strings.ToUpper(w), true
		}
	}
	return m, found
}

// plan is what the matcher decided for one question.
type plan struct {
	example int // index into Space.Examples, -1 for a clarification
	mods    modifiers
	keys    map[string]bool
}

// match picks the example a question means, using the conversation's
// previous plan for follow-ups; example is -1 when the question cannot be
// mapped (Genie then asks for clarification).
func (m *matcher) match(sp *Space, question string, prev *plan) plan {
	keys := m.keywords(question)
	mods, hasMods := parseModifiers(question)
	if i := m.best(sp, keys, nil); i >= 0 {
		return plan{example: i, mods: mods, keys: keys}
	}
	if prev == nil || prev.example < 0 {
		return plan{example: -1, keys: keys}
	}
	merged := maps2(prev.keys, keys)
	inherited := prev.mods
	if hasMods {
		if mods.Limit > 0 {
			inherited.Limit = mods.Limit
		}
		if mods.Region != "" {
			inherited.Region = mods.Region
		}
	}
	if len(keys) > 0 {
		if i := m.best(sp, merged, keys); i >= 0 && (i != prev.example || hasMods) {
			return plan{example: i, mods: inherited, keys: merged}
		}
	}
	if hasMods {
		return plan{example: prev.example, mods: inherited, keys: prev.keys}
	}
	return plan{example: -1, keys: keys}
}

func maps2(a, b map[string]bool) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// best scores examples by the share of their keywords the question has
// (at least 60%); ties go to the example with more keywords, then to the
// one sharing more of prefer (the follow-up's own words).
func (m *matcher) best(sp *Space, keys, prefer map[string]bool) int {
	best, bestScore, bestSize, bestPref := -1, 0.0, 0, 0
	for i, ex := range sp.Examples {
		ek := m.keywords(ex.Question)
		for _, k := range ex.Keywords {
			ek[k] = true
		}
		if len(ek) == 0 {
			continue
		}
		hit, pref := 0, 0
		for k := range ek {
			if keys[k] {
				hit++
			}
			if prefer[k] {
				pref++
			}
		}
		score := float64(hit) / float64(len(ek))
		if score < 0.6 {
			continue
		}
		if score > bestScore || (score == bestScore && (pref > bestPref || (pref == bestPref && len(ek) > bestSize))) {
			best, bestScore, bestSize, bestPref = i, score, len(ek), pref
		}
	}
	return best
}

// render fills an example's SQL slots.
func (ex *Example) render(mods modifiers) string {
	var filters []string
	if mods.Region != "" && slices.Contains(ex.FilterColumns, "region") {
		filters = append(filters, "region = '"+mods.Region+"'")
	}
	where, and := "", ""
	if len(filters) > 0 {
		where = " WHERE " + strings.Join(filters, " AND ")
		and = " AND " + strings.Join(filters, " AND ")
	}
	limit := ex.DefaultLimit
	if mods.Limit > 0 {
		limit = mods.Limit
	}
	lim := ""
	if limit > 0 {
		lim = " LIMIT " + strconv.Itoa(limit)
	}
	r := strings.NewReplacer("{{where}}", where, "{{and}}", and, "{{limit}}", lim)
	return r.Replace(ex.SQL)
}

// title describes the plan for the query attachment.
func (ex *Example) title(mods modifiers) string {
	t := ex.Title
	if mods.Region != "" && slices.Contains(ex.FilterColumns, "region") {
		t += " (" + mods.Region + ")"
	}
	if mods.Limit > 0 {
		t += ", top " + strconv.Itoa(mods.Limit)
	}
	return t
}

// suggestions proposes follow-ups: a refinement and other examples.
func suggestions(sp *Space, current int) []string {
	var out []string
	if current >= 0 {
		out = append(out, "Now only the top 5")
		if slices.Contains(sp.Examples[current].FilterColumns, "region") {
			out = append(out, "Only the WEST region")
		}
	}
	for i, ex := range sp.Examples {
		if i != current && len(out) < 4 {
			out = append(out, ex.Question)
		}
	}
	return out
}
