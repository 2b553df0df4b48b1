package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	sqlapprove "github.com/behalf-dev/behalf/functions/sql-approve"
	sqlexpire "github.com/behalf-dev/behalf/functions/sql-expire"
	sqlpropose "github.com/behalf-dev/behalf/functions/sql-propose"
	"github.com/behalf-dev/behalf/shared/approval"
	"github.com/behalf-dev/behalf/shared/config"
	"github.com/behalf-dev/behalf/shared/queue"
	"github.com/behalf-dev/behalf/shared/sqlguard"
	"github.com/behalf-dev/behalf/shared/sqlops"
	"github.com/behalf-dev/behalf/shared/teams"
)

// sqlDeps is the propose → approve → run pipeline.
type sqlDeps struct {
	approvals *approval.Service
	sessions  *approval.SessionQueue
	sql       *sqlops.Service
	teams     *teamsNotifier
}

// addSQLFunctions wires sql-propose, sql-approve and the sql-expire sweep
// to the pending-operations queue, the classifier, Teams and the audit
// trail.
func (a *app) addSQLFunctions(cfg *config.Config, id *identityDeps, q queue.Queues, audit approval.Events, sqlAudit sqlpropose.Audit, glue *auditGlue) (*sqlDeps, error) {
	s := cfg.SQL
	policies := map[string]sqlguard.Policy{}
	for k, v := range s.Policies {
		p, err := sqlguard.ParsePolicy(v)
		if err != nil {
			return nil, fmt.Errorf("BEHALF_SQL_POLICIES: %w", err)
		}
		policies[k] = p
	}
	classifier, err := sqlguard.New(sqlguard.Config{MaxLength: s.MaxStatementBytes, Policies: policies, UnsafeFunctions: s.UnsafeFunctions})
	if err != nil {
		return nil, fmt.Errorf("sql classifier: %w", err)
	}
	d := &sqlDeps{sessions: &approval.SessionQueue{Queues: q, Name: cfg.Queue.PendingQueue}}
	if s.TeamsWebhookURL != "" {
		n, err := teams.NewNotifier(teams.NotifierConfig{WebhookURL: s.TeamsWebhookURL, HTTPClient: id.httpClientOrDefault(), Logger: slog.Default()})
		if err != nil {
			return nil, fmt.Errorf("BEHALF_TEAMS_WEBHOOK_URL: %w", err)
		}
		d.teams = &teamsNotifier{n: n, log: slog.Default()}
		a.closers = append(a.closers, d.teams.close)
	}
	reviewURL := func(opID string) string { return cfg.Identity.PublicURL + "/api/sql-approve/" + opID }
	d.approvals = &approval.Service{Queue: d.sessions, Events: &approvalEvents{audit: audit, teams: d.teams, reviewURL: reviewURL}}
	sc := sqlops.Config{Classifier: classifier, Approvals: d.approvals, DefaultWarehouse: s.WarehouseID, AllowedWarehouses: s.AllowedWarehouses,
		MaxRows: s.MaxRows, ReadDeadline: s.ReadDeadline, RunDeadline: s.RunDeadline, Window: s.ApprovalWindow, ReviewURL: reviewURL}
	if d.teams != nil {
		sc.Notifier = d.teams
	}
	if d.sql, err = sqlops.New(sc); err != nil {
		return nil, err
	}
	a.host.AddHTTP(glue.wrap(sqlpropose.Function(id, d.sql, sqlAudit), nil))
	// Decisions change state: they are refused unless the trail is healthy.
	a.host.AddHTTP(glue.wrap(sqlapprove.Function(sqlapprove.Config{Deps: id, Approvals: d.approvals, SQL: d.sql,
		ApproversGroup: s.ApproversGroup, ApproverRole: s.ApproverRole}), func(r *http.Request) bool { return r.Method == http.MethodPost }))
	a.host.AddTrigger(sqlexpire.Function(d.approvals, d.sessions, approval.SweepConfig{Wait: time.Second, Logger: slog.Default()}))
	return d, nil
}
