package deploycheck

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// EventBridgeCron converts a timer trigger's NCRONTAB schedule ("{second}
// {minute} {hour} {day} {month} {day-of-week}", or five fields without
// seconds; UTC) into the EventBridge expression that fires at the same
// times: cron(minutes hours day-of-month month day-of-week year).
// EventBridge has no seconds (the second field must be 0), counts weekdays
// 1-7 from Sunday where NCRONTAB counts 0-6, wants "?" in one of the two
// day fields, and writes increments as start/step.
func EventBridgeCron(ncrontab string) (string, error) {
	f := strings.Fields(ncrontab)
	switch len(f) {
	case 5:
		f = append([]string{"0"}, f...)
	case 6:
	default:
		return "", fmt.Errorf("schedule %q: want 6 NCRONTAB fields", ncrontab)
	}
	if f[0] != "0" {
		return "", fmt.Errorf("schedule %q: EventBridge runs at most once a minute; the seconds field must be 0", ncrontab)
	}
	minute, hour := step(f[1], "0"), step(f[2], "0")
	dom, month := step(f[3], "1"), step(f[4], "1")
	dow, err := weekdays(f[5])
	if err != nil {
		return "", fmt.Errorf("schedule %q: %w", ncrontab, err)
	}
	switch {
	case dow == "*":
		dow = "?"
	case dom == "*":
		dom = "?"
	default:
		return "", fmt.Errorf("schedule %q: EventBridge cannot restrict both the day of month and the day of week", ncrontab)
	}
	return fmt.Sprintf("cron(%s %s %s %s %s *)", minute, hour, dom, month, dow), nil
}

// step rewrites "*/n" as "first/n".
func step(field, first string) string {
	if rest, ok := strings.CutPrefix(field, "*/"); ok {
		return first + "/" + rest
	}
	return field
}

var weekdayToken = regexp.MustCompile(`[0-7]`)

func weekdays(field string) (string, error) {
	if field == "*" {
		return "*", nil
	}
	if strings.Contains(field, "/") {
		return "", fmt.Errorf("day-of-week increments are not supported")
	}
	// Names (MON, tue) mean the same in both; numbers shift by one.
	return weekdayToken.ReplaceAllStringFunc(strings.ToUpper(field), func(d string) string {
		n, _ := strconv.Atoi(d)
		return strconv.Itoa(n%7 + 1)
	}), nil
}
