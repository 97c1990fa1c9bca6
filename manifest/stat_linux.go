package manifest

import "syscall"

// cacheSupported: the verification cache needs nanosecond change times
// and inode numbers, as Linux reports them.
const cacheSupported = true

func toFileStat(st *syscall.Stat_t) fileStat {
	return fileStat{
		dev: st.Dev, ino: st.Ino, size: st.Size,
		mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano(),
	}
}

// fstatFD returns the stat of an open file.
func fstatFD(fd int) (fileStat, error) { return statRetry(fd, "") }

// statPath returns the stat of path, following symbolic links as the
// walk does.
func statPath(path string) (fileStat, error) { return statRetry(-1, path) }

// statRetry stats path, or the open file fd if path is "", retrying when
// a signal interrupts it.
func statRetry(fd int, path string) (fileStat, error) {
	var st syscall.Stat_t
	for {
		var err error
		if path == "" {
			err = syscall.Fstat(fd, &st)
		} else {
			err = syscall.Stat(path, &st)
		}
		if err == nil {
			return toFileStat(&st), nil
		}
		if err != syscall.EINTR {
			return fileStat{}, err
		}
	}
}
