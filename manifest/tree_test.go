package manifest

import (
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"treelog/demo/treegen"
)

var ctx = context.Background()

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// awkwardTree has names GLEP 74 must escape, a symlinked directory and a
// symlinked file, dot-names that are skipped, and a package directory.
func awkwardTree(t *testing.T) string {
	d := t.TempDir()
	write(t, d, "with space/file one", "one\n")
	write(t, d, "tab\tdir/t", "tab\n")
	write(t, d, `back\slash`, "backslash\n")
	write(t, d, "nbsp\u00a0name", "nbsp\n")
	write(t, d, "emoji😀/😀.txt", "smile\n")
	write(t, d, "real/inner/data", "real data\n")
	write(t, d, ".git/HEAD", "skipped\n")
	write(t, d, "dev-foo/bar/bar-1.ebuild", "EAPI=8\n")
	write(t, d, "dev-foo/bar/metadata.xml", "<pkgmetadata/>\n")
	write(t, d, "dev-foo/bar/files/fix.patch", "--- a\n+++ b\n")
	write(t, d, "dev-foo/bar/Manifest", "DIST bar-1.tar.gz 1234 BLAKE2B "+strings.Repeat("b", 128)+" SHA512 "+strings.Repeat("5", 128)+"\n")
	write(t, d, "dev-foo/metadata.xml", "<catmetadata/>\n")
	write(t, d, "empty", "")
	if err := os.Symlink("real/inner", filepath.Join(d, "linked dir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("empty", filepath.Join(d, "linked-file")); err != nil {
		t.Fatal(err)
	}
	return d
}

func mustCreate(t *testing.T, dir string, opts ...Option) *CreateReport {
	t.Helper()
	r, err := Create(ctx, dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustVerify(t *testing.T, dir string, opts ...Option) *Report {
	t.Helper()
	r, err := Verify(ctx, dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func kinds(r *Report) map[string]string {
	out := map[string]string{}
	for _, p := range r.Problems {
		out[p.Path] = p.Kind
	}
	return out
}

func TestCreateVerifyAwkward(t *testing.T) {
	for _, layout := range []Layout{LayoutPlain, LayoutGentoo} {
		t.Run(layout.String(), func(t *testing.T) {
			d := awkwardTree(t)
			ts := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
			r := mustCreate(t, d, WithLayout(layout), WithTimestamp(ts))
			if !r.Timestamp.Equal(ts) || !strings.Contains(string(r.Top), "TIMESTAMP 2026-11-22T12:00:00Z\n") {
				t.Errorf("top-level Manifest:\n%s", r.Top)
			}
			v := mustVerify(t, d)
			if !v.OK() {
				t.Fatal(v.Error())
			}
			// 13 files (the symlinked directory's file counted twice) + sub-Manifests.
			if v.Files < 13 || !v.Timestamp.Equal(ts) {
				t.Errorf("verified %d files, TIMESTAMP %v", v.Files, v.Timestamp)
			}
			all := allManifests(t, d)
			if strings.Contains(all, ".git") {
				t.Error("a dot-name is listed")
			}
			for _, want := range []string{`with\x20space/file\x20one`, `tab\x09dir/t`, `back\x5Cslash`, `nbsp\u00A0name`, "emoji😀/😀.txt", `linked\x20dir/data`, "linked-file"} {
				if !strings.Contains(all, want) {
					t.Errorf("no entry %q in:\n%s", want, all)
				}
			}
			// Creating again over the existing Manifests gives the same tree.
			r2 := mustCreate(t, d, WithLayout(layout), WithTimestamp(ts))
			if string(r2.Top) != string(r.Top) {
				t.Errorf("second create differs:\n%s\n%s", r.Top, r2.Top)
			}
		})
	}
}

// allManifests returns the decompressed text of every Manifest in the tree.
func allManifests(t *testing.T, d string) string {
	var b strings.Builder
	filepath.WalkDir(d, func(p string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() || !strings.HasPrefix(de.Name(), "Manifest") {
			return err
		}
		f, _ := os.Open(p)
		defer f.Close()
		var r io.Reader = f
		if strings.HasSuffix(p, ".gz") {
			z, err := gzip.NewReader(f)
			if err != nil {
				t.Fatal(err)
			}
			r = z
		}
		io.Copy(&b, r)
		return nil
	})
	return b.String()
}

func TestTampers(t *testing.T) {
	h := strings.Repeat("a", 128)
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, d string)
		want   map[string]string // path -> kind
		detail string
	}{
		{"changed byte", func(t *testing.T, d string) { write(t, d, "with space/file one", "onE\n") },
			map[string]string{"with space/file one": KindModified}, "differs"},
		{"grown file", func(t *testing.T, d string) { write(t, d, "dev-foo/bar/bar-1.ebuild", "EAPI=8\nx\n") },
			map[string]string{"dev-foo/bar/bar-1.ebuild": KindModified}, "larger than the 7 bytes"},
		{"extra file", func(t *testing.T, d string) { write(t, d, "dev-foo/bar/evil.ebuild", "rm -rf /\n") },
			map[string]string{"dev-foo/bar/evil.ebuild": KindStray}, "not listed"},
		{"extra file in new dir", func(t *testing.T, d string) { write(t, d, "new/dir/x", "x\n") },
			map[string]string{"new/dir/x": KindStray}, "not listed"},
		{"missing file", func(t *testing.T, d string) { os.Remove(filepath.Join(d, "nbsp\u00a0name")) },
			map[string]string{"nbsp\u00a0name": KindMissing}, "not present"},
		{"missing directory", func(t *testing.T, d string) { os.RemoveAll(filepath.Join(d, "real")) },
			map[string]string{"real/Manifest.gz": KindMissing, "linked dir": KindIO, "linked dir/data": KindMissing}, ""},
		{"changed sub-Manifest", func(t *testing.T, d string) {
			f, _ := os.OpenFile(filepath.Join(d, "dev-foo/bar/Manifest"), os.O_APPEND|os.O_WRONLY, 0)
			f.WriteString("DATA evil 1 BLAKE2B " + h + "\n")
			f.Close()
		}, map[string]string{"dev-foo/bar/Manifest": KindModified, "dev-foo/bar/bar-1.ebuild": KindStray, "dev-foo/bar/files/fix.patch": KindStray, "dev-foo/bar/metadata.xml": KindStray}, "larger than"},
		{"removed sub-Manifest", func(t *testing.T, d string) { os.Remove(filepath.Join(d, "dev-foo/bar/Manifest")) },
			map[string]string{"dev-foo/bar/Manifest": KindMissing, "dev-foo/bar/bar-1.ebuild": KindStray, "dev-foo/bar/files/fix.patch": KindStray, "dev-foo/bar/metadata.xml": KindStray}, ""},
		{"fifo", func(t *testing.T, d string) { syscall.Mkfifo(filepath.Join(d, "dev-foo/pipe"), 0o644) },
			map[string]string{"dev-foo/pipe": KindNotRegular}, "not a regular file"},
		{"file replaced by directory", func(t *testing.T, d string) {
			os.Remove(filepath.Join(d, "empty"))
			write(t, d, "empty/x", "")
		}, map[string]string{"empty": KindNotRegular, "empty/x": KindStray, "linked-file": KindNotRegular, "linked-file/x": KindStray}, "is a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := awkwardTree(t)
			mustCreate(t, d, WithLayout(LayoutGentoo))
			tc.tamper(t, d)
			v := mustVerify(t, d)
			got := kinds(v)
			for p, k := range tc.want {
				if got[p] != k {
					t.Errorf("%q: got kind %q, want %q; problems:\n%v", p, got[p], k, v.Error())
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("got %d problems, want %d:\n%v", len(got), len(tc.want), v.Error())
			}
			if tc.detail != "" && !strings.Contains(v.Error().Error(), tc.detail) {
				t.Errorf("message lacks %q:\n%v", tc.detail, v.Error())
			}
		})
	}
}

func TestEveryProblemReported(t *testing.T) {
	d := awkwardTree(t)
	mustCreate(t, d, WithLayout(LayoutGentoo))
	write(t, d, "empty", "now full\n")
	write(t, d, "stray1", "x")
	write(t, d, "dev-foo/stray2", "x")
	os.Remove(filepath.Join(d, "tab\tdir/t"))
	v := mustVerify(t, d)
	var paths []string
	for _, p := range v.Problems {
		paths = append(paths, p.Path)
	}
	sort.Strings(paths)
	// "linked-file" points at "empty", so it changed too.
	want := []string{"dev-foo/stray2", "empty", "linked-file", "stray1", "tab\tdir/t"}
	if strings.Join(paths, "|") != strings.Join(want, "|") {
		t.Errorf("problems at %q, want %q", paths, want)
	}
}

func TestTimestamps(t *testing.T) {
	d := awkwardTree(t)
	mustCreate(t, d, WithLayout(LayoutPlain), WithTimestamp(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	// A sub-Manifest with a TIMESTAMP newer than the top-level one.
	sub := "TIMESTAMP 2026-06-01T00:00:00Z\n"
	write(t, d, "real/Manifest", sub)
	top, _ := os.ReadFile(filepath.Join(d, "Manifest"))
	cs := HashBytes([]byte(sub), DefaultHashes)
	e := Entry{Tag: TagManifest, Path: "real/Manifest", Size: uint64(len(sub)), Checksums: cs}
	write(t, d, "Manifest", string(top)+e.Line()+"\n")
	v := mustVerify(t, d)
	if k := kinds(v)["real/Manifest"]; k != KindTimestamp {
		t.Errorf("sub-Manifest newer than top: %v", v.Error())
	}
}

func TestIgnoresAndEntriesUnderThem(t *testing.T) {
	d := awkwardTree(t)
	write(t, d, "distfiles/foo.tar.gz", "big\n")
	write(t, d, "metadata/timestamp.chk", "now\n")
	write(t, d, "metadata/layout.conf", "masters =\n")
	mustCreate(t, d, WithLayout(LayoutGentoo))
	all := allManifests(t, d)
	for _, want := range []string{"IGNORE distfiles\n", "IGNORE local\n", "IGNORE timestamp.chk\n"} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q", want)
		}
	}
	if strings.Contains(all, "foo.tar.gz") || strings.Contains(all, "DATA timestamp.chk") {
		t.Error("an ignored file is listed")
	}
	// Changing ignored files does not matter.
	write(t, d, "distfiles/foo.tar.gz", "other\n")
	write(t, d, "metadata/timestamp.chk", "later\n")
	if v := mustVerify(t, d); !v.OK() {
		t.Error(v.Error())
	}
	// An injected ignore hides a stray file.
	write(t, d, "local/overlay/x", "mine\n")
	write(t, d, "site-config", "mine\n")
	if v := mustVerify(t, d); !v.OK() && kinds(v)["site-config"] != KindStray {
		t.Error(v.Error())
	}
	if v := mustVerify(t, d, WithIgnore("site-config")); !v.OK() {
		t.Error(v.Error())
	}
	// An entry for an ignored path is an error (GLEP 74).
	top, _ := os.ReadFile(filepath.Join(d, "Manifest"))
	e := Entry{Tag: TagData, Path: "distfiles/foo.tar.gz", Size: 6, Checksums: HashBytes([]byte("other\n"), DefaultHashes)}
	write(t, d, "Manifest", string(top)+e.Line()+"\n")
	if k := kinds(mustVerify(t, d))["distfiles/foo.tar.gz"]; k != KindIgnored {
		t.Errorf("entry under IGNORE: kind %q", k)
	}
}

func TestGentooLayout(t *testing.T) {
	d := t.TempDir()
	if _, err := treegen.Generate(d, treegen.Options{Seed: 7, Packages: 30}); err != nil {
		t.Fatal(err)
	}
	// A DIST line of a thin package Manifest, to be kept.
	var pkg string
	filepath.WalkDir(d, func(p string, de os.DirEntry, err error) error {
		if pkg == "" && strings.HasSuffix(p, ".ebuild") {
			pkg = filepath.Dir(p)
		}
		return nil
	})
	thin, _ := os.ReadFile(filepath.Join(pkg, "Manifest"))
	mustCreate(t, d, WithLayout(LayoutGentoo))
	if v := mustVerify(t, d); !v.OK() {
		t.Fatal(v.Error())
	}
	pm, err := os.ReadFile(filepath.Join(pkg, "Manifest"))
	if err != nil {
		t.Fatalf("package Manifest: %v", err)
	}
	if !strings.Contains(string(pm), strings.SplitN(string(thin), "\n", 2)[0]) || !strings.Contains(string(pm), "DATA metadata.xml") {
		t.Errorf("package Manifest lost its DIST lines or lacks DATA:\n%s", pm)
	}
	cat := filepath.Dir(pkg)
	for _, want := range []string{
		filepath.Join(cat, "Manifest.gz"),
		filepath.Join(d, "eclass/Manifest.gz"),
		filepath.Join(d, "licenses/Manifest.gz"),
		filepath.Join(d, "profiles/Manifest.gz"),
		filepath.Join(d, "metadata/Manifest.gz"),
		filepath.Join(d, "metadata/glsa/Manifest.gz"),
		filepath.Join(d, "metadata/md5-cache/Manifest.gz"),
		filepath.Join(d, "metadata/md5-cache", filepath.Base(cat), "Manifest.gz"),
	} {
		if _, err := os.Stat(want); err != nil {
			t.Errorf("no %s", strings.TrimPrefix(want, d))
		}
	}
	if _, err := os.Stat(filepath.Join(d, "Manifest.gz")); err == nil {
		t.Error("the top-level Manifest was compressed")
	}
	// Without keep-dist the DIST lines go.
	mustCreate(t, d, WithLayout(LayoutGentoo), WithKeepDist(false))
	if all := allManifests(t, d); strings.Contains(all, "DIST ") {
		t.Error("DIST lines kept with WithKeepDist(false)")
	}
}

func TestCreateFailureChangesNothing(t *testing.T) {
	d := awkwardTree(t)
	mustCreate(t, d, WithLayout(LayoutGentoo))
	before := allManifests(t, d)
	write(t, d, "dev-foo/bar/bar-2.ebuild", "EAPI=8\n")
	if err := syscall.Mkfifo(filepath.Join(d, "dev-foo/bar/fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Create(ctx, d, WithLayout(LayoutGentoo))
	if err == nil || !strings.Contains(err.Error(), "dev-foo/bar/fifo: not a regular file") {
		t.Fatalf("Create with a FIFO: %v", err)
	}
	if after := allManifests(t, d); after != before {
		t.Error("a failed Create changed the Manifests")
	}
	filepath.WalkDir(d, func(p string, de os.DirEntry, err error) error {
		if strings.Contains(p, ".treelog-new-") {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
}

func TestVerifyNoTopManifest(t *testing.T) {
	d := t.TempDir()
	v := mustVerify(t, d)
	if kinds(v)["Manifest"] != KindMissing {
		t.Errorf("no top-level Manifest: %v", v.Error())
	}
	write(t, d, "Manifest", "BOGUS line\n")
	if kinds(mustVerify(t, d))["Manifest"] != KindManifest {
		t.Error("bad top-level Manifest not reported")
	}
}

func TestSymlinkLoop(t *testing.T) {
	d := t.TempDir()
	write(t, d, "a/f", "x")
	os.Symlink("..", filepath.Join(d, "a/up"))
	if _, err := Create(ctx, d); err == nil || !strings.Contains(err.Error(), "loop") {
		t.Errorf("Create with a loop: %v", err)
	}
	os.Remove(filepath.Join(d, "a/up"))
	mustCreate(t, d)
	os.Symlink("..", filepath.Join(d, "a/up"))
	if k := kinds(mustVerify(t, d))["a/up"]; k != KindNotRegular {
		t.Errorf("Verify with a loop: kind %q", k)
	}
}

func TestCancel(t *testing.T) {
	d := awkwardTree(t)
	mustCreate(t, d)
	c, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Verify(c, d); err == nil {
		t.Error("Verify ignored a cancelled context")
	}
	if _, err := Create(c, d); err == nil {
		t.Error("Create ignored a cancelled context")
	}
}

func TestSymlinkToManifestDir(t *testing.T) {
	d := awkwardTree(t)
	os.Symlink("dev-foo", filepath.Join(d, "dev-bar"))
	mustCreate(t, d, WithLayout(LayoutPlain)) // one Manifest: fine
	if v := mustVerify(t, d); !v.OK() {
		t.Fatal(v.Error())
	}
	_, err := Create(ctx, d, WithLayout(LayoutGentoo))
	if err == nil || !strings.Contains(err.Error(), "dev-bar: a symbolic link to dev-foo, which gets its own Manifest") {
		t.Errorf("gentoo layout with a link to a package directory: %v", err)
	}
}
