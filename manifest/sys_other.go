//go:build !unix

package manifest

import (
	"errors"
	"fmt"
	"io"
	"os"
)

type fileID struct{ dev, ino uint64 }

// dirID is not available here; symbolic link loops end at the OS's limit.
func dirID(*os.File) (fileID, error) { return fileID{}, errors.New("not supported") }

func hashPath(path string, names []string, limit int64) (int64, Checksums, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	return hashReader(f, names, limit)
}

// hashReader hashes r with names, reading at most limit bytes (limit < 0:
// no limit). It returns the number of bytes read, which exceeds limit when
// the stream is longer than that.
func hashReader(r io.Reader, names []string, limit int64) (int64, Checksums, error) {
	m := getHasher(names)
	defer putHasher(m)
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var n int64
	for limit < 0 || n <= limit {
		k, err := r.Read(buf)
		if k > 0 {
			m.w.Write(buf[:k])
			n += int64(k)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, nil, err
		}
	}
	return n, m.sums(), nil
}

// readBounded reads a whole Manifest file, refusing more than MaxSize.
func readBounded(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%s: over %d bytes", name, MaxSize)
	}
	return b, nil
}
