// Package layout_test keeps docs/design.md's package map true to the code.
package layout_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestPackageMap checks that the package map in docs/design.md names, in
// the first column of its table, every package of the module but the
// programs (listed above it), and names no package that does not exist.
// internal/testkit's packages are named in its row's second column.
func TestPackageMap(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/design.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	start := strings.Index(text, "## Package map")
	if start < 0 {
		t.Fatal("docs/design.md has no \"## Package map\" section")
	}
	section := text[start:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	named := map[string]bool{}
	code := regexp.MustCompile("`([^`]+)`")
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 {
			continue
		}
		for _, m := range code.FindAllStringSubmatch(cells[1], -1) {
			named[m[1]] = true
			if m[1] == "internal/testkit/..." {
				for _, sub := range code.FindAllStringSubmatch(cells[2], -1) {
					named["internal/testkit/"+sub[1]] = true
				}
			}
		}
	}
	out, err := exec.Command("go", "list", "treelog/...").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		dir := strings.TrimPrefix(pkg, "treelog/")
		if strings.HasPrefix(dir, "cmd/") || (strings.HasPrefix(dir, "bench/") && named["bench/..."]) {
			continue
		}
		if !named[dir] {
			t.Errorf("docs/design.md's package map does not name %s", dir)
		}
	}
	for n := range named {
		if _, err := os.Stat("../../../" + strings.TrimSuffix(n, "/...")); err != nil {
			t.Errorf("docs/design.md's package map names %s, which does not exist", n)
		}
	}
}
