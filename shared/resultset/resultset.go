// Package resultset turns a Databricks statement result (manifest plus
// JSON_ARRAY data) into the table shape behalf answers with: named, typed
// columns and rows of typed values where SQL NULL stays null. The SDK's
// typed data_array ([][]string) turns NULL into "", so results are decoded
// from the raw JSON here.
package resultset

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Column is one result column.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Table is a bounded result.
type Table struct {
	Columns []Column `json:"columns"`
	Rows    [][]any  `json:"rows"`
	// RowCount is len(Rows); TotalRows is what the statement produced.
	RowCount  int   `json:"row_count"`
	TotalRows int64 `json:"total_rows"`
	Truncated bool  `json:"truncated"`
}

// Statement is the raw statement response (Statement Execution API, or
// Genie's statement_response).
type Statement struct {
	StatementID string `json:"statement_id"`
	Status      struct {
		State string `json:"state"`
		Error *struct {
			ErrorCode string `json:"error_code"`
			Message   string `json:"message"`
		} `json:"error,omitempty"`
	} `json:"status"`
	Manifest *struct {
		Format string `json:"format"`
		Schema struct {
			Columns []struct {
				Name     string `json:"name"`
				TypeName string `json:"type_name"`
				TypeText string `json:"type_text"`
				Position int    `json:"position"`
			} `json:"columns"`
		} `json:"schema"`
		TotalRowCount   int64 `json:"total_row_count"`
		TotalChunkCount int   `json:"total_chunk_count"`
		Truncated       bool  `json:"truncated"`
	} `json:"manifest,omitempty"`
	Result *struct {
		DataArray [][]*string `json:"data_array"`
		RowCount  int64       `json:"row_count"`
	} `json:"result,omitempty"`
}

// FromStatement builds a table with at most maxRows rows. truncated is set
// when rows were dropped here or by Databricks.
func FromStatement(st *Statement, maxRows int) (*Table, error) {
	t := &Table{Columns: []Column{}, Rows: [][]any{}}
	if st.Manifest == nil {
		return t, nil
	}
	types := make([]string, len(st.Manifest.Schema.Columns))
	for i, c := range st.Manifest.Schema.Columns {
		typ := c.TypeText
		if typ == "" {
			typ = c.TypeName
		}
		t.Columns = append(t.Columns, Column{Name: c.Name, Type: typ})
		types[i] = strings.ToUpper(c.TypeName)
	}
	t.TotalRows = st.Manifest.TotalRowCount
	t.Truncated = st.Manifest.Truncated || st.Manifest.TotalChunkCount > 1
	if st.Result != nil {
		for _, raw := range st.Result.DataArray {
			if len(t.Rows) >= maxRows {
				t.Truncated = true
				break
			}
			row := make([]any, len(raw))
			for i, cell := range raw {
				typ := ""
				if i < len(types) {
					typ = types[i]
				}
				v, err := convert(cell, typ)
				if err != nil {
					return nil, fmt.Errorf("resultset: row %d column %d: %w", len(t.Rows), i, err)
				}
				row[i] = v
			}
			t.Rows = append(t.Rows, row)
		}
	}
	if t.TotalRows < int64(len(t.Rows)) {
		t.TotalRows = int64(len(t.Rows))
	}
	if int64(len(t.Rows)) < t.TotalRows {
		t.Truncated = true
	}
	t.RowCount = len(t.Rows)
	return t, nil
}

// convert types a JSON_ARRAY cell. Decimals stay strings so no precision
// is lost; NULL is nil.
func convert(cell *string, typ string) (any, error) {
	if cell == nil {
		return nil, nil
	}
	s := *cell
	switch typ {
	case "BYTE", "SHORT", "INT", "INTEGER", "LONG", "BIGINT", "TINYINT", "SMALLINT":
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, err
		}
		return n, nil
	case "FLOAT", "DOUBLE", "REAL":
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, err
		}
		return f, nil
	case "BOOLEAN":
		return strconv.ParseBool(s)
	case "DECIMAL":
		return json.Number(s), nil
	}
	return s, nil
}
