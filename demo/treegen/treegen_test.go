package treegen

import (
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func digest(t *testing.T, dir string) [32]byte {
	h := sha256.New()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, p)
		h.Write([]byte(rel + "\n"))
		if d.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			h.Write(b)
		}
		return nil
	})
	var s [32]byte
	copy(s[:], h.Sum(nil))
	return s
}

func TestDeterministic(t *testing.T) {
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	sa, err := Generate(a, Options{Seed: 3, Packages: 20})
	if err != nil {
		t.Fatal(err)
	}
	Generate(b, Options{Seed: 3, Packages: 20})
	Generate(c, Options{Seed: 4, Packages: 20})
	if digest(t, a) != digest(t, b) {
		t.Error("the same seed wrote different trees")
	}
	if digest(t, a) == digest(t, c) {
		t.Error("different seeds wrote the same tree")
	}
	if sa.Files < 100 || sa.Bytes == 0 {
		t.Errorf("stats %+v", sa)
	}
	// Gentoo shape: ebuilds, thin Manifests with DIST, md5-cache, eclasses.
	for _, glob := range []string{"*/*/*.ebuild", "*/*/Manifest", "metadata/md5-cache/*/*", "eclass/*.eclass", "profiles/repo_name"} {
		if m, _ := filepath.Glob(filepath.Join(a, glob)); len(m) == 0 {
			t.Errorf("no %s", glob)
		}
	}
	thin, _ := filepath.Glob(filepath.Join(a, "*/*/Manifest"))
	if b, _ := os.ReadFile(thin[0]); !strings.HasPrefix(string(b), "DIST ") {
		t.Errorf("thin Manifest: %q", b)
	}
	changed, err := Evolve(a, 1, 3)
	if err != nil || len(changed) != 4 {
		t.Fatalf("Evolve: %v %v", changed, err)
	}
	if digest(t, a) == digest(t, b) {
		t.Error("Evolve changed nothing")
	}
}
