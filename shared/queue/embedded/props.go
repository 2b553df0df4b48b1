package embedded

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Application properties are stored as JSON with an explicit type per
// value, so an int64 comes back an int64 (JSON numbers alone would turn
// large ones into lossy floats) and a float64 a float64.
type typedValue struct {
	T string `json:"t"` // s, b, i, f
	V string `json:"v"`
}

func encodeProps(p map[string]any) ([]byte, error) {
	if len(p) == 0 {
		return nil, nil
	}
	out := make(map[string]typedValue, len(p))
	for k, v := range p {
		switch x := v.(type) {
		case string:
			out[k] = typedValue{"s", x}
		case bool:
			out[k] = typedValue{"b", strconv.FormatBool(x)}
		case int64:
			out[k] = typedValue{"i", strconv.FormatInt(x, 10)}
		case float64:
			out[k] = typedValue{"f", strconv.FormatFloat(x, 'g', -1, 64)}
		default:
			return nil, fmt.Errorf("property %q has type %T", k, v)
		}
	}
	return json.Marshal(out)
}

// decodeProps parses what encodeProps wrote; anything else is an error
// (the file is shared, so it is parsed defensively).
func decodeProps(b []byte) (map[string]any, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var in map[string]typedValue
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, fmt.Errorf("embedded: stored properties: %w", err)
	}
	if len(in) == 0 {
		return nil, nil
	}
	out := make(map[string]any, len(in))
	for k, tv := range in {
		switch tv.T {
		case "s":
			out[k] = tv.V
		case "b":
			v, err := strconv.ParseBool(tv.V)
			if err != nil {
				return nil, fmt.Errorf("embedded: stored property %q: %w", k, err)
			}
			out[k] = v
		case "i":
			v, err := strconv.ParseInt(tv.V, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("embedded: stored property %q: %w", k, err)
			}
			out[k] = v
		case "f":
			v, err := strconv.ParseFloat(tv.V, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("embedded: stored property %q: %q is not a finite number", k, tv.V)
			}
			out[k] = v
		default:
			return nil, fmt.Errorf("embedded: stored property %q has unknown type %q", k, tv.T)
		}
	}
	return out, nil
}
