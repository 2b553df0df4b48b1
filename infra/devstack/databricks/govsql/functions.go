package govsql

import (
	"database/sql/driver"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"
)

// Spark SQL date functions the demo questions use, on top of SQLite's own.
// Dates are 'YYYY-MM-DD' text and timestamps 'YYYY-MM-DD HH:MM:SS' text, so
// comparisons between them and date columns work lexically.

const (
	dateLayout = "2006-01-02"
	tsLayout   = "2006-01-02 15:04:05"
)

func registerFunctions(d *sqlite.Driver) error {
	fns := []struct {
		name string
		n    int32
		fn   func(args []driver.Value) (driver.Value, error)
	}{
		{"date_trunc", 2, fnDateTrunc},
		{"trunc", 2, func(a []driver.Value) (driver.Value, error) { return fnDateTrunc([]driver.Value{a[1], a[0]}) }},
		{"year", 1, datePart(func(t time.Time) int64 { return int64(t.Year()) })},
		{"month", 1, datePart(func(t time.Time) int64 { return int64(t.Month()) })},
		{"day", 1, datePart(func(t time.Time) int64 { return int64(t.Day()) })},
		{"dayofmonth", 1, datePart(func(t time.Time) int64 { return int64(t.Day()) })},
		{"quarter", 1, datePart(func(t time.Time) int64 { return int64((t.Month()-1)/3 + 1) })},
		{"to_date", 1, func(a []driver.Value) (driver.Value, error) {
			return mapTime(a[0], func(t time.Time) any { return t.Format(dateLayout) })
		}},
		{"to_timestamp", 1, func(a []driver.Value) (driver.Value, error) {
			return mapTime(a[0], func(t time.Time) any { return t.Format(tsLayout) })
		}},
		{"date_add", 2, fnDateAdd(1)},
		{"date_sub", 2, fnDateAdd(-1)},
		{"add_months", 2, fnAddMonths},
		{"datediff", 2, fnDateDiff},
		{"nvl", 2, func(a []driver.Value) (driver.Value, error) {
			if a[0] != nil {
				return a[0], nil
			}
			return a[1], nil
		}},
	}
	for _, f := range fns {
		fn := f.fn
		if err := d.RegisterDeterministicScalarFunction(f.name, f.n, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			return fn(args)
		}); err != nil {
			return fmt.Errorf("govsql: register %s: %w", f.name, err)
		}
	}
	return nil
}

// parseTime reads the date/time forms stored by the engine and common
// ISO spellings.
func parseTime(v driver.Value) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x.UTC(), true
	case []byte:
		return parseTime(string(x))
	case string:
		s := strings.TrimSpace(x)
		for _, l := range []string{tsLayout, dateLayout, time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
			if t, err := time.Parse(l, s); err == nil {
				return t.UTC(), true
			}
		}
	}
	return time.Time{}, false
}

func mapTime(v driver.Value, fn func(time.Time) any) (driver.Value, error) {
	if v == nil {
		return nil, nil
	}
	t, ok := parseTime(v)
	if !ok {
		return nil, nil // Spark returns NULL for unparseable input (non-ANSI)
	}
	return fn(t), nil
}

func datePart(fn func(time.Time) int64) func([]driver.Value) (driver.Value, error) {
	return func(a []driver.Value) (driver.Value, error) {
		return mapTime(a[0], func(t time.Time) any { return fn(t) })
	}
}

func fnDateTrunc(a []driver.Value) (driver.Value, error) {
	unit, _ := a[0].(string)
	return mapTime(a[1], func(t time.Time) any {
		switch strings.ToUpper(unit) {
		case "YEAR", "YYYY", "YY":
			return time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC).Format(dateLayout)
		case "QUARTER":
			return time.Date(t.Year(), (t.Month()-1)/3*3+1, 1, 0, 0, 0, 0, time.UTC).Format(dateLayout)
		case "MONTH", "MM", "MON":
			return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).Format(dateLayout)
		case "WEEK":
			d := t.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7))
			return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC).Format(dateLayout)
		case "DAY", "DD":
			return t.Format(dateLayout)
		case "HOUR":
			return t.Truncate(time.Hour).Format(tsLayout)
		case "MINUTE":
			return t.Truncate(time.Minute).Format(tsLayout)
		}
		return nil
	})
}

func toInt(v driver.Value) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		return int64(x), true
	case string:
		var n int64
		_, err := fmt.Sscan(x, &n)
		return n, err == nil
	}
	return 0, false
}

func fnDateAdd(sign int) func([]driver.Value) (driver.Value, error) {
	return func(a []driver.Value) (driver.Value, error) {
		n, ok := toInt(a[1])
		if !ok {
			return nil, nil
		}
		return mapTime(a[0], func(t time.Time) any { return t.AddDate(0, 0, sign*int(n)).Format(dateLayout) })
	}
}

func fnAddMonths(a []driver.Value) (driver.Value, error) {
	n, ok := toInt(a[1])
	if !ok {
		return nil, nil
	}
	return mapTime(a[0], func(t time.Time) any { return t.AddDate(0, int(n), 0).Format(dateLayout) })
}

func fnDateDiff(a []driver.Value) (driver.Value, error) {
	end, ok1 := parseTime(a[0])
	start, ok2 := parseTime(a[1])
	if a[0] == nil || a[1] == nil || !ok1 || !ok2 {
		return nil, nil
	}
	day := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
	return int64(day(end).Sub(day(start)).Hours() / 24), nil
}
