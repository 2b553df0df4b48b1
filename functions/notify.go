package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/behalf-dev/behalf/shared/approval"
	"github.com/behalf-dev/behalf/shared/teams"
)

// teamsNotifier tells the approvers' channel about operations: a card when
// one is proposed, and a follow-up card for each decision and outcome.
type teamsNotifier struct {
	n   *teams.Notifier
	log *slog.Logger
	// wg tracks follow-up posts, which run in the background so that a
	// slow webhook never holds an operation's session lock.
	wg sync.WaitGroup
}

// proposeTimeout bounds the card post inside sql-propose: the proposer
// waits for it, and a failure is only reported, never fatal.
const proposeTimeout = 8 * time.Second

func (t *teamsNotifier) Proposed(ctx context.Context, op *approval.Operation, reviewURL string) error {
	ctx, cancel := context.WithTimeout(ctx, proposeTimeout)
	defer cancel()
	return t.n.Post(ctx, teams.ProposalCard(teams.Proposal{
		OpID: op.ID, Proposer: teams.Person{Name: op.Proposer.Name, UPN: op.Proposer.UPN}, Statement: op.Statement,
		Class: op.Class, Risk: op.Risk, Policy: string(op.Policy), Tables: op.Tables, Warehouse: op.WarehouseID,
		Catalog: op.Catalog, Schema: op.Schema, ExpiresAt: op.ExpiresAt, ReviewURL: reviewURL,
	}))
}

// update posts a follow-up card in the background.
func (t *teamsNotifier) update(op *approval.Operation, kind teams.UpdateKind, by approval.Person, reason string, rows *int64, reviewURL string) {
	card := teams.UpdateCard(teams.Update{
		Kind: kind, OpID: op.ID, Statement: op.Statement, Proposer: teams.Person{Name: op.Proposer.Name, UPN: op.Proposer.UPN},
		By: teams.Person{Name: by.Name, UPN: by.UPN}, Reason: reason, RowsAffected: rows, At: time.Now().UTC(), ReviewURL: reviewURL,
	})
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := t.n.Post(ctx, card); err != nil {
			t.log.Warn("teams follow-up card not posted", "op_id", op.ID, "kind", string(kind), "err", err)
		}
	}()
}

// close waits for follow-up posts in flight.
func (t *teamsNotifier) close(ctx context.Context) error {
	done := make(chan struct{})
	go func() { t.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// updateKind is the follow-up card for a state, if any.
func updateKind(s approval.Status) (teams.UpdateKind, bool) {
	k, ok := map[approval.Status]teams.UpdateKind{
		approval.StatusApproved: teams.UpdateApproved, approval.StatusRejected: teams.UpdateRejected,
		approval.StatusCancelled: teams.UpdateCancelled, approval.StatusExecuted: teams.UpdateExecuted,
		approval.StatusFailed: teams.UpdateFailed, approval.StatusUnknown: teams.UpdateUnknown, approval.StatusExpired: teams.UpdateExpired,
	}[s]
	return k, ok
}
