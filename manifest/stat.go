package manifest

import "errors"

// A fileStat is what tells that a file did not change since it was last
// hashed: a mirror that rewrites a file (rsync writes a new one and
// renames it) changes its inode and change time, and a write in place
// changes its change time, which no unprivileged program can set back.
type fileStat struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64 // nanoseconds since the epoch
}

// A statPair records a file's stat when it was opened and once it was
// read: a file whose stat changed while it was hashed is not cached.
type statPair struct {
	st     fileStat
	stable bool
}

func (p *statPair) before(fd int) {
	st, err := fstatFD(fd)
	p.st, p.stable = st, err == nil
}

func (p *statPair) after(fd int) {
	st, err := fstatFD(fd)
	p.stable = p.stable && err == nil && st == p.st
}

var errNoCache = errors.New("the verification cache is supported on Linux only")

// testHookAfterRead, if set (by tests), runs when hashPath has read a file
// whose stat it records, before the second stat.
var testHookAfterRead func(path string)
