package databricks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/behalf-dev/behalf/infra/devstack/databricks/govsql"
)

// Statement states of the Statement Execution API.
const (
	StatePending   = "PENDING"
	StateRunning   = "RUNNING"
	StateSucceeded = "SUCCEEDED"
	StateFailed    = "FAILED"
	StateCanceled  = "CANCELED"
	StateClosed    = "CLOSED"
)

// statement is one submitted SQL statement and its lifecycle.
type statement struct {
	id        string
	owner     *Principal
	warehouse string
	done      chan struct{}
	cancel    context.CancelFunc

	mu       sync.Mutex
	state    string
	errCode  string
	errMsg   string
	sqlState string
	result   *govsql.Result
}

func (st *statement) snapshot() (state, code, msg, sqlState string, res *govsql.Result) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.state, st.errCode, st.errMsg, st.sqlState, st.result
}

func (st *statement) set(state string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !terminal(st.state) {
		st.state = state
	}
}

func (st *statement) finish(state, code, msg, sqlState string, res *govsql.Result) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if terminal(st.state) {
		return
	}
	st.state, st.errCode, st.errMsg, st.sqlState, st.result = state, code, msg, sqlState, res
}

func terminal(state string) bool {
	return state == StateSucceeded || state == StateFailed || state == StateCanceled || state == StateClosed
}

type statementStore struct {
	mu   sync.Mutex
	byID map[string]*statement
}

func (s *statementStore) get(id string) *statement {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byID[id]
}

func (s *statementStore) put(st *statement) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byID[st.id] = st
}

func newStatementID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// StatementDelays is the simulated time a statement spends waiting for the
// warehouse (PENDING) and running (RUNNING) before its SQL executes.
type StatementDelays struct {
	Pending, Running time.Duration
}

// SetStatementDelays changes the simulated execution time of new statements.
func (e *Emulator) SetStatementDelays(d StatementDelays) {
	e.knobs.Lock()
	defer e.knobs.Unlock()
	e.stmtDelays = d
}

// startStatement submits SQL as p on a warehouse; it runs in the background
// and can be canceled until it finishes.
func (e *Emulator) startStatement(p *Principal, warehouse string, req govsql.Request) *statement {
	ctx, cancel := context.WithCancel(e.baseCtx)
	st := &statement{id: newStatementID(), owner: p, warehouse: warehouse, state: StatePending, done: make(chan struct{}), cancel: cancel}
	e.statements.put(st)
	e.knobs.Lock()
	delays := e.stmtDelays
	e.knobs.Unlock()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer close(st.done)
		defer cancel()
		e.runStatement(ctx, st, req, delays)
	}()
	return st
}

func (e *Emulator) runStatement(ctx context.Context, st *statement, req govsql.Request, delays StatementDelays) {
	canceled := func() { st.finish(StateCanceled, "CANCELLED", "The statement was canceled.", "", nil) }
	if !sleepCtx(ctx, delays.Pending) {
		canceled()
		return
	}
	st.set(StateRunning)
	if !sleepCtx(ctx, delays.Running) {
		canceled()
		return
	}
	e.counters.add(func(c *Counters) {
		c.StatementsTotal++
		c.StatementsByPrincipal[st.owner.UserName]++
	})
	res, err := e.engine.Execute(ctx, st.owner.sql(), req)
	var ge *govsql.Error
	switch {
	case ctx.Err() != nil:
		canceled()
	case errors.As(err, &ge):
		st.finish(StateFailed, "BAD_REQUEST", ge.Error(), ge.SQLState, nil)
	case err != nil:
		e.log.Error("statement failed inside the emulator", "statement_id", st.id, "err", err)
		st.finish(StateFailed, "INTERNAL_ERROR", "The workspace emulator failed to run the statement.", "XX000", nil)
	default:
		st.finish(StateSucceeded, "", "", "", res)
	}
}

// waitStatement waits up to d for st to finish.
func waitStatement(ctx context.Context, st *statement, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-st.done:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

// closeStatement drops a statement's result (state CLOSED), as Databricks
// does when results expire.
func (e *Emulator) closeStatement(id string) {
	st := e.statements.get(id)
	if st == nil {
		return
	}
	st.cancel()
	<-st.done
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.state == StateSucceeded {
		st.state, st.result = StateClosed, nil
	}
}
