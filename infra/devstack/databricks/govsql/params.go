package govsql

import (
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Param is a named parameter marker value, as the Statement Execution API
// sends it: no Type means STRING, a nil Value means NULL.
type Param struct {
	Name  string
	Type  string
	Value *string
}

// bindParams converts parameters with cast semantics and checks that every
// marker the statement uses has a value.
func (s *session) bindParams(params []Param) ([]any, error) {
	byName := map[string]Param{}
	for _, p := range params {
		byName[strings.ToLower(p.Name)] = p
	}
	for name := range s.usedParams {
		if _, ok := byName[name]; !ok {
			return nil, &Error{Class: "UNBOUND_SQL_PARAMETER", SQLState: "42P02", Message: fmt.Sprintf("Found the unbound parameter: %s. Please, fix `args` and provide a mapping of the parameter to either a SQL literal or collection constructor functions such as `map()`, `array()`, `struct()`.", name)}
		}
	}
	var args []any
	for name := range s.usedParams {
		p := byName[name]
		v, err := convertParam(p)
		if err != nil {
			return nil, err
		}
		args = append(args, sql.Named(p.Name, v))
	}
	return args, nil
}

func convertParam(p Param) (any, error) {
	if p.Value == nil {
		return nil, nil
	}
	v := *p.Value
	typ := strings.ToUpper(strings.TrimSpace(p.Type))
	bad := func(target string) error {
		return &Error{Class: "CAST_INVALID_INPUT", SQLState: "22018", Message: fmt.Sprintf("The value '%s' of the type \"STRING\" cannot be cast to \"%s\" because it is malformed. Correct the value as per the syntax, or change its target type.", v, target)}
	}
	switch {
	case typ == "" || typ == "STRING" || typ == "VOID":
		if typ == "VOID" {
			return nil, nil
		}
		return v, nil
	case typ == "INT" || typ == "INTEGER" || typ == "BIGINT" || typ == "LONG" || typ == "SMALLINT" || typ == "SHORT" || typ == "TINYINT" || typ == "BYTE":
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return nil, bad(typ)
		}
		return n, nil
	case typ == "DOUBLE" || typ == "FLOAT" || typ == "REAL" || reDecimal.MatchString(typ):
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return nil, bad(typ)
		}
		return f, nil
	case typ == "BOOLEAN":
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return nil, bad(typ)
		}
		if b {
			return int64(1), nil
		}
		return int64(0), nil
	case typ == "DATE":
		t, err := time.Parse(dateLayout, strings.TrimSpace(v))
		if err != nil {
			return nil, bad(typ)
		}
		return t.Format(dateLayout), nil
	case strings.HasPrefix(typ, "TIMESTAMP"):
		t, ok := parseTime(v)
		if !ok {
			return nil, bad(typ)
		}
		return t.Format(tsLayout), nil
	case typ == "BINARY":
		return []byte(v), nil
	}
	return nil, &Error{Class: "UNSUPPORTED_DATATYPE", SQLState: "0A000", Message: fmt.Sprintf("Unsupported parameter type %q.", p.Type)}
}
