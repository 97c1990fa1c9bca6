package portage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"treelog/internal/statefile"
	"treelog/internal/untrusted"
	"treelog/metamanifest"
)

// Results of verifying a repository: treelog verify's exit statuses.
const (
	Verified      = 0 // the tree verified
	Refused       = 1 // evidence of an attack, or data that does not match what was signed
	Usage         = 2 // a usage or configuration error
	LocalState    = 3 // this machine's own state is broken
	CouldNotCheck = 4 // the log or its mirrors could not be reached
)

// ResultName names a verify exit status for people and the status file.
func ResultName(code int) string {
	switch code {
	case Verified:
		return "verified"
	case Refused:
		return "refused"
	case Usage:
		return "configuration error"
	case LocalState:
		return "local state broken"
	case CouldNotCheck:
		return "could not check"
	}
	return fmt.Sprintf("failed (status %d)", code)
}

// What the hook left in the repository's location.
const (
	KeptNew      = "new"      // the synced tree, verified
	KeptRestored = "restored" // the last verified snapshot, put back
	KeptEmptied  = "emptied"  // no verified snapshot yet: the tree was moved aside
)

// A Verifier verifies the tree in dir as the repository repo is
// configured (treelog verify with the repository's settings), writing
// what it finds to stdout and stderr, and returns its exit status.
type Verifier func(repo, dir string, stdout, stderr io.Writer) int

// A Hook is the logic of the hooks Portage runs after a sync.
type Hook struct {
	// ConfigDir holds one treelog verify settings file per verified
	// repository, REPO.conf.
	ConfigDir string
	// StateDir holds, per repository, the last verified snapshot, the
	// last refused tree and the status (StateDir/REPO/...).
	StateDir string
	// Verify verifies a tree.
	Verify Verifier
	// Out receives what the hook says (Portage shows it).
	Out io.Writer
	// Now is the clock (default time.Now).
	Now func() time.Time

	copier copier
}

// A Snapshot describes the tree in place.
type Snapshot struct {
	Origin     string    `json:"origin"`
	Timestamp  time.Time `json:"timestamp"`
	VerifiedAt time.Time `json:"verified_at"`
}

// A Status is the outcome of the last sync of a repository.
type Status struct {
	Repo     string    `json:"repo"`
	Location string    `json:"location"`
	Time     time.Time `json:"time"`
	// Code is treelog verify's exit status (Verified, Refused...), Result
	// its name, Message what verify said about a failure.
	Code    int    `json:"code"`
	Result  string `json:"result"`
	Message string `json:"message,omitempty"`
	// Kept says what the location holds now: KeptNew, KeptRestored or
	// KeptEmptied.
	Kept string `json:"kept"`
	// Good is the last verified snapshot (nil: none yet).
	Good *Snapshot `json:"good,omitempty"`
	// RefusedCopy is where the tree that did not verify is kept.
	RefusedCopy string `json:"refused_copy,omitempty"`
}

// StatusFile is the name of a repository's status in its state directory.
const StatusFile = "status.json"

const maxStatusSize = 1 << 20

// CheckRepoName checks a repository name before it names a file: Portage
// allows letters, digits, '_', '-' and '+' ("repo_name" in PMS).
func CheckRepoName(repo string) error {
	if repo == "" || len(repo) > 255 || strings.HasPrefix(repo, "-") {
		return fmt.Errorf("repository name %q: want 1 to 255 letters, digits, '_', '-' or '+', not starting with '-'", untrusted.Short(repo, 64))
	}
	for _, c := range repo {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '+') {
			return fmt.Errorf("repository name %q: want letters, digits, '_', '-' or '+'", untrusted.Short(repo, 64))
		}
	}
	return nil
}

// ConfigFile returns the settings file of repo.
func (h *Hook) ConfigFile(repo string) string { return filepath.Join(h.ConfigDir, repo+".conf") }

// Configured reports whether repo has a settings file.
func (h *Hook) Configured(repo string) bool {
	_, err := os.Stat(h.ConfigFile(repo))
	return err == nil
}

func (h *Hook) dir(repo string) string { return filepath.Join(h.StateDir, repo) }

func (h *Hook) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Hook) say(format string, args ...any) {
	fmt.Fprintf(h.Out, " * treelog: "+format+"\n", args...)
}

func (h *Hook) alarm(format string, args ...any) {
	fmt.Fprintf(h.Out, "!!! treelog: "+format+"\n", args...)
}

// LoadStatus reads repo's status; nil if it has none.
func (h *Hook) LoadStatus(repo string) (*Status, error) {
	var s Status
	found, err := statefile.Load(filepath.Join(h.dir(repo), StatusFile), maxStatusSize, &s)
	if err != nil || !found {
		return nil, err
	}
	return &s, nil
}

// Repo runs after Portage synced repo into location: it verifies a
// hard-linked copy of the tree; if it verifies, the copy becomes the last
// verified snapshot; if not, location is made the last verified snapshot
// again (or, when there is none yet, emptied, the tree moved aside), and
// the refused copy is kept for inspection. It returns the status it
// recorded; an error means the hook itself could not do its work (the
// status then says so too, if it could be written).
func (h *Hook) Repo(ctx context.Context, repo, location string) (*Status, error) {
	if err := CheckRepoName(repo); err != nil {
		return nil, err
	}
	if !filepath.IsAbs(location) {
		return nil, fmt.Errorf("repository location %q is not an absolute path", location)
	}
	dir := h.dir(repo)
	lock, err := statefile.Acquire(ctx, dir, 10*time.Minute)
	if err != nil {
		return nil, fmt.Errorf("holding %s: %w", dir, err)
	}
	defer lock.Release()
	prev, err := h.LoadStatus(repo)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (move it aside to start over)", filepath.Join(dir, StatusFile), err)
	}
	good, staging, refused := filepath.Join(dir, "good"), filepath.Join(dir, "staging"), filepath.Join(dir, "refused")
	if err := recoverSwap(good); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(staging); err != nil {
		return nil, err
	}
	st := &Status{Repo: repo, Location: location, Time: h.now().UTC()}
	if prev != nil {
		st.Good = prev.Good
	}
	if _, err := os.Stat(good); err != nil {
		st.Good = nil
	}

	h.say("verifying repository '%s' (%s) through a snapshot in %s", repo, location, staging)
	// With sync-rcu, the location is a symbolic link to Portage's current
	// snapshot: work on what it points to.
	tree := location
	if resolved, err := filepath.EvalSymlinks(location); err == nil {
		tree = resolved
	}
	h.copier.copied = 0
	if err := h.copier.snapshot(tree, staging); err != nil {
		st.Code, st.Message = LocalState, fmt.Sprintf("copying the synced tree to %s: %v", staging, err)
	} else {
		if h.copier.copied > 0 {
			h.say("%d files were copied, not hard-linked: put %s on the filesystem of %s to save the space", h.copier.copied, h.StateDir, location)
		}
		var errOut bytes.Buffer
		st.Code = h.Verify(repo, staging, h.Out, io.MultiWriter(h.Out, &limitedWriter{w: &errOut, n: 4096}))
		st.Message = firstLine(errOut.String())
	}
	st.Result = ResultName(st.Code)

	if st.Code == Verified {
		if err := promote(staging, good); err != nil {
			return h.save(st, fmt.Errorf("keeping the verified snapshot: %w", err))
		}
		st.Kept = KeptNew
		st.Good = readSnapshot(good, st.Time)
		h.say("repository '%s' verified: %s", repo, st.Good)
		return h.save(st, nil)
	}

	// Not verified: keep what was refused, put back what was verified.
	if err := os.RemoveAll(refused); err != nil {
		return h.save(st, err)
	}
	if _, err := os.Lstat(staging); err == nil {
		if err := os.Rename(staging, refused); err != nil {
			return h.save(st, err)
		}
		st.RefusedCopy = refused
	}
	h.alarm("repository '%s' did NOT verify: %s", repo, st.Result)
	if st.Message != "" {
		h.alarm("  %s", st.Message)
	}
	if st.Good != nil {
		if err := h.copier.restore(tree, good); err != nil {
			return h.save(st, fmt.Errorf("restoring %s from the last verified snapshot %s: %w", location, good, err))
		}
		if diffs, err := differences(tree, good); err != nil || len(diffs) > 0 {
			return h.save(st, fmt.Errorf("after restoring, %s still differs from the last verified snapshot %s: %v %v", location, good, err, diffs))
		}
		st.Kept = KeptRestored
		h.alarm("  %s is back to the last verified snapshot: %s", location, st.Good)
	} else {
		if err := emptyTree(tree); err != nil {
			return h.save(st, fmt.Errorf("moving the unverified tree out of %s: %w", location, err))
		}
		st.Kept = KeptEmptied
		h.alarm("  there is no verified snapshot of '%s' yet: %s is now empty, so that nothing unverified is used", repo, location)
	}
	if st.RefusedCopy != "" {
		h.alarm("  the tree that did not verify is kept in %s", st.RefusedCopy)
	}
	return h.save(st, nil)
}

// save records st; a hook error goes in it too, so that the global hook
// reports it.
func (h *Hook) save(st *Status, hookErr error) (*Status, error) {
	if hookErr != nil {
		if st.Code == Verified {
			st.Code, st.Result = LocalState, ResultName(LocalState)
		}
		st.Message = strings.TrimSpace(st.Message + " (and the hook failed: " + hookErr.Error() + ")")
		h.alarm("repository '%s': %v", st.Repo, hookErr)
	}
	if err := statefile.Save(filepath.Join(h.dir(st.Repo), StatusFile), st, 0o600); err != nil {
		return st, errors.Join(hookErr, fmt.Errorf("recording the status: %w", err))
	}
	return st, hookErr
}

// promote makes staging the last verified snapshot. A crash leaves good,
// or good.old that recoverSwap puts back.
func promote(staging, good string) error {
	old := good + ".old"
	if err := os.RemoveAll(old); err != nil {
		return err
	}
	if err := os.Rename(good, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Rename(staging, good); err != nil {
		return err
	}
	return os.RemoveAll(old)
}

// recoverSwap finishes or undoes a promote a crash interrupted.
func recoverSwap(good string) error {
	old := good + ".old"
	if _, err := os.Lstat(good); errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Lstat(old); err == nil {
			return os.Rename(old, good)
		}
		return nil
	}
	return os.RemoveAll(old)
}

// emptyTree removes every entry of location but the excluded top-level
// ones (their copy is in the refused snapshot).
func emptyTree(location string) error {
	ents, err := os.ReadDir(location)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		if excluded(e.Name()) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(location, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// readSnapshot describes a verified snapshot by its MetaManifest (already
// verified: parsed here only to name it).
func readSnapshot(dir string, verified time.Time) *Snapshot {
	mmPath, _ := metamanifest.Paths(dir)
	s := &Snapshot{VerifiedAt: verified}
	if data, err := untrusted.ReadFile(mmPath, metamanifest.MaxSize, "the MetaManifest"); err == nil {
		if m, _, err := metamanifest.Parse(data); err == nil {
			s.Origin, s.Timestamp = m.Origin, m.Timestamp
		}
	}
	return s
}

func (s *Snapshot) String() string {
	return fmt.Sprintf("%s snapshot %s, verified %s", s.Origin, s.Timestamp.Format(time.RFC3339), s.VerifiedAt.Format(time.RFC3339))
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return untrusted.Escape(l)
		}
	}
	return ""
}

// limitedWriter keeps the first n bytes written to it.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}

// Report prints the status of every configured repository that has one
// and returns 0 if each verified at its last sync, else 1: the global
// postsync.d hook, whose failure makes the sync fail.
func (h *Hook) Report() (int, error) {
	ents, err := os.ReadDir(h.ConfigDir)
	if err != nil {
		return Usage, fmt.Errorf("reading the repository settings in %s: %w", h.ConfigDir, err)
	}
	var repos []string
	for _, e := range ents {
		if name, ok := strings.CutSuffix(e.Name(), ".conf"); ok && CheckRepoName(name) == nil {
			repos = append(repos, name)
		}
	}
	sort.Strings(repos)
	bad := 0
	for _, repo := range repos {
		st, err := h.LoadStatus(repo)
		switch {
		case err != nil:
			bad++
			h.alarm("%s: its status is unreadable: %v", repo, err)
		case st == nil:
			h.say("%s: not synced since treelog's hooks were installed", repo)
		case st.Code == Verified:
			h.say("%s: verified at its last sync (%s): %s", repo, st.Time.Format(time.RFC3339), st.Good)
		default:
			bad++
			h.alarm("%s: NOT VERIFIED at its last sync (%s): %s", repo, st.Time.Format(time.RFC3339), st.Result)
			if st.Message != "" {
				h.alarm("  %s", st.Message)
			}
			switch st.Kept {
			case KeptRestored:
				h.alarm("  %s holds the last verified snapshot: %s", st.Location, st.Good)
			case KeptEmptied:
				h.alarm("  %s is empty: no snapshot of it has verified yet", st.Location)
			default:
				h.alarm("  %s may hold the unverified tree: do not use it until a sync verifies", st.Location)
			}
		}
	}
	if bad > 0 {
		h.alarm("%d repositor%s did not verify; see above, and 'Recovering' in treelog's docs/operations.md", bad, map[bool]string{true: "y", false: "ies"}[bad == 1])
		return Refused, nil
	}
	return Verified, nil
}
