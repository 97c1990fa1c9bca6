package tiles

import (
	"bytes"
	"testing"
)

// FuzzParsePath: request paths come from anyone. A path that parses is
// canonical: printing what was parsed gives it back.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"tile/0/000", "tile/1/x001/234.p/7", "tile/entries/x123/456", "tile/63/000.p/255", "tile/00/000", "tile/0/000.p/0", "tile/entries/1000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		r, err := ParsePath(p)
		if err != nil {
			return
		}
		if got := r.Path(); got != p {
			t.Fatalf("ParsePath(%q) = %+v, which prints as %q", p, r, got)
		}
	})
}

// FuzzParseEntryBundle: bundles come from log mirrors. One that parses
// marshals back to the same bytes, with the entries asked for.
func FuzzParseEntryBundle(f *testing.F) {
	f.Add(MarshalEntryBundle([][]byte{[]byte("a"), {}, bytes.Repeat([]byte("b"), 300)}), 3)
	f.Add([]byte{0, 5, 'a'}, 1)
	f.Add([]byte{}, 0)
	f.Fuzz(func(t *testing.T, data []byte, want int) {
		want = want & 0xff
		entries, err := ParseEntryBundle(data, want)
		if err != nil {
			return
		}
		if len(entries) != want {
			t.Fatalf("%d entries, want %d", len(entries), want)
		}
		if got := MarshalEntryBundle(entries); !bytes.Equal(got, data) {
			t.Fatalf("round trip: %x, want %x", got, data)
		}
	})
}
