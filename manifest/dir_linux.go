package manifest

import (
	"io/fs"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// direntBufs hold getdents buffers.
var direntBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// listDir lists a directory with plain system calls: open, fstat, getdents
// and close, where os.Open and ReadDir add a poller registration and a
// DirEntry per name. It returns the names (unsorted) with their types from
// the directory entries (0 for an entry whose type the file system does not
// give), and the directory's own stat. openErr says whether the failure was
// opening (rather than reading) it.
func listDir(path string) (ents []dirEntry, st fileStat, openErr bool, err error) {
	var fd int
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, fileStat{}, true, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	if st, err = fstatFD(fd); err != nil {
		return nil, fileStat{}, true, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	bp := direntBufs.Get().(*[]byte)
	defer direntBufs.Put(bp)
	buf := *bp
	for {
		n, err := syscall.ReadDirent(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, fileStat{}, false, &os.PathError{Op: "readdirent", Path: path, Err: err}
		}
		if n <= 0 {
			return ents, st, false, nil
		}
		for b := buf[:n]; len(b) > 0; {
			d := (*syscall.Dirent)(unsafe.Pointer(&b[0]))
			rec := b[:d.Reclen]
			b = b[d.Reclen:]
			name := rec[unsafe.Offsetof(d.Name):]
			for i, c := range name {
				if c == 0 {
					name = name[:i]
					break
				}
			}
			if len(name) == 0 || (name[0] == '.' && (len(name) == 1 || len(name) == 2 && name[1] == '.')) {
				continue
			}
			ents = append(ents, dirEntry{name: string(name), mode: direntMode(d.Type)})
		}
	}
}

// direntMode returns the type bits of a directory entry's type, or
// fs.ModeIrregular when the file system does not say (DT_UNKNOWN).
func direntMode(t uint8) fs.FileMode {
	switch t {
	case syscall.DT_REG:
		return 0
	case syscall.DT_DIR:
		return fs.ModeDir
	case syscall.DT_LNK:
		return fs.ModeSymlink
	case syscall.DT_FIFO:
		return fs.ModeNamedPipe
	case syscall.DT_SOCK:
		return fs.ModeSocket
	case syscall.DT_CHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case syscall.DT_BLK:
		return fs.ModeDevice
	}
	return fs.ModeIrregular
}
