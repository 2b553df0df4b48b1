package databricks

import (
	"context"
	"math/rand/v2"

	"github.com/behalf-dev/behalf/infra/devstack/databricks/govsql"
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d)) }

// QueryAsAdmin runs SQL with governance bypassed (no grants, filters or
// masks), for test assertions such as counting the WEST rows. It is not
// counted as a statement and not reachable over HTTP.
func (e *Emulator) QueryAsAdmin(ctx context.Context, sql string) (*govsql.Result, error) {
	return e.engine.Execute(ctx, govsql.AdminPrincipal(), govsql.Request{SQL: sql})
}

// QueryAs runs SQL directly as a workspace user or service principal (by
// user name), with governance applied, bypassing HTTP and authentication.
func (e *Emulator) QueryAs(ctx context.Context, userName, sql string) (*govsql.Result, error) {
	p := e.principals.byUserName(userName)
	if p == nil {
		return nil, errNotFound(userName + " is not a workspace user or service principal.")
	}
	return e.engine.Execute(ctx, p.sql(), govsql.Request{SQL: sql})
}

// Governance exposes the governed SQL engine so tests can add tables,
// grants, row filters and masks.
func (e *Emulator) Governance() *govsql.Engine { return e.engine }

// Principal looks up a workspace user or service principal by user name
// (UPN or application id).
func (e *Emulator) Principal(userName string) (Principal, bool) {
	p := e.principals.byUserName(userName)
	if p == nil {
		return Principal{}, false
	}
	return *p, true
}
