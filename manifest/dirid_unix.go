//go:build unix && !linux

package manifest

import (
	"errors"
	"os"
	"syscall"
)

// dirID returns a directory's device and inode (listDir, where the Linux
// one does not list with plain system calls).
func dirID(f *os.File) (fileID, error) {
	fi, err := f.Stat()
	if err != nil {
		return fileID{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, errors.New("no inode information")
	}
	return fileID{dev: uint64(st.Dev), ino: st.Ino}, nil
}
