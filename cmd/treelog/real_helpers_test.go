//go:build portage || gemato

package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"treelog/demo/network"
	"treelog/internal/testkit/proc"
)

// startReal builds the treelog binary and starts a log with witnesses on
// loopback whose publisher may publish origin; it returns the test's
// directory, the binary, the network's directory (policy, publishers,
// publisher.key) and the network, stopped at the end of the test.
func startReal(t *testing.T, origin string) (dir, bin, netDir string, n *network.Network) {
	t.Helper()
	dir = t.TempDir()
	bin, err := proc.Build("treelog/cmd/treelog", dir)
	if err != nil {
		t.Fatal(err)
	}
	netDir = filepath.Join(dir, "net")
	if err := os.MkdirAll(netDir, 0o755); err != nil {
		t.Fatal(err)
	}
	n, err = network.Start(context.Background(), netDir, network.Options{ShutdownTimeout: 5 * time.Second, TreeOrigin: origin})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return dir, bin, netDir, n
}

func writeFile(t *testing.T, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// sourceDir returns the source checkout named by the environment
// variable env, failing (never skipping) the test if it is unset or lacks
// probe: these tests exist to be run, by script.
func sourceDir(t *testing.T, env, probe, script, repo string) string {
	t.Helper()
	src := os.Getenv(env)
	if src == "" {
		t.Fatalf("%s is not set: run %s %s with a checkout of %s", env, script, env, repo)
	}
	if _, err := os.Stat(filepath.Join(src, probe)); err != nil {
		t.Fatalf("%s=%s is not a checkout of %s: %v", env, src, repo, err)
	}
	return src
}
