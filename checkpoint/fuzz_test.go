package checkpoint

import (
	"bytes"
	"testing"
)

func FuzzParseText(f *testing.F) {
	f.Add(specText)
	f.Add(specText + "ext\n")
	f.Add("o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")
	f.Fuzz(func(t *testing.T, text string) {
		c, err := ParseText(text)
		if err == nil && c.Text() != text {
			t.Fatalf("round trip changed %q to %q", text, c.Text())
		}
	})
}

func FuzzOpen(f *testing.F) {
	s, v := newLog(f, "example.org/log")
	msg, _ := Sign(Checkpoint{Origin: "example.org/log", Size: 3, Hash: Hash{1}}, s)
	f.Add(msg)
	f.Fuzz(func(t *testing.T, msg []byte) {
		c, err := Open(msg, v)
		if err == nil && !bytes.Equal(c.Bytes(), msg) {
			t.Fatalf("opened checkpoint re-marshals differently")
		}
	})
}

func FuzzParseProof(f *testing.F) {
	s, _ := newLog(f, "o")
	cp, _ := Sign(Checkpoint{Origin: "o", Size: 2, Hash: Hash{7}}, s)
	f.Add((&Proof{Index: 1, Inclusion: []Hash{{1}}, Checkpoint: cp}).Marshal())
	f.Add((&Proof{Extra: []byte("x"), Checkpoint: cp}).Marshal())
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseProof(data)
		if err == nil && !bytes.Equal(p.Marshal(), data) {
			t.Fatalf("round trip changed the proof")
		}
	})
}

// FuzzParseConsistencyProof: consistency proofs come from the log and its
// mirrors. One that parses marshals back to the same bytes.
func FuzzParseConsistencyProof(f *testing.F) {
	f.Add(MarshalConsistencyProof([]Hash{EmptyRoot, {1}}))
	f.Add([]byte(""))
	f.Add([]byte("AAAA\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseConsistencyProof(data)
		if err != nil {
			return
		}
		if got := MarshalConsistencyProof(p); !bytes.Equal(got, data) {
			t.Fatalf("round trip: %q, want %q", got, data)
		}
	})
}
