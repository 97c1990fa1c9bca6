package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"treelog-demo": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// buildTreelog builds the user's tool once for all scripts.
func buildTreelog(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "treelog"), "treelog/cmd/treelog").CombinedOutput()
	if err != nil {
		t.Fatalf("building treelog for the demo's script: %v\n%s", err, out)
	}
	return dir
}

// TestScripts runs treelog-demo end to end as a user would, from
// testdata/script/*.txtar, with treelog on $PATH.
func TestScripts(t *testing.T) {
	bin := buildTreelog(t)
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", bin+string(os.PathListSeparator)+env.Getenv("PATH"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waiturls": waitURLs,
			"httpget":  httpGet,
		},
	})
}

// waitURLs waits (a minute at most) for the file of URLs that `treelog
// demo --keep` writes once its network is up, and sets $DEMO_<PART> for
// each line "part URL" (part upper-cased, '-' as '_').
func waitURLs(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waiturls FILE")
	}
	p := ts.MkAbs(args[0])
	deadline := time.Now().Add(time.Minute)
	f, err := os.Open(p)
	for ; err != nil; f, err = os.Open(p) {
		if time.Now().After(deadline) {
			ts.Fatalf("%s did not appear within a minute: %v", args[0], err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		part, url, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			ts.Fatalf("%s: malformed line %q", args[0], sc.Text())
		}
		ts.Setenv("DEMO_"+strings.ToUpper(strings.ReplaceAll(part, "-", "_")), url)
	}
}

// httpGet fetches URL into FILE and fails unless the status is 200.
func httpGet(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: httpget URL FILE")
	}
	err := func() error {
		resp, err := http.Get(args[0])
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", args[0], resp.Status)
		}
		return os.WriteFile(ts.MkAbs(args[1]), b, 0o644)
	}()
	ts.Check(err)
}
