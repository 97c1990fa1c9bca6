package cli

import (
	"strings"
	"testing"
)

func TestFlags(t *testing.T) {
	var stdout, stderr strings.Builder
	fs := Flags("witness serve", "", "Runs the witness.", &stdout, &stderr)
	n := fs.Int("n", 1, "how many")
	if rc := Status(fs, fs.Parse([]string{"--help"}), &stderr); rc != 0 {
		t.Errorf("--help: status %d", rc)
	}
	if got := stdout.String(); !strings.HasPrefix(got, "Usage: witness serve [flags]\n\nRuns the witness.\n\nFlags:\n") || !strings.Contains(got, "--n int") {
		t.Errorf("--help printed %q", got)
	}
	if rc := Status(fs, fs.Parse([]string{"--n", "x"}), &stderr); rc != ExitUsage || !strings.HasPrefix(stderr.String(), "witness serve: invalid argument \"x\"") {
		t.Errorf("bad flag: status %d, stderr %q", rc, stderr.String())
	}
	if rc := Status(fs, fs.Parse([]string{"--n", "3"}), &stderr); rc != -1 || *n != 3 {
		t.Errorf("good flags: status %d, n %d", rc, *n)
	}
}
