package portage

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Top-level names that are not part of a repository's tree: Portage's
// own rsync excludes (which GLEP 74 and gemato IGNORE), and dot-names
// (Portage's quarantine directory, VCS directories) other than .treelog,
// which holds the MetaManifest and its proof. Snapshots leave them out
// and restoring leaves them alone.
var excludedTop = map[string]bool{"distfiles": true, "local": true, "lost+found": true, "packages": true}

func excluded(rel string) bool {
	if strings.ContainsRune(rel, filepath.Separator) {
		return false
	}
	return excludedTop[rel] || (strings.HasPrefix(rel, ".") && rel != ".treelog")
}

// A copier makes snapshots of trees and puts them back. Files are hard
// links where the filesystem allows (no data copied, and a snapshot stays
// what it was: rsync replaces changed files, it never writes into them),
// else copies.
type copier struct {
	// copyOnly copies files instead of linking them (tests of the
	// fallback used across filesystems).
	copyOnly bool
	// copied counts files that had to be copied.
	copied int
}

// snapshot copies the tree at src to dst, which must not exist.
func (c *copier) snapshot(src, dst string) error {
	if _, err := os.Lstat(dst); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("snapshot %s: already exists", dst)
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel != "." && excluded(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		return c.place(p, filepath.Join(dst, rel), d.Type())
	})
}

// place puts a copy of the entry at from (of type typ) at to, which does
// not exist.
func (c *copier) place(from, to string, typ fs.FileMode) error {
	st, err := os.Lstat(from)
	if err != nil {
		return err
	}
	switch {
	case typ.IsDir():
		if err := os.Mkdir(to, st.Mode().Perm()); err != nil {
			return err
		}
		return chown(to, st)
	case typ.IsRegular():
		if !c.copyOnly {
			err := os.Link(from, to)
			if err == nil {
				return nil
			}
			if !errors.Is(err, syscall.EXDEV) && !errors.Is(err, syscall.EPERM) && !errors.Is(err, syscall.EMLINK) {
				return err
			}
		}
		c.copied++
		return copyFile(from, to, st)
	case typ&fs.ModeSymlink != 0:
		target, err := os.Readlink(from)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, to); err != nil {
			return err
		}
		return chown(to, st)
	}
	return fmt.Errorf("%s: a %s, not a file, directory or symbolic link", from, typ.Type())
}

func copyFile(from, to string, st fs.FileInfo) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := os.Chtimes(to, st.ModTime(), st.ModTime()); err != nil {
		return err
	}
	return chown(to, st)
}

// chown gives p the owner of st, so that a tree synced as the portage
// user (FEATURES=usersync) stays writable by it. Only root can; others
// keep their own files.
func chown(p string, st fs.FileInfo) error {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok || os.Geteuid() != 0 {
		return nil
	}
	return os.Lchown(p, int(s.Uid), int(s.Gid))
}

// restore makes the tree at live what the snapshot at good holds, leaving
// the excluded top-level names of live alone. Every file is replaced by
// rename, so a reader sees the old file or the new one, never a mix.
func (c *copier) restore(live, good string) error {
	err := filepath.WalkDir(good, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(good, p)
		if rel == "." {
			return nil
		}
		return c.restoreEntry(p, filepath.Join(live, rel), d.Type())
	})
	if err != nil {
		return err
	}
	// Remove what the snapshot does not hold.
	return filepath.WalkDir(live, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(live, p)
		if rel == "." {
			return nil
		}
		if excluded(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if _, err := os.Lstat(filepath.Join(good, rel)); errors.Is(err, fs.ErrNotExist) {
			if err := os.RemoveAll(p); err != nil {
				return err
			}
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		} else if err != nil {
			return err
		}
		return nil
	})
}

func (c *copier) restoreEntry(from, to string, typ fs.FileMode) error {
	cur, err := os.Lstat(to)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if typ.IsDir() {
		if exists && cur.IsDir() {
			st, err := os.Lstat(from)
			if err != nil {
				return err
			}
			if err := os.Chmod(to, st.Mode().Perm()); err != nil {
				return err
			}
			return chown(to, st)
		}
		if exists {
			if err := os.RemoveAll(to); err != nil {
				return err
			}
		}
		return c.place(from, to, typ)
	}
	if exists && same(from, to, typ) {
		return nil
	}
	tmp := to + ".treelog-restore"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := c.place(from, tmp, typ); err != nil {
		return err
	}
	if exists && cur.IsDir() {
		if err := os.RemoveAll(to); err != nil {
			return err
		}
	}
	return os.Rename(tmp, to)
}

// same reports whether to already is the snapshot's entry from: the same
// file (a hard link), or a symbolic link to the same target.
func same(from, to string, typ fs.FileMode) bool {
	a, err1 := os.Lstat(from)
	b, err2 := os.Lstat(to)
	if err1 != nil || err2 != nil || a.Mode().Type() != b.Mode().Type() {
		return false
	}
	if typ&fs.ModeSymlink != 0 {
		t1, err1 := os.Readlink(from)
		t2, err2 := os.Readlink(to)
		return err1 == nil && err2 == nil && t1 == t2
	}
	return os.SameFile(a, b)
}

// differences lists how the tree at live differs from the snapshot at
// good (excluded top-level names of live aside): entries missing on
// either side, of another type, or files that are neither the same file
// nor equal byte for byte. Empty means live is the snapshot.
func differences(live, good string) ([]string, error) {
	var diffs []string
	seen := map[string]bool{}
	err := filepath.WalkDir(good, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(good, p)
		seen[rel] = true
		if rel == "." {
			return nil
		}
		lp := filepath.Join(live, rel)
		st, err := os.Lstat(lp)
		switch {
		case err != nil || st.Mode().Type() != d.Type():
			diffs = append(diffs, rel)
		case d.IsDir():
		case d.Type().IsRegular():
			if !same(p, lp, d.Type()) && !equalFiles(p, lp) {
				diffs = append(diffs, rel)
			}
		case !same(p, lp, d.Type()):
			diffs = append(diffs, rel)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = filepath.WalkDir(live, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(live, p)
		if rel != "." && excluded(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !seen[rel] {
			diffs = append(diffs, rel)
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
	return diffs, err
}

func equalFiles(a, b string) bool {
	x, err1 := os.ReadFile(a)
	y, err2 := os.ReadFile(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}
