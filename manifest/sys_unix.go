//go:build unix

package manifest

import (
	"fmt"
	"os"
	"syscall"
)

// fileID identifies a directory, to detect symbolic link loops.
type fileID struct{ dev, ino uint64 }

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

// readFull reads fd into buf, retrying on EINTR.
func readFD(fd int, buf []byte) (int, error) {
	for {
		k, err := syscall.Read(fd, buf)
		if err != syscall.EINTR {
			return k, err
		}
	}
}

// hashPath hashes a file into m with plain system calls: os.Open costs
// several more per file (poller registration, fcntl), which shows on trees
// of 150,000 small files. It reads at most limit+1 bytes (limit < 0: all),
// and stops at a short read that ends exactly at limit, saving the read
// that would return EOF. With st, it records the file's stat before and
// after reading (see statPair).
func hashPath(path string, m *multiHasher, limit int64, st *statPair) (int64, error) {
	fd, err := openRead(path)
	if err != nil {
		return 0, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	if st != nil {
		st.before(fd)
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var n int64
	for limit < 0 || n <= limit {
		k, err := readFD(fd, buf)
		if err != nil {
			return n, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if k == 0 {
			break
		}
		m.write(buf[:k])
		n += int64(k)
		if k < len(buf) && n == limit {
			break // a short read of a regular file is its end
		}
	}
	if st != nil {
		if testHookAfterRead != nil {
			testHookAfterRead(path)
		}
		st.after(fd)
	}
	return n, nil
}

// readBounded reads a whole Manifest file with plain system calls,
// refusing more than MaxSize bytes. size is the expected size (-1 if not
// known): the buffer is allocated once for it, and a short read that ends
// there is taken as the end. With st, it records the file's stat before
// and after reading.
func readBounded(path string, size int64, st *statPair) ([]byte, error) {
	fd, err := openRead(path)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	if st != nil {
		st.before(fd)
	}
	c := int64(16 << 10)
	if size >= 0 {
		c = min(size, MaxSize) + 1
	}
	b := make([]byte, 0, c)
	for {
		if len(b) == cap(b) {
			if len(b) > MaxSize {
				return nil, fmt.Errorf("%s: over %d bytes", path, MaxSize)
			}
			b = append(b, 0)[:len(b)]
		}
		k, err := readFD(fd, b[len(b):cap(b)])
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if k == 0 {
			break
		}
		b = b[:len(b)+k]
		if int64(len(b)) == size && len(b) < cap(b) {
			break // a short read of a regular file is its end
		}
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%s: over %d bytes", path, MaxSize)
	}
	if st != nil {
		st.after(fd)
	}
	return b, nil
}
