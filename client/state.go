package client

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"treelog/internal/atomicfile"
	"treelog/internal/statefile"
)

// StateFile is the name of the client's state in its state directory.
const StateFile = "state.json"

// CacheDir is the directory, in the state directory, of the verification
// caches of the trees this client verified. They are not trusted state: a
// cache that is missing or unusable only makes the next verification hash
// every file.
const CacheDir = "tree-cache"

// maxStateSize bounds the state file a client reads.
const maxStateSize = 16 << 20

// State is what a client trusts, kept between runs: per log, the latest
// checkpoint it verified; per tree origin, the newest MetaManifest it saw.
type State struct {
	Version int                  `json:"version"`
	Logs    map[string]LogState  `json:"logs"`
	Trees   map[string]TreeState `json:"trees"`
}

// LogState is the latest trusted checkpoint of one log.
type LogState struct {
	// Checkpoint is the signed checkpoint, with the cosignatures that made
	// the client trust it.
	Checkpoint []byte    `json:"checkpoint"`
	Updated    time.Time `json:"updated"`
}

// TreeState is the newest snapshot of one tree the client saw.
type TreeState struct {
	Timestamp time.Time `json:"timestamp"`
	Index     uint64    `json:"index"`
	// MetaManifest is kept as evidence for a later rollback.
	MetaManifest []byte `json:"metamanifest"`
}

// LocalError means this machine's own state is unreadable or corrupt. It
// is never reported as an attack, and the state is never reset silently.
type LocalError struct {
	Path string
	Err  error
}

func (e *LocalError) Error() string {
	return fmt.Sprintf("local state %s is unreadable or corrupt: %v (this is a problem of this machine, not of the tree; inspect it, or start over with 'treelog state reset --state %s')", e.Path, e.Err, filepath.Dir(e.Path))
}

func (e *LocalError) Unwrap() error { return e.Err }

// DefaultStateDir returns $XDG_STATE_HOME/treelog, or ~/.local/state/treelog.
func DefaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "treelog")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "treelog-state")
	}
	return filepath.Join(home, ".local", "state", "treelog")
}

// LoadState reads the state in dir; a missing file is an empty state.
func LoadState(dir string) (*State, error) {
	p := filepath.Join(dir, StateFile)
	s := &State{Version: 1}
	found, err := statefile.Load(p, maxStateSize, s)
	if err != nil {
		return nil, &LocalError{Path: p, Err: err}
	}
	if found && s.Version != 1 {
		return nil, &LocalError{Path: p, Err: fmt.Errorf("state version %d, want 1", s.Version)}
	}
	if s.Logs == nil {
		s.Logs = map[string]LogState{}
	}
	if s.Trees == nil {
		s.Trees = map[string]TreeState{}
	}
	return s, nil
}

// Save writes the state atomically and durably: after a crash or power
// loss the file holds either the old state or the new, whole.
func (s *State) Save(dir string) error {
	p := filepath.Join(dir, StateFile)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return &LocalError{Path: p, Err: err}
	}
	if err := statefile.Save(p, s, 0o600); err != nil {
		return &LocalError{Path: p, Err: err}
	}
	return nil
}

// lockState holds the state directory while a verification reads and
// updates it, so that two verifications at once cannot roll the trusted
// checkpoint back. A second one waits for the first.
func lockState(ctx context.Context, dir string) (*statefile.Lock, error) {
	l, err := statefile.Acquire(ctx, dir, 5*time.Minute)
	if err != nil {
		return nil, &LocalError{Path: dir, Err: err}
	}
	return l, nil
}

// ResetState moves an existing state file aside (never deleting it: it may
// be evidence) and leaves an empty state. It returns where the old one went.
func ResetState(dir string) (string, error) {
	p := filepath.Join(dir, StateFile)
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	aside := p + ".reset-" + time.Now().UTC().Format("20060102T150405Z")
	if err := os.Rename(p, aside); err != nil {
		return "", err
	}
	return aside, atomicfile.SyncDir(dir)
}
