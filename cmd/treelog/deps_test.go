package main

import (
	"os/exec"
	"strings"
	"testing"
)

// goListDeps returns the packages a command links.
func goListDeps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// TestClientIsSlim keeps what users run after every sync free of the
// servers' stacks: storage drivers, cloud SDKs, databases, metrics.
func TestClientIsSlim(t *testing.T) {
	banned := []string{
		"github.com/transparency-dev/tessera",
		"github.com/aws/",
		"github.com/go-sql-driver/mysql",
		"modernc.org/sqlite",
		"github.com/prometheus/",
		"treelog/log",
		"treelog/witness",
		"treelog/audit",
		"treelog/demo",
	}
	for _, d := range goListDeps(t, "treelog/cmd/treelog") {
		for _, b := range banned {
			if d == b || strings.HasPrefix(d, b+"/") || (strings.HasSuffix(b, "/") && strings.HasPrefix(d, b)) {
				t.Errorf("treelog links %s (banned: %s)", d, b)
			}
		}
	}
}

// TestNoTestSupportShipped keeps test scaffolding out of every program.
func TestNoTestSupportShipped(t *testing.T) {
	out, err := exec.Command("go", "list", "treelog/cmd/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	cmds := strings.Fields(string(out))
	if len(cmds) < 5 {
		t.Fatalf("go list treelog/cmd/... found only %v", cmds)
	}
	for _, c := range cmds {
		for _, d := range goListDeps(t, c) {
			if strings.HasPrefix(d, "treelog/internal/testkit") {
				t.Errorf("%s links test support %s", c, d)
			}
		}
	}
}
