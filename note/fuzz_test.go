package note

import (
	"bytes"
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte(specNote))
	f.Add([]byte("a\n\nb\n\n— x AAAAAAAA\n"))
	f.Add([]byte("\n\n— x AAAAAAAA\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		n, err := Parse(msg)
		if err != nil {
			return
		}
		// A parsed note re-marshals to exactly its input.
		if got := n.Marshal(); !bytes.Equal(got, msg) {
			t.Fatalf("round trip changed the note:\n%q\n%q", msg, got)
		}
		v, _ := NewVerifier(specVKey)
		Open(msg, v)
	})
}

func FuzzParseVerifierKey(f *testing.F) {
	f.Add(specVKey)
	_, vk, _ := GenerateKey(nil, "w", TypeCosignatureV1)
	f.Add(vk)
	f.Add("PRIVATE+KEY+x+00000000+AA==")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseVerifierKey(s)
		if err == nil && k.String() != s {
			t.Fatalf("vkey %q re-encodes as %q", s, k.String())
		}
		NewSigner(s)
	})
}
