package databricks

import (
	"net/http"
	"slices"
	"time"
)

// Space is a Genie space: tables, a warehouse, and the example questions
// with their SQL that the emulator's question matcher works from.
type Space struct {
	ID, Title, Description string
	WarehouseID            string
	Tables                 []string
	Examples               []Example
	// CanRun lists grantees holding CAN RUN on the space.
	CanRun []string
}

// Example is an example question with its SQL. The SQL may contain slots
// the matcher fills from the question or the conversation: {{where}}
// (" WHERE <filters>" or nothing), {{and}} (" AND <filters>" or nothing)
// and {{limit}} (" LIMIT n" or nothing).
type Example struct {
	Question    string
	SQL         string
	Title       string
	Description string
	// Keywords adds canonical keywords (see the matcher's synonyms) to the
	// ones found in Question.
	Keywords []string
	// DefaultLimit applies when the question names no "top N".
	DefaultLimit int
	// FilterColumns are the columns follow-ups may filter on ("region").
	FilterColumns []string
}

// GenieOutcome forces how messages in a space end.
type GenieOutcome string

// Outcomes. A question containing "#fail", "#cancel" or "#expire" forces
// the same outcome for that message.
const (
	GenieNormal GenieOutcome = ""
	// GenieFail ends messages FAILED (a generation error).
	GenieFail GenieOutcome = "fail"
	// GenieCancel ends messages CANCELLED.
	GenieCancel GenieOutcome = "cancel"
	// GenieExpire completes messages, then turns them QUERY_RESULT_EXPIRED.
	GenieExpire GenieOutcome = "expire"
)

// GenieBehaviour tunes message progression in a space.
type GenieBehaviour struct {
	// StepDelay is the time spent in each intermediate status (0: the
	// configured default).
	StepDelay time.Duration
	Outcome   GenieOutcome
}

// SetGenieBehaviour sets the behaviour of one space ("" for every space).
func (e *Emulator) SetGenieBehaviour(spaceID string, b GenieBehaviour) {
	e.knobs.Lock()
	defer e.knobs.Unlock()
	e.genieBehaviour[spaceID] = b
}

// SetGenieRateLimit changes the workspace-wide question limit (n <= 0
// disables it).
func (e *Emulator) SetGenieRateLimit(n int, window time.Duration) {
	e.genieLimiter.set(n, window)
}

func (e *Emulator) behaviour(spaceID string) GenieBehaviour {
	e.knobs.Lock()
	defer e.knobs.Unlock()
	b, ok := e.genieBehaviour[spaceID]
	if !ok {
		b = e.genieBehaviour[""]
	}
	if b.StepDelay <= 0 {
		b.StepDelay = e.cfg.GenieStepDelay
	}
	return b
}

func (e *Emulator) space(id string) *Space {
	for i := range e.cfg.GenieSpaces {
		if e.cfg.GenieSpaces[i].ID == id {
			return &e.cfg.GenieSpaces[i]
		}
	}
	return nil
}

// spaceFor finds a space the caller may run.
func (e *Emulator) spaceFor(r *http.Request, p *Principal) (*Space, error) {
	id := r.PathValue("space_id")
	sp := e.space(id)
	if sp == nil {
		return nil, errNotFound("Genie space " + id + " does not exist.")
	}
	if !p.memberOf(sp.CanRun) {
		return nil, errPermissionDenied("User does not have CAN RUN permission on Genie space "+id+".", "GENIE_SPACE_ACCESS_DENIED")
	}
	return sp, nil
}

type spaceJSON struct {
	SpaceID     string `json:"space_id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	WarehouseID string `json:"warehouse_id,omitempty"`
}

func (e *Emulator) handleGetSpace(w http.ResponseWriter, r *http.Request, p *Principal) {
	sp, err := e.spaceFor(r, p)
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, spaceJSON{SpaceID: sp.ID, Title: sp.Title, Description: sp.Description, WarehouseID: sp.WarehouseID})
}

func (e *Emulator) handleListSpaces(w http.ResponseWriter, _ *http.Request, p *Principal) {
	out := struct {
		Spaces []spaceJSON `json:"spaces"`
	}{Spaces: []spaceJSON{}}
	for _, sp := range e.cfg.GenieSpaces {
		if p.memberOf(sp.CanRun) {
			out.Spaces = append(out.Spaces, spaceJSON{SpaceID: sp.ID, Title: sp.Title, Description: sp.Description, WarehouseID: sp.WarehouseID})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// Demo space ids.
const (
	SalesSpaceID   = "01f0a5e1e5000000000000000000a1e5"
	PartnerSpaceID = "01f0a5e1e5000000000000000000be11"
)

func demoSpaces() []Space {
	deals := []string{"region"}
	return []Space{{
		ID: SalesSpaceID, Title: "Sales",
		Description: "Deals, pipeline and revenue of the sales organisation (main.sales). Row filters limit sales reps to their region; margins are visible to finance and executives only.",
		WarehouseID: DevWarehouseID, Tables: []string{"main.sales.deals", "main.sales.deal_events"}, CanRun: slices.Clone(demoRoleGroups),
		Examples: []Example{
			{Question: "What is the revenue by region?", Title: "Revenue by region", Description: "Sum of won deal amounts per region.", FilterColumns: deals,
				SQL: "SELECT region, ROUND(SUM(amount), 2) AS revenue FROM main.sales.deals WHERE stage = 'Closed Won'{{and}} GROUP BY region ORDER BY revenue DESC{{limit}}"},
			{Question: "What are the top deals?", Title: "Top deals", Description: "The largest deals by amount.", DefaultLimit: 10, FilterColumns: deals,
				SQL: "SELECT deal_id, customer, region, rep, amount, stage, close_date FROM main.sales.deals{{where}} ORDER BY amount DESC{{limit}}"},
			{Question: "What is the average margin by region?", Title: "Average margin by region", Description: "Average margin of won deals per region (NULL where margins are masked for you).", FilterColumns: deals,
				SQL: "SELECT region, ROUND(AVG(margin_pct), 2) AS avg_margin_pct, COUNT(*) AS deals FROM main.sales.deals WHERE stage = 'Closed Won'{{and}} GROUP BY region ORDER BY region{{limit}}"},
			{Question: "Which deals closed this quarter?", Title: "Deals closed this quarter", Description: "Won deals with a close date in the current quarter.", FilterColumns: deals,
				SQL: "SELECT deal_id, customer, region, rep, amount, close_date FROM main.sales.deals WHERE stage = 'Closed Won' AND close_date >= date_trunc('QUARTER', current_date()){{and}} ORDER BY close_date DESC{{limit}}"},
			{Question: "What is the revenue by sales rep?", Title: "Revenue by rep", Description: "Sum of won deal amounts per sales rep.", FilterColumns: deals,
				SQL: "SELECT rep, ROUND(SUM(amount), 2) AS revenue FROM main.sales.deals WHERE stage = 'Closed Won'{{and}} GROUP BY rep ORDER BY revenue DESC{{limit}}"},
			{Question: "What is the monthly revenue?", Title: "Monthly revenue", Description: "Won deal amounts per calendar month.", FilterColumns: deals,
				SQL: "SELECT date_trunc('MONTH', close_date) AS month, ROUND(SUM(amount), 2) AS revenue FROM main.sales.deals WHERE stage = 'Closed Won'{{and}} GROUP BY 1 ORDER BY 1{{limit}}"},
			{Question: "What does the pipeline look like by stage?", Title: "Pipeline by stage", Description: "Number and amount of deals per stage.", FilterColumns: deals,
				SQL: "SELECT stage, COUNT(*) AS deals, ROUND(SUM(amount), 2) AS amount FROM main.sales.deals{{where}} GROUP BY stage ORDER BY amount DESC{{limit}}"},
			{Question: "How many deals are there?", Title: "Number of deals", Description: "Count of deals you can see.", FilterColumns: deals,
				SQL: "SELECT COUNT(*) AS deals FROM main.sales.deals{{where}}"},
			{Question: "Who are the top customers?", Title: "Top customers", Description: "Customers by won revenue.", DefaultLimit: 10, FilterColumns: deals,
				SQL: "SELECT customer, ROUND(SUM(amount), 2) AS revenue FROM main.sales.deals WHERE stage = 'Closed Won'{{and}} GROUP BY customer ORDER BY revenue DESC{{limit}}"},
			{Question: "Show the recent deal activity", Title: "Recent deal activity", Description: "The latest deal events.", DefaultLimit: 20,
				SQL: "SELECT event_time, deal_id, event_type, actor, detail FROM main.sales.deal_events ORDER BY event_time DESC{{limit}}"},
		},
	}, {
		ID: PartnerSpaceID, Title: "Partner pipeline",
		Description: "The pipeline shared with partners (main.sales.partner_pipeline).",
		WarehouseID: DevWarehouseID, Tables: []string{"main.sales.partner_pipeline"}, CanRun: []string{"partner-analysts", "admins"},
		Examples: []Example{
			{Question: "What does the partner pipeline look like by stage?", Title: "Partner pipeline by stage", Description: "Shared deals per stage.",
				SQL: "SELECT stage, COUNT(*) AS deals, ROUND(SUM(amount), 2) AS amount FROM main.sales.partner_pipeline GROUP BY stage ORDER BY amount DESC{{limit}}"},
			{Question: "What are the top partner deals?", Title: "Top partner deals", Description: "The largest shared deals.", DefaultLimit: 10,
				SQL: "SELECT deal_id, customer, product, amount, stage, close_date FROM main.sales.partner_pipeline ORDER BY amount DESC{{limit}}"},
		},
	}}
}
