package audit

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func chainOf(t *testing.T, n int) []Record {
	t.Helper()
	head := EmptyHead()
	var out []Record
	for i := range n {
		ev := examples()["genie_ask"]
		ev.ID = NewID()
		ev.Time = at.Add(time.Duration(i) * time.Second)
		r, err := Link(head, ev)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
		head = r.HeadAfter()
	}
	return out
}

func verifyAll(recs []Record) error {
	v := NewVerifier(EmptyHead())
	for _, r := range recs {
		if err := v.Add(r); err != nil {
			return err
		}
	}
	return nil
}

func TestVerifierNamesTheFirstBrokenLink(t *testing.T) {
	if err := verifyAll(chainOf(t, 6)); err != nil {
		t.Fatalf("clean chain: %v", err)
	}
	cases := map[string]struct {
		tamper func([]Record) []Record
		seq    int64
		kind   string
	}{
		"removed": {func(r []Record) []Record { return append(r[:2:2], r[3:]...) }, 3, BrokenGap},
		"altered": {func(r []Record) []Record {
			r[3].EventJSON = append([]byte(nil), r[3].EventJSON...)
			r[3].EventJSON[len(r[3].EventJSON)-2] = '9'
			return r
		}, 4, BrokenHash},
		"reordered": {func(r []Record) []Record { r[2], r[3] = r[3], r[2]; return r }, 3, BrokenGap},
		"inserted, re-hashed but not re-linked": {func(r []Record) []Record {
			forged, _ := Link(r[1].HeadAfter(), examples()["sql_approve"])
			out := append(append(append([]Record{}, r[:2]...), forged), r[2:]...)
			return out
		}, 3, BrokenOrder},
		"duplicate event re-chained": {func(r []Record) []Record {
			dup, _ := Link(r[len(r)-1].HeadAfter(), r[0].Event)
			return append(r, dup)
		}, 7, BrokenDuplicate},
		"relinked to the wrong record": {func(r []Record) []Record {
			bad := r[4]
			bad.PrevHash = r[2].Hash
			bad.Hash = ChainHash(bad.Seq, bad.PrevHash, bad.EventJSON)
			r[4] = bad
			return r
		}, 5, BrokenPrev},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := verifyAll(c.tamper(chainOf(t, 6)))
			var be *BrokenLinkError
			if !errors.As(err, &be) || !errors.Is(err, ErrBrokenChain) {
				t.Fatalf("not caught: %v", err)
			}
			if be.Seq != c.seq || be.Kind != c.kind {
				t.Fatalf("got seq %d %q, want seq %d %q: %v", be.Seq, be.Kind, c.seq, c.kind, err)
			}
		})
	}
}

func TestVerifierStartsAfterAHead(t *testing.T) {
	recs := chainOf(t, 5)
	v := NewVerifier(recs[1].HeadAfter())
	for _, r := range recs[2:] {
		if err := v.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if v.Head() != recs[4].HeadAfter() || v.Count() != 3 {
		t.Fatalf("head %+v count %d", v.Head(), v.Count())
	}
	if err := NewVerifier(recs[0].HeadAfter()).Add(recs[2]); err == nil {
		t.Fatal("a segment starting at the wrong head verified")
	}
}

func TestBrokenLinkErrorText(t *testing.T) {
	err := &BrokenLinkError{Seq: 7, EventID: "e", Kind: BrokenGap, Detail: "d", Where: "f line 3"}
	if got := err.Error(); got != "audit: broken chain at seq 7 (event e) in f line 3: missing: d" {
		t.Fatal(got)
	}
	_ = fmt.Sprint(err)
}
