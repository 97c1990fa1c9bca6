package audit

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"time"

	"treelog/index"
	"treelog/internal/statefile"
	"treelog/lag"
)

// State is the auditor's progress, written atomically and durably so that
// a restart resumes where it stopped: every field describes the same
// prefix of the log, so no entry is skipped and none is counted twice.
type State struct {
	Version int `json:"version"`
	// Checkpoint is the latest checkpoint of the log the auditor verified
	// (signature, and consistency with the one before); entries are
	// verified against its tiles.
	Checkpoint []byte `json:"checkpoint,omitempty"`
	// Scanned is the number of entries verified, from index 0.
	Scanned uint64 `json:"scanned"`
	// Origins is the newest MetaManifest per origin among the entries.
	Origins map[string]OriginState `json:"origins"`
	// Mirrors is the newest snapshot each tree mirror served.
	Mirrors map[string]MirrorState `json:"mirrors"`
	// Roots are the pinned trust roots' chains among the entries.
	Roots map[string]RootProgress `json:"roots,omitempty"`
	// Pending are checkpoints larger than the verified one that some
	// vantage point showed and the log could not (yet) be proven to
	// extend: kept across runs, so that a cron run sees what the one
	// before saw, and proven or disproven when the log grows.
	Pending map[string]PendingView `json:"pending,omitempty"`
	// Index is the log's index recomputed from the entries scanned (nil
	// in a state from before the index: it is then replayed anew).
	Index *index.ReplayState `json:"index,omitempty"`
	// Carried are the checkpoints index entries carry that are not yet
	// proven consistent with the verified view: kept with the index
	// replay's progress, so that a pass cut short checks them next time.
	Carried []CarriedCheckpoint `json:"carried,omitempty"`
}

// CarriedCheckpoint is a checkpoint an index entry carries.
type CarriedCheckpoint struct {
	Position   uint64 `json:"position"` // the index entry's
	Checkpoint []byte `json:"checkpoint"`
}

// OriginState is an origin's newest logged snapshot, and the recent ones
// with what the checkpoints proved about when each entered the log (for
// the mirror lag rule, package lag).
type OriginState struct {
	Timestamp time.Time        `json:"timestamp"`
	Index     uint64           `json:"index"`
	Recent    []RecentSnapshot `json:"recent,omitempty"`
}

// RecentSnapshot is a logged snapshot and the bounds on when it entered
// the log.
type RecentSnapshot struct {
	Index     uint64     `json:"index"`
	Timestamp time.Time  `json:"timestamp"`
	Bounds    lag.Bounds `json:"bounds"`
}

// MirrorState is what a mirror served last.
type MirrorState struct {
	Origin    string    `json:"origin"`
	Timestamp time.Time `json:"timestamp"`
	Seen      time.Time `json:"seen"`
}

// PendingView is a checkpoint a vantage point showed that is not proven
// consistent with the verified view, and since when.
type PendingView struct {
	Checkpoint []byte    `json:"checkpoint"`
	Since      time.Time `json:"since"`
}

const stateFile = "state.json"

// A StateError is a problem of the auditor's own state directory (in use
// by another auditor, corrupt, unwritable): not an alert, not an outage.
type StateError struct{ Err error }

func (e *StateError) Error() string { return e.Err.Error() }
func (e *StateError) Unwrap() error { return e.Err }

// lockState takes the state directory for one auditor: two writing the
// same progress and alerts would undo each other's work.
func lockState(dir string) (*statefile.Lock, error) {
	l, err := statefile.Acquire(context.Background(), dir, 0)
	if errors.Is(err, statefile.ErrBusy) {
		return nil, &StateError{fmt.Errorf("auditor state directory %s is in use by another auditor", dir)}
	}
	if err != nil {
		return nil, &StateError{fmt.Errorf("auditor state: %w", err)}
	}
	return l, nil
}

func newState() *State {
	return &State{Version: 1, Origins: map[string]OriginState{}, Mirrors: map[string]MirrorState{}, Pending: map[string]PendingView{}}
}

// maxStateSize bounds the auditor's state file.
const maxStateSize = 256 << 20

// loadState reads the state in dir (empty if there is none).
func loadState(dir string) (*State, error) {
	p := filepath.Join(dir, stateFile)
	s := newState()
	found, err := statefile.Load(p, maxStateSize, s)
	if err != nil {
		return nil, &StateError{fmt.Errorf("auditor state %s is corrupt: %w (move it aside to start over)", p, err)}
	}
	if found && s.Version != 1 {
		return nil, &StateError{fmt.Errorf("auditor state %s: version %d, want 1", p, s.Version)}
	}
	if s.Origins == nil {
		s.Origins = map[string]OriginState{}
	}
	if s.Mirrors == nil {
		s.Mirrors = map[string]MirrorState{}
	}
	if s.Pending == nil {
		s.Pending = map[string]PendingView{}
	}
	return s, nil
}

func (s *State) save(dir string) error {
	if err := statefile.Save(filepath.Join(dir, stateFile), s, 0o644); err != nil {
		return &StateError{err}
	}
	return nil
}

// clone copies the state, so that a pass can work on a copy and publish it
// whole.
func (s *State) clone() *State {
	c := *s
	c.Origins = make(map[string]OriginState, len(s.Origins))
	for k, v := range s.Origins {
		v.Recent = append([]RecentSnapshot(nil), v.Recent...)
		c.Origins[k] = v
	}
	c.Mirrors = make(map[string]MirrorState, len(s.Mirrors))
	for k, v := range s.Mirrors {
		c.Mirrors[k] = v
	}
	c.Roots = maps.Clone(s.Roots)
	c.Pending = make(map[string]PendingView, len(s.Pending))
	for k, v := range s.Pending {
		c.Pending[k] = v
	}
	return &c
}
