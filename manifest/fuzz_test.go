package manifest

import (
	"os"
	"testing"
)

func FuzzParse(f *testing.F) {
	golden, _ := os.ReadFile("testdata/all-tags.Manifest")
	f.Add(golden)
	f.Add([]byte("-----BEGIN PGP SIGNED MESSAGE-----\n\nIGNORE a\n-----BEGIN PGP SIGNATURE-----\n-----END PGP SIGNATURE-----\n"))
	f.Add([]byte("DATA a\\x20b 1 X y\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			return
		}
		// What parses re-marshals to a Manifest that parses to the same.
		out := m.Marshal()
		m2, err := Parse(out)
		if err != nil {
			t.Fatalf("Marshal output does not parse: %v\n%q", err, out)
		}
		if string(m2.Marshal()) != string(out) {
			t.Fatalf("Marshal is not stable:\n%q\n%q", out, m2.Marshal())
		}
	})
}

func FuzzDecodePath(f *testing.F) {
	for _, s := range []string{`a\x20b`, `\u00A0`, `\U0001F600`, "plain", `\x5C`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := DecodePath(s)
		if err != nil {
			return
		}
		if q, err := DecodePath(EncodePath(p)); err != nil || q != p {
			t.Fatalf("%q decodes to %q, which does not round trip: %q %v", s, p, q, err)
		}
	})
}
