package govsql

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var reDecimal = regexp.MustCompile(`^(?:DECIMAL|DEC|NUMERIC)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?$`)

// normalizeType validates a Databricks column type and returns its
// canonical spelling.
func normalizeType(t string) (string, error) {
	u := strings.ToUpper(strings.Join(strings.Fields(t), " "))
	switch u {
	case "STRING", "TEXT":
		return "STRING", nil
	case "INT", "INTEGER":
		return "INT", nil
	case "BIGINT", "LONG":
		return "BIGINT", nil
	case "SMALLINT", "SHORT":
		return "SMALLINT", nil
	case "TINYINT", "BYTE":
		return "TINYINT", nil
	case "DOUBLE", "DOUBLE PRECISION":
		return "DOUBLE", nil
	case "FLOAT", "REAL":
		return "FLOAT", nil
	case "BOOLEAN", "BOOL":
		return "BOOLEAN", nil
	case "DATE":
		return "DATE", nil
	case "TIMESTAMP", "TIMESTAMP_LTZ", "TIMESTAMP_NTZ":
		return "TIMESTAMP", nil
	case "BINARY":
		return "BINARY", nil
	}
	if m := reDecimal.FindStringSubmatch(u); m != nil {
		p, s := 10, 0
		if m[1] != "" {
			p, _ = strconv.Atoi(m[1])
		}
		if m[2] != "" {
			s, _ = strconv.Atoi(m[2])
		}
		if p < 1 || p > 38 || s > p {
			return "", errUnsupported("DECIMAL(" + m[1] + "," + m[2] + ")")
		}
		return fmt.Sprintf("DECIMAL(%d,%d)", p, s), nil
	}
	if strings.HasPrefix(u, "VARCHAR") || strings.HasPrefix(u, "CHAR") {
		return "STRING", nil
	}
	for _, complexType := range []string{"ARRAY<", "MAP<", "STRUCT<"} {
		if strings.HasPrefix(u, complexType) {
			return u, nil
		}
	}
	return "", &Error{Class: "UNSUPPORTED_DATATYPE", SQLState: "0A000", Message: fmt.Sprintf("Unsupported data type %q.", t)}
}

// sqliteDeclType is the declared type of the physical column. It keeps the
// Databricks spelling where SQLite's affinity rules do the right thing, and
// uses TEXT for STRING (whose name would give NUMERIC affinity and turn
// '00123' into 123) and for complex types.
func sqliteDeclType(t string) string {
	switch {
	case t == "STRING", strings.ContainsAny(t, "<"):
		return "TEXT"
	case t == "BINARY":
		return "BLOB"
	}
	return t
}

// typeInfo describes a result column the way the manifest does.
type typeInfo struct {
	name      string // type_name
	text      string // type_text
	precision int
	scale     int
}

// typeFromDecl maps a declared SQLite column type back to Databricks.
func typeFromDecl(decl string) (typeInfo, bool) {
	u := strings.ToUpper(strings.TrimSpace(decl))
	switch u {
	case "":
		return typeInfo{}, false
	case "TEXT", "STRING":
		return typeInfo{name: "STRING", text: "STRING"}, true
	case "INT", "INTEGER":
		return typeInfo{name: "INT", text: "INT"}, true
	case "BIGINT":
		return typeInfo{name: "LONG", text: "BIGINT"}, true
	case "SMALLINT":
		return typeInfo{name: "SHORT", text: "SMALLINT"}, true
	case "TINYINT":
		return typeInfo{name: "BYTE", text: "TINYINT"}, true
	case "DOUBLE", "REAL":
		return typeInfo{name: "DOUBLE", text: "DOUBLE"}, true
	case "FLOAT":
		return typeInfo{name: "FLOAT", text: "FLOAT"}, true
	case "BOOLEAN":
		return typeInfo{name: "BOOLEAN", text: "BOOLEAN"}, true
	case "DATE":
		return typeInfo{name: "DATE", text: "DATE"}, true
	case "TIMESTAMP":
		return typeInfo{name: "TIMESTAMP", text: "TIMESTAMP"}, true
	case "BLOB", "BINARY":
		return typeInfo{name: "BINARY", text: "BINARY"}, true
	}
	if m := reDecimal.FindStringSubmatch(u); m != nil {
		p, _ := strconv.Atoi(m[1])
		s, _ := strconv.Atoi(m[2])
		return typeInfo{name: "DECIMAL", text: fmt.Sprintf("DECIMAL(%d,%d)", p, s), precision: p, scale: s}, true
	}
	for _, c := range []string{"ARRAY", "MAP", "STRUCT"} {
		if strings.HasPrefix(u, c+"<") {
			return typeInfo{name: c, text: u}, true
		}
	}
	return typeInfo{name: "STRING", text: "STRING"}, true
}

// typeFromValues infers a column type when SQLite has no declared type
// (expressions, aggregates): integers are BIGINT, reals DOUBLE, text STRING.
func typeFromValues(vals []any) typeInfo {
	sawInt, sawFloat, sawText := false, false, false
	for _, v := range vals {
		switch v.(type) {
		case int64:
			sawInt = true
		case float64:
			sawFloat = true
		case string, []byte, time.Time:
			sawText = true
		}
	}
	switch {
	case sawText:
		return textType(vals)
	case sawFloat:
		return typeInfo{name: "DOUBLE", text: "DOUBLE"}
	case sawInt:
		return typeInfo{name: "LONG", text: "BIGINT"}
	}
	return typeInfo{name: "NULL", text: "VOID"}
}

var (
	reDateValue = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	reTimeValue = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}`)
)

// textType recognises expression results that are dates or timestamps
// (MAX(close_date), date_trunc(...)), which SQLite returns as text.
func textType(vals []any) typeInfo {
	dates, times := 0, 0
	for _, v := range vals {
		switch x := v.(type) {
		case time.Time:
			times++
		case string:
			switch {
			case reDateValue.MatchString(x):
				dates++
			case reTimeValue.MatchString(x):
				times++
			default:
				return typeInfo{name: "STRING", text: "STRING"}
			}
		default:
			return typeInfo{name: "STRING", text: "STRING"}
		}
	}
	switch {
	case dates == len(vals):
		return typeInfo{name: "DATE", text: "DATE"}
	case dates == 0:
		return typeInfo{name: "TIMESTAMP", text: "TIMESTAMP"}
	}
	return typeInfo{name: "STRING", text: "STRING"}
}

// formatValue renders a value as JSON_ARRAY does: a string, or nil for NULL.
func formatValue(v any, t typeInfo) *string {
	var s string
	switch x := v.(type) {
	case nil:
		return nil
	case int64:
		switch t.name {
		case "BOOLEAN":
			s = strconv.FormatBool(x != 0)
		case "DECIMAL":
			s = strconv.FormatFloat(float64(x), 'f', t.scale, 64)
		default:
			s = strconv.FormatInt(x, 10)
		}
	case float64:
		switch {
		case t.name == "DECIMAL":
			s = strconv.FormatFloat(x, 'f', t.scale, 64)
		case t.name == "INT" || t.name == "LONG" || t.name == "SHORT" || t.name == "BYTE":
			s = strconv.FormatInt(int64(math.Round(x)), 10)
		case math.IsInf(x, 0) || math.IsNaN(x):
			s = strconv.FormatFloat(x, 'g', -1, 64)
		default:
			s = strconv.FormatFloat(x, 'f', -1, 64)
		}
	case bool:
		s = strconv.FormatBool(x)
	case time.Time:
		if t.name == "DATE" {
			s = x.UTC().Format(dateLayout)
		} else {
			s = x.UTC().Format("2006-01-02T15:04:05.000Z")
		}
	case []byte:
		s = string(x)
	case string:
		s = x
		if t.name == "TIMESTAMP" {
			if tm, ok := parseTime(x); ok {
				s = tm.Format("2006-01-02T15:04:05.000Z")
			}
		}
	default:
		s = fmt.Sprint(x)
	}
	return &s
}
