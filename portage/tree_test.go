package portage

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	// Replace, never write into: as rsync does, and as hard-linked
	// snapshots need.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// makeTree writes a small repository with what a real one has: nested
// packages, a symbolic link, dot-names, and the top-level names Portage
// never syncs.
func makeTree(t *testing.T, dir string) {
	write(t, filepath.Join(dir, "Manifest"), "TIMESTAMP 2026-11-22T12:00:00Z\n")
	write(t, filepath.Join(dir, "app-misc/hello/hello-1.0.ebuild"), "EAPI=8\n")
	write(t, filepath.Join(dir, "app-misc/hello/files/.keep"), "")
	write(t, filepath.Join(dir, "metadata/timestamp.chk"), "Sun, 22 Nov 2026 12:00:00 +0000\n")
	write(t, filepath.Join(dir, ".treelog/MetaManifest"), "mm\n")
	write(t, filepath.Join(dir, "distfiles/big.tar.gz"), "user data\n")
	write(t, filepath.Join(dir, ".tmp-unverified-download-quarantine/x"), "portage's\n")
	if err := os.Symlink("hello-1.0.ebuild", filepath.Join(dir, "app-misc/hello/link.ebuild")); err != nil {
		t.Fatal(err)
	}
}

func TestSnapshotRestore(t *testing.T) {
	for _, copyOnly := range []bool{false, true} {
		name := map[bool]string{false: "hardlinks", true: "copies"}[copyOnly]
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			live, good := filepath.Join(dir, "live"), filepath.Join(dir, "good")
			makeTree(t, live)
			c := &copier{copyOnly: copyOnly}
			if err := c.snapshot(live, good); err != nil {
				t.Fatal(err)
			}
			if c.copied == 0 != !copyOnly {
				t.Errorf("copied %d files with copyOnly=%v", c.copied, copyOnly)
			}
			for _, p := range []string{"distfiles", ".tmp-unverified-download-quarantine"} {
				if _, err := os.Lstat(filepath.Join(good, p)); err == nil {
					t.Errorf("the snapshot holds %s, which is not part of the tree", p)
				}
			}
			if read(t, filepath.Join(good, ".treelog/MetaManifest")) != "mm\n" {
				t.Error("the snapshot lacks .treelog")
			}
			if err := c.snapshot(live, good); err == nil {
				t.Error("a snapshot over an existing one was made")
			}

			// A bad sync: a file changed, one planted, one removed, a
			// directory turned into a file, a link retargeted, new user data.
			write(t, filepath.Join(live, "app-misc/hello/hello-1.0.ebuild"), "EAPI=8\nevil\n")
			write(t, filepath.Join(live, "app-misc/hello/planted.ebuild"), "evil\n")
			write(t, filepath.Join(live, "app-misc/evil/evil-1.ebuild"), "evil\n")
			os.Remove(filepath.Join(live, "metadata/timestamp.chk"))
			os.RemoveAll(filepath.Join(live, "app-misc/hello/files"))
			write(t, filepath.Join(live, "app-misc/hello/files"), "not a directory\n")
			os.Remove(filepath.Join(live, "app-misc/hello/link.ebuild"))
			os.Symlink("../../etc/passwd", filepath.Join(live, "app-misc/hello/link.ebuild"))
			write(t, filepath.Join(live, "distfiles/new.tar.gz"), "more user data\n")
			if d, _ := differences(live, good); len(d) == 0 {
				t.Fatal("differences found none after a bad sync")
			}

			if err := c.restore(live, good); err != nil {
				t.Fatal(err)
			}
			if d, err := differences(live, good); err != nil || len(d) != 0 {
				t.Fatalf("after restore: %v %v", d, err)
			}
			if read(t, filepath.Join(live, "app-misc/hello/hello-1.0.ebuild")) != "EAPI=8\n" || read(t, filepath.Join(live, "metadata/timestamp.chk")) == "" {
				t.Error("restored files have the wrong content")
			}
			if target, _ := os.Readlink(filepath.Join(live, "app-misc/hello/link.ebuild")); target != "hello-1.0.ebuild" {
				t.Errorf("link points to %q", target)
			}
			for _, p := range []string{"distfiles/big.tar.gz", "distfiles/new.tar.gz", ".tmp-unverified-download-quarantine/x"} {
				if _, err := os.Stat(filepath.Join(live, p)); err != nil {
					t.Errorf("restore touched %s, which is not part of the tree: %v", p, err)
				}
			}
			for _, p := range []string{"app-misc/hello/planted.ebuild", "app-misc/evil"} {
				if _, err := os.Lstat(filepath.Join(live, p)); err == nil {
					t.Errorf("restore left %s", p)
				}
			}
			// The snapshot itself is unchanged by the bad sync and the restore.
			if read(t, filepath.Join(good, "app-misc/hello/hello-1.0.ebuild")) != "EAPI=8\n" {
				t.Error("the snapshot changed")
			}
			// Restoring what is already in place changes nothing.
			st1, _ := os.Stat(filepath.Join(live, "app-misc/hello/hello-1.0.ebuild"))
			if err := c.restore(live, good); err != nil {
				t.Fatal(err)
			}
			st2, _ := os.Stat(filepath.Join(live, "app-misc/hello/hello-1.0.ebuild"))
			if !copyOnly && !os.SameFile(st1, st2) {
				t.Error("a second restore replaced a file that was already the snapshot's")
			}
		})
	}
}

// TestOwners: a tree synced as the portage user (FEATURES=usersync) keeps
// its owners through a snapshot and a restore, so that the next sync,
// which runs as that user, can write it. Changing owners needs root (as
// the hooks run): as another user, files keep that user.
func TestOwners(t *testing.T) {
	dir := t.TempDir()
	live, good := filepath.Join(dir, "live"), filepath.Join(dir, "good")
	makeTree(t, live)
	uid, gid := os.Getuid(), os.Getgid()
	if uid == 0 {
		uid, gid = 65534, 65534 // nobody, as the portage user would be
		filepath.Walk(live, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, uid, gid) })
	}
	c := &copier{copyOnly: true}
	if err := c.snapshot(live, good); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(live, "app-misc"))
	if err := c.restore(live, good); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"app-misc", "app-misc/hello", "app-misc/hello/hello-1.0.ebuild", "app-misc/hello/link.ebuild"} {
		st, err := os.Lstat(filepath.Join(live, p))
		if err != nil {
			t.Fatal(err)
		}
		s := st.Sys().(*syscall.Stat_t)
		if int(s.Uid) != uid || int(s.Gid) != gid {
			t.Errorf("%s owned by %d:%d, want %d:%d", p, s.Uid, s.Gid, uid, gid)
		}
	}
}

func TestExcluded(t *testing.T) {
	var got []string
	for _, p := range []string{"distfiles", "packages", "local", "lost+found", ".git", ".tmp-unverified-download-quarantine", ".treelog", "app-misc", "metadata/.x", "app-misc/distfiles"} {
		if excluded(p) {
			got = append(got, p)
		}
	}
	want := []string{"distfiles", "packages", "local", "lost+found", ".git", ".tmp-unverified-download-quarantine"}
	if !slices.Equal(got, want) {
		t.Errorf("excluded %v, want %v", got, want)
	}
}
