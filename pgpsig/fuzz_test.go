package pgpsig

import (
	"os"
	"reflect"
	"testing"
	"time"

	"treelog/manifest"
)

// FuzzSplit: the OpenPGP cleartext framing either refuses a Manifest or
// returns a signed text holding exactly the entries manifest.Parse reads
// from the whole file; checking a signature never panics.
func FuzzSplit(f *testing.F) {
	kr, err := LoadKeyring("testdata/seed-key.asc")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range []string{"testdata/Manifest.signed", "testdata/Manifest.dash-escaped"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("TIMESTAMP 2026-11-22T12:00:00Z\n"))
	f.Add([]byte("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n-----BEGIN PGP SIGNATURE-----\n\n-----END PGP SIGNATURE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		block, err := Split(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		whole, err := manifest.Parse(data)
		if err != nil || !whole.OpenPGPSigned {
			t.Fatalf("Split accepted what manifest.Parse refuses: %v", err)
		}
		signed, err := manifest.Parse(block.Plaintext)
		if err != nil || !reflect.DeepEqual(signed.Entries, whole.Entries) {
			t.Fatalf("the signed text and the Manifest differ: %v", err)
		}
		kr.Verify(data, time.Now())
	})
}

// TestSeed: the committed seed verifies (so the fuzzer starts from a
// Manifest that passes every check).
func TestSeed(t *testing.T) {
	kr, err := LoadKeyring("testdata/seed-key.asc")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile("testdata/Manifest.signed")
	if _, err := kr.Verify(data, time.Now()); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile("testdata/Manifest.dash-escaped")
	if _, err := kr.Verify(data, time.Now()); err == nil {
		t.Fatal("a dash-escaped entry line (not a Manifest entry once unescaped) was accepted")
	}
}
