package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"treelog/demo/network"
	"treelog/internal/keyfile"
	"treelog/internal/testkit/proc"
	"treelog/internal/testkit/script"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"treelog": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the CLI end to end as a user would, from
// testdata/script/*.txtar.
//
// Scripts that need a network find one already running: a log with three
// witnesses (2-of-3) on loopback, its URL in $LOG_URL, and in $NET the
// files a user and a publisher have: policy, publishers, publisher.key.
// For the signing daemon, $NET/publisher-enc.key.age is the same publisher
// key encrypted with the passphrase in $NET/passphrase, $PUBLISHER_VKEY
// its vkey, and the signd program is on $PATH. $GNUPGHOME is an empty
// GnuPG home for the script. "pin-root FILE" pins a trust root in the
// running log, as its operator does with --trust-root and a reload.
func TestScripts(t *testing.T) {
	signdDir := t.TempDir()
	var signdBin string
	var buildOnce sync.Once
	var buildErr error
	var nets sync.Map // work directory -> *network.Network
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Cmds: withCmds(script.Cmds(), map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"pin-root": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: pin-root FILE")
				}
				n, _ := nets.Load(ts.Getenv("WORK"))
				err := n.(*network.Network).AddTrustRoot([]byte(ts.ReadFile(args[0])))
				if (err != nil) != neg {
					ts.Fatalf("pin-root: %v", err)
				}
			},
		}),
		Setup: func(env *testscript.Env) error {
			buildOnce.Do(func() { signdBin, buildErr = proc.Build("treelog/cmd/signd", signdDir) })
			if buildErr != nil {
				return buildErr
			}
			env.Setenv("PATH", filepath.Dir(signdBin)+string(os.PathListSeparator)+env.Getenv("PATH"))
			dir := filepath.Join(env.WorkDir, ".net")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			n, err := network.Start(context.Background(), dir, network.Options{ShutdownTimeout: 5 * time.Second})
			if err != nil {
				return err
			}
			env.Defer(func() { n.Close() })
			nets.Store(env.WorkDir, n)
			env.Setenv("LOG_URL", n.LogURL)
			env.Setenv("NET", dir)
			skey, err := os.ReadFile(filepath.Join(dir, "publisher.key"))
			if err != nil {
				return err
			}
			const pass = "signd test passphrase"
			if err := keyfile.WriteEncrypted(filepath.Join(dir, "publisher-enc"), strings.TrimSpace(string(skey)), n.PublisherVKey, pass, keyfile.WithWorkFactor(10)); err != nil {
				return err
			}
			env.Setenv("PUBLISHER_VKEY", n.PublisherVKey)
			if err := os.WriteFile(filepath.Join(dir, "passphrase"), []byte(pass+"\n"), 0o600); err != nil {
				return err
			}
			// GnuPG for scripts that sign as a distribution does; its
			// agent's socket path must be short, so not under $WORK.
			gpgHome, err := os.MkdirTemp("", "gpg")
			if err != nil {
				return err
			}
			env.Defer(func() {
				exec.Command("gpgconf", "--homedir", gpgHome, "--kill", "all").Run()
				os.RemoveAll(gpgHome)
			})
			env.Setenv("GNUPGHOME", gpgHome)
			return nil
		},
	})
}

// withCmds adds more commands to cmds.
func withCmds(cmds, more map[string]func(ts *testscript.TestScript, neg bool, args []string)) map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	for k, v := range more {
		cmds[k] = v
	}
	return cmds
}
