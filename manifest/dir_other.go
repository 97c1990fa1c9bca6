//go:build !linux

package manifest

import "os"

// listDir lists a directory with os.ReadDir's machinery; the directory's
// stat carries only its identity, for symbolic link loop detection.
func listDir(path string) (ents []dirEntry, st fileStat, openErr bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileStat{}, true, err
	}
	defer f.Close()
	if id, err := dirID(f); err == nil {
		st = fileStat{dev: id.dev, ino: id.ino}
	}
	des, err := f.ReadDir(-1)
	if err != nil {
		return nil, fileStat{}, false, err
	}
	for _, de := range des {
		ents = append(ents, dirEntry{name: de.Name(), mode: de.Type()})
	}
	return ents, st, false, nil
}
