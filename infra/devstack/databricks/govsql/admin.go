package govsql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Insert loads rows into a table, bypassing governance; it is for seeding.
func (e *Engine) Insert(ctx context.Context, table string, columns []string, rows [][]any) error {
	t, ok := e.Table(table)
	if !ok || t.IsView() {
		return fmt.Errorf("govsql: insert: no table %s", table)
	}
	q := make([]string, len(columns))
	marks := make([]string, len(columns))
	for i, c := range columns {
		q[i] = quoteIdent(strings.ToLower(c))
		marks[i] = "?"
	}
	stmt := fmt.Sprintf("INSERT INTO main.%s (%s) VALUES (%s)", quoteIdent(t.raw), strings.Join(q, ", "), strings.Join(marks, ", "))
	return e.withConn(ctx, func(c *sql.Conn, _ *policy) error {
		tx, err := c.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("govsql: insert into %s: %w", table, err)
		}
		defer tx.Rollback() //nolint:errcheck // no-op after Commit
		ps, err := tx.PrepareContext(ctx, stmt)
		if err != nil {
			return fmt.Errorf("govsql: insert into %s: %w", table, err)
		}
		defer ps.Close()
		for _, r := range rows {
			if _, err := ps.ExecContext(ctx, r...); err != nil {
				return fmt.Errorf("govsql: insert into %s: %w", table, err)
			}
		}
		return tx.Commit()
	})
}

// AdminPrincipal runs statements with governance bypassed (no grants,
// filters or masks): for seeding and for test assertions only.
func AdminPrincipal() Principal { return Principal{Name: "emulator-admin", Admin: true} }
