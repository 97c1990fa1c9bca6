//go:build !unix

package manifest

import (
	"errors"
	"io"
	"os"

	"treelog/internal/untrusted"
)

type fileID struct{ dev, ino uint64 }

// dirID is not available here; symbolic link loops end at the OS's limit.
func dirID(*os.File) (fileID, error) { return fileID{}, errors.New("not supported") }

// hashPath hashes a file into m, reading at most limit+1 bytes (limit < 0:
// no limit). There is no stat cache here: st stays not stable.
func hashPath(path string, m *multiHasher, limit int64, _ *statPair) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var n int64
	for limit < 0 || n <= limit {
		k, err := f.Read(buf)
		if k > 0 {
			m.write(buf[:k])
			n += int64(k)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// readBounded reads a whole Manifest file, refusing more than MaxSize.
func readBounded(name string, _ int64, _ *statPair) ([]byte, error) {
	return untrusted.ReadFile(name, MaxSize, "Manifest")
}
