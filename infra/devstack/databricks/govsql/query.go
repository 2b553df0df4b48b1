package govsql

import (
	"context"
	"database/sql"
	"sort"
	"strings"
)

// query runs a SELECT (or WITH ... SELECT, VALUES) through the person's views.
func (s *session) query(ctx context.Context, toks []token, req Request) (*Result, error) {
	out, err := s.rewrite(toks, namesUser)
	if err != nil {
		return nil, err
	}
	args, err := s.bindParams(req.Params)
	if err != nil {
		return nil, err
	}
	if err := s.buildViews(ctx); err != nil {
		return nil, err
	}
	s.pol.mode = modeUser
	rows, err := s.conn.QueryContext(ctx, render(out), args...)
	if err != nil {
		return nil, s.mapErr(ctx, err)
	}
	defer rows.Close()
	res, err := s.collect(ctx, rows, req)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// collect reads rows into JSON_ARRAY strings, applying the row and byte
// limits (which truncate) and the inline size limit (which fails).
func (s *session) collect(ctx context.Context, rows *sql.Rows, req Request) (*Result, error) {
	cts, err := rows.ColumnTypes()
	if err != nil {
		return nil, s.mapErr(ctx, err)
	}
	n := len(cts)
	types := make([]typeInfo, n)
	declared := make([]bool, n)
	for i, ct := range cts {
		types[i], declared[i] = typeFromDecl(ct.DatabaseTypeName())
		if !declared[i] {
			types[i], declared[i] = s.maskedColumnType(ct.Name())
		}
	}
	samples := make([][]any, n)
	res := &Result{}
	var size int64
	vals := make([]any, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if req.RowLimit > 0 && int64(len(res.Rows)) >= req.RowLimit {
			res.Truncated = true
			break
		}
		for i := range vals {
			vals[i] = nil
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, s.mapErr(ctx, err)
		}
		row := make([]*string, n)
		var rowSize int64
		for i, v := range vals {
			row[i] = formatValue(v, types[i])
			if row[i] != nil {
				rowSize += int64(len(*row[i])) + 3
			} else {
				rowSize += 5
			}
			if !declared[i] && len(samples[i]) < 64 && v != nil {
				samples[i] = append(samples[i], v)
			}
		}
		if req.ByteLimit > 0 && size+rowSize > req.ByteLimit {
			res.Truncated = true
			break
		}
		size += rowSize
		if size > s.e.cfg.MaxInlineBytes {
			return nil, &Error{Class: "INLINE_RESULT_TOO_LARGE", SQLState: "54000", Message: "The result exceeds the INLINE disposition limit of 25 MiB; use row_limit, byte_limit or EXTERNAL_LINKS."}
		}
		res.Rows = append(res.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return nil, s.mapErr(ctx, err)
	}
	for i, ct := range cts {
		ti := types[i]
		if !declared[i] {
			if ti = typeFromValues(samples[i]); ti.name == "NULL" {
				ti = s.typeOfNamedColumn(ct.Name())
			}
		}
		if !declared[i] && ti.name == "TIMESTAMP" {
			// Inferred timestamps were rendered as SQLite text; use the
			// API's ISO form.
			for _, row := range res.Rows {
				if row[i] != nil {
					if tm, ok := parseTime(*row[i]); ok {
						v := tm.Format("2006-01-02T15:04:05.000Z")
						row[i] = &v
					}
				}
			}
		}
		res.Columns = append(res.Columns, ResultColumn{Name: ct.Name(), TypeName: ti.name, TypeText: ti.text, Precision: ti.precision, Scale: ti.scale})
	}
	for name := range s.refs {
		res.Tables = append(res.Tables, name)
	}
	sort.Strings(res.Tables)
	return res, nil
}

// maskedColumnType: a masked column is an expression in the person's view,
// so SQLite forgets its declared type; take it from the catalog when the
// result column has the masked column's name.
func (s *session) maskedColumnType(name string) (typeInfo, bool) {
	for _, t := range s.tablesByPreference() {
		if _, masked := t.Masks[strings.ToLower(name)]; !masked {
			continue
		}
		if c, ok := t.column(name); ok {
			if c.Type == "STRING" {
				return typeInfo{name: "STRING", text: "STRING"}, true
			}
			return typeFromDecl(c.Type)
		}
	}
	return typeInfo{}, false
}

// tablesByPreference lists the tables the statement named, then all others.
func (s *session) tablesByPreference() []*Table {
	var out []*Table
	names := make([]string, 0, len(s.snap.tables))
	for k := range s.snap.tables {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if s.refs[k] != nil {
			out = append(out, s.refs[k])
		}
	}
	for _, k := range names {
		if s.refs[k] == nil {
			out = append(out, s.snap.tables[k])
		}
	}
	return out
}

// typeOfNamedColumn guesses the type of an all-NULL expression column (a
// masked column, typically) from a same-named column of a table the
// statement named; SQLite keeps no declared type for expressions.
func (s *session) typeOfNamedColumn(name string) typeInfo {
	for _, t := range s.tablesByPreference() {
		if c, ok := t.column(name); ok {
			if c.Type == "STRING" {
				return typeInfo{name: "STRING", text: "STRING"}
			}
			if ti, ok := typeFromDecl(c.Type); ok {
				return ti
			}
		}
	}
	return typeInfo{name: "STRING", text: "STRING"}
}
