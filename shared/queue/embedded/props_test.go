package embedded

import (
	"math"
	"reflect"
	"testing"
)

func TestPropsRoundTrip(t *testing.T) {
	cases := []map[string]any{
		nil,
		{"s": "", "t": "text with \"quotes\" and ünïcode"},
		{"b": true, "f": false},
		{"max": int64(math.MaxInt64), "min": int64(math.MinInt64), "zero": int64(0)},
		{"pi": math.Pi, "tiny": 5e-324, "neg": -1.5},
	}
	for _, in := range cases {
		b, err := encodeProps(in)
		if err != nil {
			t.Fatalf("encode %v: %v", in, err)
		}
		out, err := decodeProps(b)
		if err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		if len(in) == 0 && out == nil {
			continue
		}
		if !reflect.DeepEqual(in, out) {
			t.Fatalf("round trip %#v -> %s -> %#v", in, b, out)
		}
	}
	if _, err := encodeProps(map[string]any{"x": []int{1}}); err == nil {
		t.Fatal("encoded a slice")
	}
}

func TestDecodePropsRejects(t *testing.T) {
	for _, in := range []string{`{`, `[]`, `{"a":{"t":"x","v":"1"}}`, `{"a":{"t":"i","v":"1.5"}}`,
		`{"a":{"t":"b","v":"maybe"}}`, `{"a":{"t":"f","v":"NaN"}}`, `{"a":{"t":"f","v":"+Inf"}}`} {
		if _, err := decodeProps([]byte(in)); err == nil {
			t.Errorf("decoded %s", in)
		}
	}
}

// FuzzDecodeProps: stored properties are parsed defensively (the file is
// shared with other processes): never a panic, and what decodes
// re-encodes to the same values.
func FuzzDecodeProps(f *testing.F) {
	f.Add([]byte(`{"a":{"t":"s","v":"x"},"b":{"t":"i","v":"-9"}}`))
	f.Add([]byte(`{"f":{"t":"f","v":"1e308"},"ok":{"t":"b","v":"true"}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodeProps(b)
		if err != nil {
			return
		}
		again, err := encodeProps(p)
		if err != nil {
			t.Fatalf("decoded %#v does not re-encode: %v", p, err)
		}
		p2, err := decodeProps(again)
		if err != nil || !reflect.DeepEqual(p, p2) {
			t.Fatalf("%#v -> %s -> %#v (%v)", p, again, p2, err)
		}
	})
}
