package resultset

import (
	"encoding/json"
	"reflect"
	"testing"
)

const sample = `{"statement_id":"s1","status":{"state":"SUCCEEDED"},
 "manifest":{"format":"JSON_ARRAY","schema":{"columns":[
   {"name":"region","type_name":"STRING","type_text":"STRING","position":0},
   {"name":"deals","type_name":"LONG","type_text":"BIGINT","position":1},
   {"name":"margin_pct","type_name":"DOUBLE","type_text":"DOUBLE","position":2},
   {"name":"amount","type_name":"DECIMAL","type_text":"DECIMAL(38,2)","position":3},
   {"name":"won","type_name":"BOOLEAN","type_text":"BOOLEAN","position":4}]},
   "total_row_count":3,"total_chunk_count":1,"truncated":false},
 "result":{"row_count":3,"data_array":[["WEST","12",null,"1200.50","true"],["EAST","7","0.25",null,"false"],[null,null,null,null,null]]}}`

func TestNullStaysNullAndTypesConvert(t *testing.T) {
	var st Statement
	if err := json.Unmarshal([]byte(sample), &st); err != nil {
		t.Fatal(err)
	}
	tab, err := FromStatement(&st, 50)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]any{
		{"WEST", int64(12), nil, json.Number("1200.50"), true},
		{"EAST", int64(7), 0.25, nil, false},
		{nil, nil, nil, nil, nil},
	}
	if !reflect.DeepEqual(tab.Rows, want) {
		t.Fatalf("rows %#v", tab.Rows)
	}
	if tab.RowCount != 3 || tab.TotalRows != 3 || tab.Truncated || tab.Columns[1].Type != "BIGINT" {
		t.Fatalf("table %+v", tab)
	}
	b, _ := json.Marshal(tab.Rows[0])
	if string(b) != `["WEST",12,null,1200.50,true]` {
		t.Fatalf("JSON %s", b)
	}
}

func TestRowCapSetsTruncatedHonestly(t *testing.T) {
	var st Statement
	_ = json.Unmarshal([]byte(sample), &st)
	tab, _ := FromStatement(&st, 2)
	if tab.RowCount != 2 || tab.TotalRows != 3 || !tab.Truncated {
		t.Fatalf("capped table %+v", tab)
	}
}

func TestBadCellIsAnError(t *testing.T) {
	var st Statement
	_ = json.Unmarshal([]byte(`{"manifest":{"schema":{"columns":[{"name":"n","type_name":"INT"}]},"total_row_count":1},"result":{"data_array":[["x"]]}}`), &st)
	if _, err := FromStatement(&st, 10); err == nil {
		t.Fatal("non-numeric INT accepted")
	}
}
