package portage

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzRepoName: a repository name Portage passes is accepted only if it
// names one file in the settings and state directories.
func FuzzRepoName(f *testing.F) {
	for _, s := range []string{"gentoo", "my-overlay", "x+y_z", "..", "a/b", "-x", "", ".hidden", "a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, repo string) {
		if CheckRepoName(repo) != nil {
			return
		}
		h := &Hook{ConfigDir: "/c", StateDir: "/s"}
		if filepath.Dir(h.ConfigFile(repo)) != "/c" || filepath.Dir(h.dir(repo)) != "/s" || strings.HasPrefix(repo, ".") {
			t.Fatalf("%q escapes its directory", repo)
		}
	})
}
