package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"treelog/portage"
)

func init() {
	register("portage", "Portage integration: install the sync hooks; the hooks themselves (install|repo-hook|status)", portageCmd)
}

const (
	defaultPortageConfigDir = "/etc/treelog/portage"
	defaultPortageStateDir  = "/var/lib/treelog/portage"
)

const portageAbout = `Keeps each Portage repository on its last verified snapshot.

  install    writes the two hooks into Portage's configuration (--root):
             etc/portage/repo.postsync.d/00-treelog runs 'repo-hook' after each
             repository's sync; etc/portage/postsync.d/99-treelog runs 'status'
             after all of them, and fails the sync if one did not verify.
  repo-hook  REPO SYNC_URI LOCATION (as Portage calls it): if --config-dir has
             REPO.conf, verifies a hard-linked copy of LOCATION with
             'treelog verify --config REPO.conf'; if it verifies it becomes the
             last verified snapshot, else LOCATION is put back to that snapshot
             (or emptied if there is none yet) and the refused copy is kept.
  status     reports every configured repository's last sync; exit 1 if one
             did not verify.

REPO.conf holds 'treelog verify' settings, one 'name value' per line:
origin, policy, publishers or trust-root, max-age, keyring, log... The hooks keep the
trusted state in --state/trust and each repository's snapshots in
--state/REPO. See "Gentoo users" in docs/operations.md.

Exit status of repo-hook: that of treelog verify (0 verified, 1 refused,
2 configuration, 3 local state, 4 could not check), 3 if the hook could
not keep or restore a snapshot; Portage ignores it. Of status: 0 if every
repository verified, 1 if not, 2 for usage.`

func portageFlags(name, args string, stdout, stderr io.Writer) (*pflag.FlagSet, *string, *string) {
	fs := newFlags("portage "+name, args, portageAbout, stdout, stderr)
	configDir := fs.String("config-dir", defaultPortageConfigDir, "directory of the per-repository settings files, REPO.conf")
	stateDir := fs.String("state", defaultPortageStateDir, "directory of the hooks' state: trusted state, snapshots, statuses")
	return fs, configDir, stateDir
}

func portageCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return usageErr(stderr, "portage", "want install, repo-hook or status (see 'treelog portage status --help')")
	}
	switch args[0] {
	case "install":
		return portageInstall(args[1:], stdout, stderr)
	case "repo-hook":
		return portageRepoHook(args[1:], stdout, stderr)
	case "status":
		return portageStatus(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintf(stdout, "Usage: treelog portage install|repo-hook|status [flags]\n\n%s\n", portageAbout)
		return exitOK
	}
	return usageErr(stderr, "portage", "want install, repo-hook or status, got %q", args[0])
}

func portageInstall(args []string, stdout, stderr io.Writer) int {
	fs, configDir, stateDir := portageFlags("install", "", stdout, stderr)
	root := fs.String("root", "/", "Portage's configuration root (PORTAGE_CONFIGROOT)")
	exe := fs.String("treelog", "", "path of the treelog binary the hooks run (default: this one)")
	if rc := parseFlags(fs, args, 0, stderr); rc >= 0 {
		return rc
	}
	if *exe == "" {
		p, err := os.Executable()
		if err != nil {
			return usageErr(stderr, "portage install", "finding this binary's path: %v; give --treelog", err)
		}
		*exe = p
	}
	for name, p := range map[string]string{"--treelog": *exe, "--config-dir": *configDir, "--state": *stateDir} {
		if !filepath.IsAbs(p) {
			return usageErr(stderr, "portage install", "%s %q: want an absolute path (hooks run from any directory)", name, p)
		}
	}
	paths, err := portage.Install(*root, *exe, *configDir, *stateDir)
	for _, p := range paths {
		fmt.Fprintf(stdout, "wrote %s\n", p)
	}
	if err != nil {
		return fail(stderr, "portage install", err)
	}
	fmt.Fprintf(stdout, "now write %s/REPO.conf for each repository to verify (see docs/operations.md)\n", *configDir)
	return exitOK
}

func newHook(configDir, stateDir string, stdout io.Writer) *portage.Hook {
	return &portage.Hook{
		ConfigDir: configDir,
		StateDir:  stateDir,
		Out:       stdout,
		Verify: func(repo, dir string, stdout, stderr io.Writer) int {
			conf := filepath.Join(configDir, repo+".conf")
			return verify([]string{"--config", conf, "--state", filepath.Join(stateDir, "trust"), "-v", dir}, stdout, stderr)
		},
	}
}

func portageRepoHook(args []string, stdout, stderr io.Writer) int {
	fs, configDir, stateDir := portageFlags("repo-hook", "REPO SYNC_URI LOCATION", stdout, stderr)
	if rc := parseFlags(fs, args, 3, stderr); rc >= 0 {
		return rc
	}
	repo, location := fs.Arg(0), fs.Arg(2)
	if err := portage.CheckRepoName(repo); err != nil {
		return usageErr(stderr, "portage repo-hook", "%v", err)
	}
	h := newHook(*configDir, *stateDir, stdout)
	if !h.Configured(repo) {
		fmt.Fprintf(stdout, " * treelog: repository '%s' is not verified by treelog (no %s)\n", repo, h.ConfigFile(repo))
		return exitOK
	}
	st, err := h.Repo(context.Background(), repo, location)
	if err != nil {
		fmt.Fprintf(stderr, "treelog portage repo-hook: %v\n", err)
		return exitLocal
	}
	return st.Code
}

func portageStatus(args []string, stdout, stderr io.Writer) int {
	fs, configDir, stateDir := portageFlags("status", "", stdout, stderr)
	if rc := parseFlags(fs, args, 0, stderr); rc >= 0 {
		return rc
	}
	rc, err := newHook(*configDir, *stateDir, stdout).Report()
	if err != nil {
		fmt.Fprintf(stderr, "treelog portage status: %v\n", err)
	}
	return rc
}
