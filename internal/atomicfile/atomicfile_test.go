package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFile(t *testing.T) {
	d := t.TempDir()
	p := filepath.Join(d, "state")
	if err := WriteFile(p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	fi, _ := os.Stat(p)
	if string(b) != "two" || fi.Mode().Perm() != 0o600 {
		t.Errorf("content %q mode %v", b, fi.Mode())
	}
	ents, _ := os.ReadDir(d)
	if len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
	// A failed write (missing directory) leaves nothing behind.
	if err := WriteFile(filepath.Join(d, "nope/x"), []byte("x"), 0o600); err == nil {
		t.Error("write into a missing directory succeeded")
	}
}
