// Package statefile keeps a party's state between runs: a state directory
// that one process holds at a time, and JSON files in it that are read
// with a size bound and written atomically and durably. The client and
// the auditor keep their state this way.
package statefile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"treelog/internal/atomicfile"
)

// ErrBusy is wrapped when another process holds the state directory.
var ErrBusy = errors.New("state directory is in use by another process")

// A Lock holds a state directory for this process. Two processes that
// each read, change and write the same state would undo each other's
// work (a client could roll its trusted checkpoint back). The lock goes
// with the process, so a crash never leaves it behind.
type Lock struct {
	f *os.File
}

// Acquire takes dir (creating it with mode 0700 if needed), waiting up to
// wait for another process to let go (0: not at all), or until ctx ends.
func Acquire(ctx context.Context, dir string, wait time.Duration) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return &Lock{f: f}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || !time.Now().Before(deadline) {
			f.Close()
			return nil, fmt.Errorf("%s: %w (%v)", dir, ErrBusy, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Release lets the directory go.
func (l *Lock) Release() error { return l.f.Close() }

// Load reads the JSON file at path into v, refusing a file over max bytes
// and fields v does not have. A missing file is not an error: found is
// false and v is unchanged.
func Load(path string, max int64, v any) (found bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return false, err
	}
	if int64(len(b)) > max {
		return false, fmt.Errorf("over %d bytes", max)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return false, fmt.Errorf("not valid JSON state: %w", err)
	}
	if dec.More() {
		return false, errors.New("not valid JSON state: data after the object")
	}
	return true, nil
}

// Save writes v as JSON to path, atomically and durably: after a crash or
// power loss the file holds either the old state or the new, whole.
func Save(path string, v any, perm os.FileMode) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(b, '\n'), perm)
}
