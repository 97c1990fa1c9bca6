//go:build quickstart

package quickstart

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestQuickstart clones the repository (its committed HEAD: what a
// newcomer gets), reads the README's first sh block, and runs each command
// in it with bash in the clone, with an empty Go build cache as on a new
// machine. The first must run the demo to its end with every outcome as
// expected; the second must run the test suite and pass. Then it runs the
// README's tour, as written but on ports it picks.
func TestQuickstart(t *testing.T) {
	root := git(t, "", "rev-parse", "--show-toplevel")
	if st := git(t, root, "status", "--porcelain", "--untracked-files=no"); st != "" {
		t.Logf("uncommitted changes are not tested: the clone holds HEAD\n%s", st)
	}
	clone := filepath.Join(t.TempDir(), "treelog")
	git(t, "", "clone", "--quiet", root, clone)

	cmds := readmeCommands(t, filepath.Join(clone, "README.md"))
	if len(cmds) != 2 {
		t.Fatalf("README's first sh block has %d commands, want 2 (run the demo; run the tests): %q", len(cmds), cmds)
	}
	// An empty build cache, as on a new machine: the first command's time
	// includes compiling everything.
	env := append(os.Environ(), "GOCACHE="+filepath.Join(t.TempDir(), "gocache"))
	for i, want := range []string{"Every outcome as expected", "ok  \ttreelog/client"} {
		start := time.Now()
		cmd := exec.Command("bash", "-c", cmds[i])
		cmd.Dir, cmd.Env = clone, env
		out, err := cmd.CombinedOutput()
		took := time.Since(start).Round(time.Second)
		if err != nil {
			t.Fatalf("$ %s\nfailed after %s: %v\n%s", cmds[i], took, err, tail(out, 60))
		}
		if !bytes.Contains(out, []byte(want)) {
			t.Fatalf("$ %s\nexited 0 after %s but did not print %q:\n%s", cmds[i], took, want, tail(out, 60))
		}
		t.Logf("$ %s\nworked in %s", cmds[i], took)
	}

	// The tour installs into $GOPATH/bin: a fresh one, so that it runs the
	// programs it installed and leaves the machine's alone.
	script := readmeTour(t, filepath.Join(clone, "README.md"))
	for _, port := range []string{"7370", "7380", "7390"} {
		script = strings.ReplaceAll(script, "127.0.0.1:"+port, freeAddr(t))
	}
	start := time.Now()
	cmd := exec.Command("bash", "-c", script+"\nkill %1 %2 %3\nwait\n")
	cmd.Dir = clone
	gomodcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(env, "GOPATH="+filepath.Join(t.TempDir(), "gopath"), "GOMODCACHE="+strings.TrimSpace(string(gomodcache)))
	out, _ := cmd.CombinedOutput()
	for _, want := range []string{
		"published overlay.example/tree snapshot",
		"ok      proof       entry 0 of log.example/tour",
		"verified overlay.example/tree snapshot",
		"REFUSED tree: tree check: the files do not match the Manifests: 1 problem(s)\n  app-misc/hello/hello-1.0.ebuild: modified",
		// (1 or 2 entries: the snapshot, and the log's first index entry)
		" entries verified, 0 open alert(s)",
	} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("the README's tour did not print %q:\n%s\n\n%s", want, script, tail(out, 80))
		}
	}
	t.Logf("the README's tour worked in %s", time.Since(start).Round(time.Second))
}

// readmeTour returns the sh blocks of the README's "A tour" section, one
// script.
func readmeTour(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "\n## A tour\n")
	if !ok {
		t.Fatal("README has no \"## A tour\" section")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	var script strings.Builder
	for {
		_, rest, ok := strings.Cut(sec, "```sh\n")
		if !ok {
			break
		}
		block, after, _ := strings.Cut(rest, "```")
		script.WriteString(block)
		sec = after
	}
	if script.Len() == 0 {
		t.Fatal("README's tour has no sh block")
	}
	return script.String()
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// readmeCommands returns the commands of the first ```sh block in the
// README, which must start on its first screen (40 lines): one per line,
// comments and blank lines left out.
func readmeCommands(t *testing.T, path string) []string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cmds []string
	in := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case !in && line == "```sh":
			if n > 40 {
				t.Fatalf("README's first sh block starts on line %d, not on the first screen", n)
			}
			in = true
		case in && line == "```":
			return cmds
		case in && line != "" && !strings.HasPrefix(line, "#"):
			cmds = append(cmds, line)
		}
	}
	t.Fatalf("no complete ```sh block in %s", path)
	return nil
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

func tail(b []byte, lines int) string {
	l := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}
