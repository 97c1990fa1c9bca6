// The verification cache exists on Linux only (cacheSupported).

//go:build linux

package manifest

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"treelog/demo/mirror"
	"treelog/demo/treegen"
)

// testRacy is the racy window in these tests: a file changed less than
// this before a verification is not trusted by the cache it writes. Tests
// let their trees age twice as long before the first cached verification.
const testRacy = 50 * time.Millisecond

func withRacy(d time.Duration) Option { return func(c *config) { c.racy = d } }

func age() { time.Sleep(2 * testRacy) }

// cachedTree returns a generated Gentoo-shaped tree with its Manifests,
// verified once with a cache (which is written) and once more (which uses
// it for every file), a cache directory, and an ebuild in it.
func cachedTree(t *testing.T) (tree, cache, ebuild string) {
	t.Helper()
	tree = filepath.Join(t.TempDir(), "tree")
	if _, err := treegen.Generate(tree, treegen.Options{Seed: 7, Packages: 30}); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, tree, WithLayout(LayoutGentoo))
	cache = t.TempDir()
	filepath.WalkDir(tree, func(p string, d os.DirEntry, err error) error {
		if ebuild == "" && strings.HasSuffix(p, ".ebuild") {
			ebuild, _ = filepath.Rel(tree, p)
		}
		return err
	})
	ebuild = filepath.ToSlash(ebuild)
	age()
	r := verifyCached(t, tree, cache)
	if !r.OK() || r.Reused != 0 || !strings.Contains(r.Cache, "none yet") {
		t.Fatalf("first verification: ok %v, %d reused, cache %q", r.OK(), r.Reused, r.Cache)
	}
	r = verifyCached(t, tree, cache)
	if !r.OK() || r.Reused != r.Files || r.Files < 200 || r.Cache != "used (written for this same snapshot)" {
		t.Fatalf("second verification: ok %v, %d of %d files reused, cache %q", r.OK(), r.Reused, r.Files, r.Cache)
	}
	return tree, cache, ebuild
}

func verifyCached(t *testing.T, tree, cache string, opts ...Option) *Report {
	t.Helper()
	return mustVerify(t, tree, append(opts, WithCache(cache), withRacy(testRacy))...)
}

// changeInPlace changes a file's first byte, keeping its size, and sets
// its modification time back: only its change time tells.
func changeInPlace(t *testing.T, p string) {
	t.Helper()
	fi, other := flipped(t, p)
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteAt(other[:1], 0)
		f.Close()
	}
	if err == nil {
		err = os.Chtimes(p, time.Now(), fi.ModTime())
	}
	if err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Stat(p); after.Size() != fi.Size() || !after.ModTime().Equal(fi.ModTime()) {
		t.Fatal("size or modification time not kept")
	}
}

// replaceByRename puts other content of the same size in a file's place
// with a rename, as rsync does, with the old modification time.
func replaceByRename(t *testing.T, p string) {
	t.Helper()
	fi, other := flipped(t, p)
	tmp := p + ".tmp"
	err := os.WriteFile(tmp, other, 0o644)
	if err == nil {
		err = os.Chtimes(tmp, time.Now(), fi.ModTime())
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// flipped returns a file's stat, and its content with the first byte
// changed.
func flipped(t *testing.T, p string) (os.FileInfo, []byte) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || len(b) == 0 {
		t.Fatalf("reading %s: %v", p, err)
	}
	b[0] ^= 1
	return fi, b
}

// damageCache returns a change that edits the tree's cache file, and
// changes a file of the tree in place.
func damageCache(edit func([]byte) []byte) func(t *testing.T, tree, cache, ebuild string) string {
	return func(t *testing.T, tree, cache, ebuild string) string {
		f := cacheFileOf(t, cache, tree)
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, edit(b), 0o600); err != nil {
			t.Fatal(err)
		}
		changeInPlace(t, filepath.Join(tree, ebuild))
		return tree
	}
}

func cacheFileOf(t *testing.T, cache, tree string) string {
	t.Helper()
	f, _, err := CachePath(cache, tree)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestCacheNeverPassesATamperedTree: whatever happened to the tree or to
// the cache, a changed file is reported, and a cache that cannot be
// trusted is not used at all.
func TestCacheNeverPassesATamperedTree(t *testing.T) {
	for _, tc := range []struct {
		name string
		// change changes the tree (or the cache) and returns the tree to
		// verify.
		change    func(t *testing.T, tree, cache, ebuild string) string
		cacheNote string // what the report says of the cache
		noReuse   bool   // every file must be hashed
	}{
		{"file changed in place, modification time restored", func(t *testing.T, tree, cache, ebuild string) string {
			changeInPlace(t, filepath.Join(tree, ebuild))
			return tree
		}, "used", false},
		{"file replaced by rename, same size and modification time", func(t *testing.T, tree, cache, ebuild string) string {
			replaceByRename(t, filepath.Join(tree, ebuild))
			return tree
		}, "used", false},
		{"cache corrupted", damageCache(func(b []byte) []byte { b[len(b)/2] ^= 0x40; return b }),
			"corrupt: its checksum does not match", true},
		{"cache truncated", damageCache(func(b []byte) []byte { return b[:len(b)*2/3] }),
			"truncated", true},
		{"cache of another version", damageCache(func(b []byte) []byte { return bytes.Replace(b, []byte("/v1\n"), []byte("/v0\n"), 1) }),
			"written by another version", true},
		{"cache copied from another tree", func(t *testing.T, tree, cache, ebuild string) string {
			// A copy of the tree (new inodes), its own cache replaced by
			// the first's.
			other := filepath.Join(filepath.Dir(tree), "other")
			if err := mirror.CopyTree(tree, other); err != nil {
				t.Fatal(err)
			}
			age()
			if r := verifyCached(t, other, cache); !r.OK() {
				t.Fatal(r.Error())
			}
			b, _ := os.ReadFile(cacheFileOf(t, cache, tree))
			os.WriteFile(cacheFileOf(t, cache, other), b, 0o600)
			changeInPlace(t, filepath.Join(other, ebuild))
			return other
		}, "it is the cache of another tree", true},
		{"tree moved to another directory", func(t *testing.T, tree, cache, ebuild string) string {
			moved := filepath.Join(filepath.Dir(tree), "moved")
			if err := os.Rename(tree, moved); err != nil {
				t.Fatal(err)
			}
			changeInPlace(t, filepath.Join(moved, ebuild))
			return moved
		}, "none yet for this tree", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tree, cache, ebuild := cachedTree(t)
			age() // so that a change gets a later change time
			dir := tc.change(t, tree, cache, ebuild)
			cf := cacheFileOf(t, cache, dir)
			before, _ := os.ReadFile(cf)
			r := verifyCached(t, dir, cache)
			if k := kinds(r); k[ebuild] != KindModified || len(k) != 1 {
				t.Errorf("problems: %v, want %s modified", r.Error(), ebuild)
			}
			if !strings.Contains(r.Cache, tc.cacheNote) {
				t.Errorf("cache note %q, want %q", r.Cache, tc.cacheNote)
			}
			if tc.noReuse && r.Reused != 0 {
				t.Errorf("%d files taken from a cache that should not be used", r.Reused)
			}
			if !tc.noReuse && r.Reused < r.Files-20 {
				t.Errorf("only %d of %d files taken from the cache", r.Reused, r.Files)
			}
			if after, _ := os.ReadFile(cf); !bytes.Equal(before, after) {
				t.Error("the cache was rewritten after a failed verification")
			}
		})
	}
}

// TestCacheTreeChangedDuringVerify: a file whose stat changes while it is
// hashed is not recorded as good, so the next verification reads it again.
func TestCacheTreeChangedDuringVerify(t *testing.T) {
	tree, cache, ebuild := cachedTree(t)
	target := filepath.Join(tree, filepath.FromSlash(ebuild))
	age()
	testHookAfterRead = func(p string) {
		if p == target {
			changeInPlace(t, p)
		}
	}
	// --full, so that the file is read (and changed right after).
	r := verifyCached(t, tree, cache, WithFull())
	testHookAfterRead = nil
	if !r.OK() {
		t.Fatalf("the bytes read were the good ones: %v", r.Error())
	}
	r = verifyCached(t, tree, cache)
	if k := kinds(r); k[ebuild] != KindModified || len(k) != 1 {
		t.Errorf("after a change during hashing: %v, want %s modified", r.Error(), ebuild)
	}
}

// TestCacheEntryChanged: a new snapshot's Manifests give a file other
// hashes, but the mirror did not update the file, whose stat is unchanged:
// it is read again, and refused.
func TestCacheEntryChanged(t *testing.T) {
	tree, cache, ebuild := cachedTree(t)
	p := filepath.Join(tree, filepath.FromSlash(ebuild))
	other, _ := os.ReadFile(p)
	other[0] ^= 1
	before, _ := os.Stat(p)
	setEntry(t, tree, ebuild, other)
	if after, _ := os.Stat(p); !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
		t.Fatal("the file itself changed")
	}
	r := verifyCached(t, tree, cache)
	if k := kinds(r); k[ebuild] != KindModified || len(k) != 1 {
		t.Errorf("old file, new entry: %v, want %s modified", r.Error(), ebuild)
	}
}

// setEntry makes the Manifests say that the file rel holds content, as a
// publisher's next snapshot would, without touching the file: it edits the
// entry in the Manifest of rel's directory, then each Manifest's entry in
// the Manifest above, up to the top-level one.
func setEntry(t *testing.T, tree, rel string, content []byte) {
	t.Helper()
	target, data := rel, content
	for dir := path.Dir(rel); ; dir = path.Dir(dir) {
		if dir == "." {
			dir = ""
		}
		for _, name := range []string{"Manifest", "Manifest.gz"} {
			mp := join(dir, name)
			if mp == target {
				continue
			}
			raw, err := os.ReadFile(filepath.Join(tree, filepath.FromSlash(mp)))
			if err != nil {
				continue
			}
			m, err := parseStored(mp, raw)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for i := range m.Entries {
				e := &m.Entries[i]
				if e.IsFile() && join(dir, e.FilePath()) == target {
					e.Size, e.Checksums, found = uint64(len(data)), HashBytes(data, DefaultHashes), true
				}
			}
			if !found {
				continue
			}
			out := m.Marshal()
			if strings.HasSuffix(name, ".gz") {
				out = gzipBytes(out)
			}
			if err := os.WriteFile(filepath.Join(tree, filepath.FromSlash(mp)), out, 0o644); err != nil {
				t.Fatal(err)
			}
			if mp == TopManifestName {
				return
			}
			target, data = mp, out
		}
		if dir == "" {
			t.Fatalf("no Manifest above %s lists it", target)
		}
	}
}

// TestCacheNewSnapshot: after a sync that changed a few files, only those
// files and the Manifests above them are read; an added file in an
// unchanged package, and a removed one, are reported.
func TestCacheNewSnapshot(t *testing.T) {
	tree, cache, ebuild := cachedTree(t)
	p := filepath.Join(tree, filepath.FromSlash(ebuild))
	b, _ := os.ReadFile(p)
	age()
	if err := os.WriteFile(p+".new", append(b, "# bumped\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p+".new", p); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, tree, WithLayout(LayoutGentoo))
	r := verifyCached(t, tree, cache)
	if !r.OK() {
		t.Fatal(r.Error())
	}
	if r.Cache != "used (written for an earlier snapshot)" || r.Reused < r.Files-20 || r.Reused == r.Files {
		t.Errorf("new snapshot: %d of %d files reused, cache %q", r.Reused, r.Files, r.Cache)
	}
	// A file added to a package, and one removed from another, with their
	// Manifests unchanged: their directories' stat changed.
	age()
	pkg := filepath.Dir(p)
	write(t, pkg, "evil.patch", "rm -rf /\n")
	var removed string
	filepath.WalkDir(tree, func(q string, d os.DirEntry, err error) error {
		if removed == "" && strings.HasSuffix(q, "metadata.xml") && filepath.Dir(q) != pkg && strings.Count(strings.TrimPrefix(q, tree), "/") == 3 {
			removed = q
		}
		return err
	})
	os.Remove(removed)
	r = verifyCached(t, tree, cache)
	rel := func(q string) string { s, _ := filepath.Rel(tree, q); return filepath.ToSlash(s) }
	if k := kinds(r); k[rel(filepath.Join(pkg, "evil.patch"))] != KindStray || k[rel(removed)] != KindMissing || len(k) != 2 {
		t.Errorf("added and removed files: %v", r.Error())
	}
}

// TestCacheFullAndRacy: WithFull reads everything; files changed just
// before a verification are not trusted by the cache it writes; a
// verification that changed nothing does not rewrite the cache.
func TestCacheFullAndRacy(t *testing.T) {
	tree, cache, _ := cachedTree(t)
	before, _ := os.Stat(cacheFileOf(t, cache, tree))
	verifyCached(t, tree, cache)
	if after, _ := os.Stat(cacheFileOf(t, cache, tree)); !os.SameFile(before, after) {
		t.Error("an unchanged cache was written again")
	}
	r := verifyCached(t, tree, cache, WithFull())
	if !r.OK() || r.Reused != 0 || !strings.Contains(r.Cache, "full verification") {
		t.Errorf("full: ok %v, %d reused, cache %q", r.OK(), r.Reused, r.Cache)
	}
	if r := verifyCached(t, tree, cache); r.Reused != r.Files {
		t.Errorf("after a full verification: %d of %d reused", r.Reused, r.Files)
	}
	// With a racy window of an hour, every file is too recent to trust.
	mustVerify(t, tree, WithCache(cache), WithFull(), withRacy(time.Hour))
	if r := mustVerify(t, tree, WithCache(cache), withRacy(time.Hour)); !r.OK() || r.Reused != 0 {
		t.Errorf("recent files: %d reused", r.Reused)
	}
}

// TestCacheTimestamp: a sub-Manifest whose directory did not change is
// still refused when the new top-level Manifest's TIMESTAMP is older than
// its own.
func TestCacheTimestamp(t *testing.T) {
	d := t.TempDir()
	write(t, d, "sub/a", "a\n")
	sub := "TIMESTAMP 2026-06-01T00:00:00Z\n" + (&Entry{Tag: TagData, Path: "a", Size: 2, Checksums: HashBytes([]byte("a\n"), DefaultHashes)}).Line() + "\n"
	write(t, d, "sub/Manifest", sub)
	subEntry := (&Entry{Tag: TagManifest, Path: "sub/Manifest", Size: uint64(len(sub)), Checksums: HashBytes([]byte(sub), DefaultHashes)}).Line() + "\n"
	write(t, d, "Manifest", subEntry+"TIMESTAMP 2026-07-01T00:00:00Z\n")
	cache := t.TempDir()
	age()
	verifyCached(t, d, cache)
	if r := verifyCached(t, d, cache); !r.OK() || r.Reused != 2 {
		t.Fatalf("ok %v, %d reused: %v", r.OK(), r.Reused, r.Error())
	}
	write(t, d, "Manifest", subEntry+"TIMESTAMP 2026-05-01T00:00:00Z\n")
	if k := kinds(verifyCached(t, d, cache))["sub/Manifest"]; k != KindTimestamp {
		t.Errorf("sub-Manifest newer than the top-level one: kind %q", k)
	}
}

// FuzzCache: a cache file of any content is either refused or decoded
// without a panic, node by node.
func FuzzCache(f *testing.F) {
	tree := f.TempDir()
	os.Mkdir(filepath.Join(tree, "a"), 0o755)
	os.WriteFile(filepath.Join(tree, "a", "b"), []byte("b\n"), 0o644)
	cache := f.TempDir()
	if _, err := Create(ctx, tree, WithLayout(LayoutGentoo)); err != nil {
		f.Fatal(err)
	}
	if _, err := Verify(ctx, tree, WithCache(cache), withRacy(-time.Hour)); err != nil {
		f.Fatal(err)
	}
	file, abs, _ := CachePath(cache, tree)
	good, err := os.ReadFile(file)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(cacheHeader + "\n"))
	top, _ := os.ReadFile(filepath.Join(tree, "Manifest"))
	id := cacheIdentity{tree: abs, top: sha256.Sum256(top), ignores: ignoreDigest(map[string]bool{})}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, _, err := parseCache(data, &id)
		if err != nil {
			return
		}
		d := decoder{c.body}
		root, err := d.node(0)
		if err != nil || !root.is(flagDir) {
			return
		}
		var walk func(v cview, depth int)
		walk = func(v cview, depth int) {
			if !v.is(flagDir) || depth > 100 {
				return
			}
			for k := d.kids(&v); k.ok; k.next() {
				walk(k.cur, depth+1)
			}
		}
		walk(root, 0)
		(&verifyCache{dec: d}).statSubtree(tree, &root)
	})
}
