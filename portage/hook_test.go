package portage

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// newTestHook returns a hook whose verifier (a stand-in for treelog
// verify, whose own tests are elsewhere) accepts a tree unless it holds
// a file named "bad", and then answers with the status in it.
func newTestHook(t *testing.T) (*Hook, *strings.Builder) {
	dir := t.TempDir()
	out := &strings.Builder{}
	h := &Hook{
		ConfigDir: filepath.Join(dir, "conf"),
		StateDir:  filepath.Join(dir, "state"),
		Out:       out,
		Verify: func(repo, tree string, stdout, stderr io.Writer) int {
			b, err := os.ReadFile(filepath.Join(tree, "bad"))
			if err != nil {
				return Verified
			}
			var code int
			fmt.Sscan(string(b), &code)
			fmt.Fprintf(stderr, "REFUSED %s: verifier says %d\nmore detail\n", tree, code)
			return code
		},
	}
	write(t, h.ConfigFile("gentoo"), "origin gentoo.org/repo\n")
	return h, out
}

func TestHook(t *testing.T) {
	h, out := newTestHook(t)
	live := filepath.Join(t.TempDir(), "gentoo")
	makeTree(t, live)
	ctx := context.Background()

	// A good sync becomes the last verified snapshot.
	st, err := h.Repo(ctx, "gentoo", live)
	if err != nil || st.Code != Verified || st.Kept != KeptNew || st.Good == nil {
		t.Fatalf("good sync: %+v, %v\n%s", st, err, out)
	}
	if rc, _ := h.Report(); rc != 0 {
		t.Errorf("Report after a good sync: %d\n%s", rc, out)
	}

	// Every kind of failure puts the last verified tree back and fails
	// the global hook with what verify said.
	for _, code := range []int{Refused, Usage, LocalState, CouldNotCheck, 7} {
		t.Run(ResultName(code), func(t *testing.T) {
			out.Reset()
			write(t, filepath.Join(live, "app-misc/hello/hello-1.0.ebuild"), "changed\n")
			write(t, filepath.Join(live, "bad"), fmt.Sprint(code))
			st, err := h.Repo(ctx, "gentoo", live)
			if err != nil || st.Code != code || st.Kept != KeptRestored || st.Result != ResultName(code) {
				t.Fatalf("%+v, %v\n%s", st, err, out)
			}
			if !strings.Contains(st.Message, fmt.Sprintf("verifier says %d", code)) {
				t.Errorf("message %q", st.Message)
			}
			if read(t, filepath.Join(live, "app-misc/hello/hello-1.0.ebuild")) != "EAPI=8\n" {
				t.Error("not restored")
			}
			if _, err := os.Stat(filepath.Join(live, "bad")); err == nil {
				t.Error("the refused tree's extra file is still in place")
			}
			if read(t, filepath.Join(st.RefusedCopy, "bad")) != fmt.Sprint(code) {
				t.Error("the refused tree was not kept")
			}
			out.Reset()
			if rc, _ := h.Report(); rc != Refused || !strings.Contains(out.String(), "gentoo: NOT VERIFIED") || !strings.Contains(out.String(), ResultName(code)) {
				t.Errorf("Report: %d\n%s", rc, out)
			}
		})
	}

	// A sync that verifies clears it.
	out.Reset()
	if st, err := h.Repo(ctx, "gentoo", live); err != nil || st.Code != Verified {
		t.Fatalf("%+v %v\n%s", st, err, out)
	}
	if rc, _ := h.Report(); rc != 0 {
		t.Errorf("Report: %d\n%s", rc, out)
	}
}

// TestHookSymlinkedLocation: with sync-rcu the repository's location is
// a symbolic link to Portage's current snapshot; the hook works on the
// tree it points to, never on the link.
func TestHookSymlinkedLocation(t *testing.T) {
	h, out := newTestHook(t)
	dir := t.TempDir()
	target, live := filepath.Join(dir, "snapshots", "1"), filepath.Join(dir, "gentoo")
	makeTree(t, target)
	if err := os.Symlink(target, live); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Repo(context.Background(), "gentoo", live); err != nil {
		t.Fatal(err)
	}
	if read(t, filepath.Join(h.StateDir, "gentoo", "good", "app-misc/hello/hello-1.0.ebuild")) != "EAPI=8\n" {
		t.Fatal("the snapshot does not hold the tree the link points to")
	}
	write(t, filepath.Join(target, "app-misc/hello/hello-1.0.ebuild"), "changed\n")
	write(t, filepath.Join(target, "bad"), "1")
	st, err := h.Repo(context.Background(), "gentoo", live)
	if err != nil || st.Kept != KeptRestored {
		t.Fatalf("%+v %v\n%s", st, err, out)
	}
	if fi, err := os.Lstat(live); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Error("the location is no longer a symbolic link")
	}
	if read(t, filepath.Join(live, "app-misc/hello/hello-1.0.ebuild")) != "EAPI=8\n" {
		t.Error("not restored through the link")
	}
}

// TestHookFirstSync: with no verified snapshot to go back to, an
// unverified tree is moved out of the way (kept for inspection).
func TestHookFirstSync(t *testing.T) {
	h, out := newTestHook(t)
	live := filepath.Join(t.TempDir(), "gentoo")
	makeTree(t, live)
	write(t, filepath.Join(live, "bad"), "1")
	st, err := h.Repo(context.Background(), "gentoo", live)
	if err != nil || st.Kept != KeptEmptied {
		t.Fatalf("%+v %v\n%s", st, err, out)
	}
	ents, _ := os.ReadDir(live)
	var left []string
	for _, e := range ents {
		left = append(left, e.Name())
	}
	if strings.Join(left, " ") != ".tmp-unverified-download-quarantine distfiles" {
		t.Errorf("left in place: %v", left)
	}
	if read(t, filepath.Join(st.RefusedCopy, "app-misc/hello/hello-1.0.ebuild")) != "EAPI=8\n" {
		t.Error("the tree was not kept aside")
	}
	out.Reset()
	if rc, _ := h.Report(); rc != Refused || !strings.Contains(out.String(), "is empty: no snapshot of it has verified yet") {
		t.Errorf("Report: %d\n%s", rc, out)
	}
}

// TestHookCrash: a crash in the middle of keeping a new snapshot leaves
// the old one, which the next run uses.
func TestHookCrash(t *testing.T) {
	h, out := newTestHook(t)
	live := filepath.Join(t.TempDir(), "gentoo")
	makeTree(t, live)
	if _, err := h.Repo(context.Background(), "gentoo", live); err != nil {
		t.Fatal(err)
	}
	// As if killed between promote's two renames, with a staging copy left.
	good := filepath.Join(h.StateDir, "gentoo", "good")
	if err := os.Rename(good, good+".old"); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(h.StateDir, "gentoo", "staging", "junk"), 0o755)
	write(t, filepath.Join(live, "app-misc/hello/hello-1.0.ebuild"), "changed\n")
	write(t, filepath.Join(live, "bad"), "1")
	st, err := h.Repo(context.Background(), "gentoo", live)
	if err != nil || st.Kept != KeptRestored {
		t.Fatalf("%+v %v\n%s", st, err, out)
	}
	if read(t, filepath.Join(live, "app-misc/hello/hello-1.0.ebuild")) != "EAPI=8\n" {
		t.Error("not restored from the recovered snapshot")
	}
}

func TestHookErrors(t *testing.T) {
	h, _ := newTestHook(t)
	for _, c := range []struct{ repo, loc string }{{"../x", "/tmp"}, {"a/b", "/tmp"}, {"", "/tmp"}, {"gentoo", "relative"}} {
		if _, err := h.Repo(context.Background(), c.repo, c.loc); err == nil {
			t.Errorf("Repo(%q, %q) accepted", c.repo, c.loc)
		}
	}
	// A missing location is a failure of the hook, recorded for the global
	// hook to report, not a crash.
	st, err := h.Repo(context.Background(), "gentoo", filepath.Join(t.TempDir(), "missing"))
	if err != nil || st.Code != LocalState {
		t.Errorf("missing location: %+v, %v", st, err)
	}
	// Corrupt status: named, never silently reset.
	write(t, filepath.Join(h.StateDir, "gentoo", StatusFile), "{")
	if _, err := h.Repo(context.Background(), "gentoo", "/tmp"); err == nil || !strings.Contains(err.Error(), StatusFile) {
		t.Errorf("corrupt status: %v", err)
	}
	if rc, _ := h.Report(); rc != Refused {
		t.Errorf("Report with a corrupt status: %d", rc)
	}
	h.ConfigDir = filepath.Join(t.TempDir(), "none")
	if rc, err := h.Report(); rc != Usage || err == nil {
		t.Errorf("Report without a settings directory: %d, %v", rc, err)
	}
}

// TestHookScripts runs the installed hooks as Portage does (executables,
// the repository's arguments) with a stand-in treelog that prints its
// arguments: paths with spaces and quotes reach treelog intact.
func TestHookScripts(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "bin dir", "tree'log")
	write(t, exe, "#!/bin/sh\nfor a in \"$@\"; do echo \"[$a]\"; done\n")
	os.Chmod(exe, 0o755)
	root := filepath.Join(dir, "root")
	paths, err := Install(root, exe, "/etc/tree log/portage", "/var/lib/it's")
	if err != nil || len(paths) != 2 {
		t.Fatal(paths, err)
	}
	out, err := exec.Command(filepath.Join(root, RepoHookPath), "gentoo", "rsync://x/gentoo-portage", "/var/db/repos/gen too").CombinedOutput()
	if err != nil {
		t.Fatal(err, string(out))
	}
	want := "[portage]\n[repo-hook]\n[--config-dir]\n[/etc/tree log/portage]\n[--state]\n[/var/lib/it's]\n[gentoo]\n[rsync://x/gentoo-portage]\n[/var/db/repos/gen too]\n"
	if string(out) != want {
		t.Errorf("repo hook ran treelog with\n%s\nwant\n%s", out, want)
	}
	out, err = exec.Command(filepath.Join(root, GlobalHookPath)).CombinedOutput()
	if err != nil || string(out) != "[portage]\n[status]\n[--config-dir]\n[/etc/tree log/portage]\n[--state]\n[/var/lib/it's]\n" {
		t.Errorf("global hook: %v\n%s", err, out)
	}
	// Installing again replaces treelog's own hooks, never another file.
	if _, err := Install(root, exe, "/etc/treelog/portage", "/var/lib/treelog/portage"); err != nil {
		t.Errorf("reinstall: %v", err)
	}
	write(t, filepath.Join(root, GlobalHookPath), "#!/bin/sh\n")
	if _, err := Install(root, exe, "/etc/treelog/portage", "/var/lib/treelog/portage"); err == nil {
		t.Error("replaced a hook treelog did not write")
	}
}
