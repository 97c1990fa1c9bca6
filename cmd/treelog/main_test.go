package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"treelog/demo/network"
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
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			dir := filepath.Join(env.WorkDir, ".net")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			n, err := network.Start(context.Background(), dir, network.Options{ShutdownTimeout: 5 * time.Second})
			if err != nil {
				return err
			}
			env.Defer(func() { n.Close() })
			env.Setenv("LOG_URL", n.LogURL)
			env.Setenv("NET", dir)
			return nil
		},
	})
}
