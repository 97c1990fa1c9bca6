package trust

import (
	"testing"

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
