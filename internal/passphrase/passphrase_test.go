package passphrase

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestFromFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pass")
	os.WriteFile(p, []byte("first one \r\n\nsecond\n"), 0o600)
	got, err := FromFile(p)
	// Spaces are part of a passphrase; line ends and empty lines are not.
	if err != nil || !reflect.DeepEqual(got, []string{"first one ", "second"}) {
		t.Fatalf("%q %v", got, err)
	}
	for _, bad := range []string{"", "\n\n", strings.Repeat("x", MaxLen+1)} {
		if _, err := Parse([]byte(bad), "f"); err == nil {
			t.Errorf("%.20q accepted", bad)
		}
	}
	if _, err := FromFile(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("a missing file was accepted")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("a passphrase\n"))
	f.Add([]byte("one\r\ntwo\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := Parse(b, "f")
		if err != nil {
			return
		}
		if len(ps) == 0 {
			t.Fatal("no passphrase and no error")
		}
		for _, p := range ps {
			if p == "" || len(p) > MaxLen || strings.Contains(p, "\n") {
				t.Fatalf("passphrase %q", p)
			}
		}
	})
}
