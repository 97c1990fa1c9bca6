package portage

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"treelog/internal/atomicfile"
)

// The hooks' paths under Portage's configuration root (PORTAGE_CONFIGROOT,
// "/" on an ordinary system). The repository hook is named to run before
// any other (they may read the tree), the global one after (its message
// is the last one shown).
const (
	RepoHookPath   = "etc/portage/repo.postsync.d/00-treelog"
	GlobalHookPath = "etc/portage/postsync.d/99-treelog"
)

// installedMark is in every hook treelog writes: install replaces such a
// file, and refuses to replace any other.
const installedMark = "# Written by 'treelog portage install'."

// HookScripts returns the two hook scripts, which run the treelog binary
// at exe with the settings in configDir and the state in stateDir.
func HookScripts(exe, configDir, stateDir string) (repoHook, globalHook []byte) {
	args := fmt.Sprintf("--config-dir %s --state %s", shellQuote(configDir), shellQuote(stateDir))
	repoHook = []byte(`#!/bin/sh
` + installedMark + `
# Portage runs this after syncing each repository, with its name, sync URI
# and location, and ignores its exit status. treelog verifies the new tree
# of every repository that has a settings file in the directory below,
# and if it does not verify, puts the last verified snapshot back.
exec ` + shellQuote(exe) + ` portage repo-hook ` + args + ` "$@"
`)
	globalHook = []byte(`#!/bin/sh
` + installedMark + `
# Portage runs this after syncing all repositories; when it fails, so does
# emerge --sync / emaint sync. It reports each repository that did not
# verify at its last sync.
exec ` + shellQuote(exe) + ` portage status ` + args + `
`)
	return repoHook, globalHook
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Install writes the two hooks under root (Portage's configuration root)
// and returns their paths. A file treelog did not write is never
// replaced.
func Install(root, exe, configDir, stateDir string) ([]string, error) {
	repoHook, globalHook := HookScripts(exe, configDir, stateDir)
	var paths []string
	for _, h := range []struct {
		rel  string
		data []byte
	}{{RepoHookPath, repoHook}, {GlobalHookPath, globalHook}} {
		p := filepath.Join(root, h.rel)
		old, err := os.ReadFile(p)
		if err == nil && !bytes.Contains(old, []byte(installedMark)) {
			return paths, fmt.Errorf("%s exists and treelog did not write it; move it aside first", p)
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return paths, err
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return paths, err
		}
		if err := atomicfile.WriteFile(p, h.data, 0o755); err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}
