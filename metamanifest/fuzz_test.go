package metamanifest

import (
	"testing"
	"time"

	"treelog/manifest"
)

func FuzzParse(f *testing.F) {
	s, _ := key(f, "publisher.example/k")
	m := &MetaManifest{Origin: "example.org/t", Timestamp: time.Unix(1_800_000_000, 0), ManifestSize: 10,
		ManifestHashes: manifest.HashBytes([]byte("x"), Hashes), Commit: "abc"}
	msg, _ := Sign(m, s)
	f.Add(msg)
	f.Add([]byte(m.Text()))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, _, err := Parse(data)
		if err == nil {
			if _, err := ParseText(m.Text()); err != nil {
				t.Fatalf("re-marshalled MetaManifest does not parse: %v", err)
			}
		}
		if m, err := ParseText(string(data)); err == nil && m.Text() != string(data) {
			t.Fatalf("round trip changed %q", data)
		}
	})
}
