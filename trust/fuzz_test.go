package trust

import (
	"strings"
	"testing"

	"treelog/checkpoint"
	"treelog/note"
)

func FuzzParsePublishers(f *testing.F) {
	lg := newKey(f, "k", note.TypeEd25519)
	f.Add([]byte("publisher o " + lg.vkey + "\n"))
	f.Add([]byte("# c\n\tpublisher o x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePublishers(data)
		if err != nil {
			return
		}
		for _, o := range p.Origins() {
			if len(p.Verifiers(o)) == 0 {
				t.Fatal("origin without verifiers")
			}
		}
	})
}

// FuzzParseText: a trust-root document from anyone (a submission to the
// log, a listing, a pinned file). A parsed document prints back to the
// same text.
func FuzzParseText(f *testing.F) {
	k := newKey(f, "root-1", note.TypeEd25519)
	p := newKey(f, "pub", note.TypeEd25519)
	f.Add("treelog-trustroot/v1\nname example.org/trust\nversion 1\nthreshold 1\nroot " + k.vkey + "\nscope example.org/*\n" +
		"delegate example.org/x " + p.vkey + " 2026-01-01T00:00:00Z 2027-01-01T00:00:00Z\n")
	f.Add("treelog-trustroot/v1\nname n\nversion 2\nprevious 0000000000000000000000000000000000000000000000000000000000000000\nthreshold 1\nroot " + k.vkey + "\nscope a/*\nrevoke " + p.vkey + " 2026-01-01T00:00:00Z\n")
	f.Fuzz(func(t *testing.T, text string) {
		r, err := ParseText(text)
		if err != nil {
			return
		}
		if r.Text() != text {
			t.Fatalf("parsed %q, prints as %q", text, r.Text())
		}
	})
}

// FuzzParse: a signed document; Open never accepts one below threshold.
func FuzzParse(f *testing.F) {
	k := newKey(f, "root-1", note.TypeEd25519)
	r := &Root{Name: "example.org/trust", Version: 1, Threshold: 1, Scope: []Pattern{"example.org/*"}}
	kk, _ := note.ParseVerifierKey(k.vkey)
	r.Keys = []note.VerifierKey{kk}
	signed, err := Sign(r, k.s)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signed)
	f.Add([]byte(r.Text()))
	f.Fuzz(func(t *testing.T, data []byte) {
		if s, err := Open(data); err == nil && countSigners(s.Note, s.Keys) < s.Threshold {
			t.Fatal("opened below threshold")
		}
		ParseDraft(data)
	})
}

// FuzzParsePattern: patterns from documents and the CLI.
func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{"a/*", "a/b", "*", "a/*/b", "a/"} {
		f.Add(s, "a/b")
	}
	f.Fuzz(func(t *testing.T, pattern, origin string) {
		p, err := ParsePattern(pattern)
		if err != nil {
			return
		}
		if p.Match(origin) && !p.Covers(Pattern(origin)) && !strings.Contains(origin, "*") {
			t.Fatalf("%s matches %q but does not cover it", p, origin)
		}
		if !p.Covers(p) || !p.Overlaps(p) {
			t.Fatalf("%s does not cover itself", p)
		}
	})
}

// FuzzParseVersions: the listing a log (or anyone in its place) serves.
func FuzzParseVersions(f *testing.F) {
	v := &Versions{Root: "example.org/trust", Checkpoint: []byte("log.example\n1\nAAAA\n\n— log.example AAAA\n"),
		Entries: []LoggedVersion{{Version: 1, Index: 0, Entry: []byte("x\n")}, {Version: 2, Index: 5, Proof: make([]checkpoint.Hash, 2), Entry: []byte("y\n\nz\n")}}, Next: 3}
	f.Add(v.Marshal())
	v.Next = 0
	f.Add(v.Marshal())
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ParseVersions(data)
		if err != nil {
			return
		}
		if got := v.Marshal(); string(got) != string(data) {
			t.Fatalf("parsed %q, marshals as %q", data, got)
		}
	})
}
