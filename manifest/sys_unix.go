//go:build unix

package manifest

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// fileID identifies a directory, to detect symbolic link loops.
type fileID struct{ dev, ino uint64 }

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

// openRead opens path for reading with a plain system call, retrying when
// a signal interrupts it.
func openRead(path string) (int, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}

// hashPath hashes a file with plain system calls: os.Open costs several
// more per file (poller registration, fcntl), which shows on trees of
// 150,000 small files. It reads at most limit+1 bytes (limit < 0: all), and
// stops at a short read that ends exactly at limit, saving the read that
// would return EOF.
func hashPath(path string, names []string, limit int64) (int64, Checksums, error) {
	fd, err := openRead(path)
	if err != nil {
		return 0, nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	m := getHasher(names)
	defer putHasher(m)
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var n int64
	for limit < 0 || n <= limit {
		k, err := syscall.Read(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return n, nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if k == 0 {
			break
		}
		m.w.Write(buf[:k])
		n += int64(k)
		if k < len(buf) && n == limit {
			break // a short read of a regular file is its end
		}
	}
	return n, m.sums(), nil
}

// readBounded reads a whole Manifest file with plain system calls,
// refusing more than MaxSize bytes.
func readBounded(path string) ([]byte, error) {
	fd, err := openRead(path)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	b := make([]byte, 0, 16<<10)
	for {
		if len(b) == cap(b) {
			if len(b) > MaxSize {
				return nil, fmt.Errorf("%s: over %d bytes", path, MaxSize)
			}
			b = append(b, 0)[:len(b)]
		}
		k, err := syscall.Read(fd, b[len(b):cap(b)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if k == 0 {
			break
		}
		b = b[:len(b)+k]
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%s: over %d bytes", path, MaxSize)
	}
	return b, nil
}
