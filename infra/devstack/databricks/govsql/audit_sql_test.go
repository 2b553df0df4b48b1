package govsql

import (
	"context"
	"slices"
	"strconv"
	"testing"
)

// TestAuditStoreStatements runs the statement shapes shared/audit/dbxstore
// sends, as the audit writer service principal: CREATE TABLE IF NOT
// EXISTS with Delta clauses and quoted names, an all-or-nothing MERGE
// whose source is a UNION ALL of named parameters guarded by NOT EXISTS,
// and SELECTs whose filters are NULL-able parameters.
func TestAuditStoreStatements(t *testing.T) {
	e := newFixture(t)
	sp := Principal{Name: "writer-sp"}
	ex := func(sql string, params ...Param) *Result {
		t.Helper()
		r, err := e.Execute(context.Background(), sp, Request{SQL: sql, Params: params})
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return r
	}
	p := func(n, typ, v string) Param { return Param{Name: n, Type: typ, Value: &v} }
	null := func(n, typ string) Param { return Param{Name: n, Type: typ} }
	ddl := "CREATE TABLE IF NOT EXISTS `main`.`behalf`.`audit_events` (seq BIGINT NOT NULL, id STRING NOT NULL, event_time_ns BIGINT NOT NULL, " +
		"actor_upn STRING, status STRING NOT NULL, hash STRING NOT NULL) USING DELTA COMMENT 'audit trail' TBLPROPERTIES ('delta.appendOnly' = 'true')"
	ex(ddl)
	ex(ddl) // IF NOT EXISTS: a second run is a no-op
	merge := "MERGE INTO `main`.`behalf`.`audit_events` AS t USING (\n" +
		"  SELECT b.* FROM (\n" +
		"    SELECT CAST(:seq0 AS BIGINT) AS seq, :id0 AS id, CAST(:ns0 AS BIGINT) AS event_time_ns, :upn0 AS actor_upn, :status0 AS status, :hash0 AS hash\n" +
		"    UNION ALL\n" +
		"    SELECT CAST(:seq1 AS BIGINT) AS seq, :id1 AS id, CAST(:ns1 AS BIGINT) AS event_time_ns, :upn1 AS actor_upn, :status1 AS status, :hash1 AS hash\n" +
		"  ) AS b WHERE NOT EXISTS (SELECT 1 FROM `main`.`behalf`.`audit_events` AS x WHERE x.seq >= :first_seq OR x.id IN (:id0, :id1))\n" +
		") AS s ON t.id = s.id WHEN NOT MATCHED THEN INSERT *"
	batch := func(first int, ids ...string) []Param {
		ps := []Param{p("first_seq", "BIGINT", itoa(first))}
		for i, id := range ids {
			n := itoa(i)
			ps = append(ps, p("seq"+n, "BIGINT", itoa(first+i)), p("id"+n, "STRING", id), p("ns"+n, "BIGINT", itoa(100+first+i)),
				null("upn"+n, "STRING"), p("status"+n, "STRING", "success"), p("hash"+n, "STRING", "h"+id))
		}
		return ps
	}
	inserted := func(r *Result) string {
		i := slices.IndexFunc(r.Columns, func(c ResultColumn) bool { return c.Name == "num_inserted_rows" })
		if i < 0 {
			t.Fatalf("no num_inserted_rows in %+v", r.Columns)
		}
		return *r.Rows[0][i]
	}
	if n := inserted(ex(merge, batch(1, "a", "b")...)); n != "2" {
		t.Fatalf("first merge inserted %s", n)
	}
	if n := inserted(ex(merge, batch(1, "a", "b")...)); n != "0" {
		t.Fatalf("the same batch again inserted %s", n)
	}
	// A writer on a stale head (seq 2 is taken) inserts nothing at all,
	// not even the row whose seq is free.
	if n := inserted(ex(merge, batch(2, "c", "d")...)); n != "0" {
		t.Fatalf("stale-head merge inserted %s", n)
	}
	// One id already stored: nothing is inserted either.
	if n := inserted(ex(merge, batch(3, "a", "e")...)); n != "0" {
		t.Fatalf("merge with a stored id inserted %s", n)
	}
	if n := inserted(ex(merge, batch(3, "c", "d")...)); n != "2" {
		t.Fatalf("merge on the true head inserted %s", n)
	}
	r := ex("SELECT seq, hash FROM `main`.`behalf`.`audit_events` ORDER BY seq DESC LIMIT 1")
	if got := col(r, 0); !slices.Equal(got, []string{"4"}) {
		t.Fatalf("head %v", got)
	}
	q := "SELECT seq FROM `main`.`behalf`.`audit_events` WHERE (:actor IS NULL OR lower(actor_upn) = lower(:actor)) " +
		"AND (:status IS NULL OR status = :status) AND (:from_ns IS NULL OR event_time_ns >= :from_ns) AND (:before IS NULL OR seq < :before) ORDER BY seq DESC"
	r = ex(q, null("actor", "STRING"), p("status", "STRING", "success"), p("from_ns", "BIGINT", "102"), p("before", "BIGINT", "4"))
	if got := col(r, 0); !slices.Equal(got, []string{"3", "2"}) {
		t.Fatalf("filtered select %v", got)
	}
	r = ex("SELECT id FROM `main`.`behalf`.`audit_events` WHERE id IN (:i0, :i1, :i2) ORDER BY id", p("i0", "", "b"), p("i1", "", "zz"), p("i2", "", "d"))
	if got := col(r, 0); !slices.Equal(got, []string{"b", "d"}) {
		t.Fatalf("id IN %v", got)
	}
	r = ex("SELECT seq FROM `main`.`behalf`.`audit_events` WHERE seq >= :from AND seq < :to ORDER BY seq", p("from", "BIGINT", "2"), p("to", "BIGINT", "4"))
	if got := col(r, 0); !slices.Equal(got, []string{"2", "3"}) {
		t.Fatalf("range %v", got)
	}
	// People without grants on main.behalf cannot read or write it.
	if _, err := run(t, e, west, "SELECT * FROM main.behalf.audit_events"); !IsPermission(err) {
		t.Fatalf("west reads the audit table: %v", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
