// Package mirror is a tree mirror for tests and the demo: an HTTP server
// that serves a tree directory file by file (dot-files included, so
// .treelog/ travels with the tree) and as one tar archive, and the sync
// that fetches the archive into a fresh directory, as a user's sync would.
package mirror

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
)

// MaxArchive bounds what Sync downloads.
const MaxArchive = 2 << 30

// A Server serves the tree in its directory. SetDir switches trees, as a
// mirror that replays or freezes does.
type Server struct {
	mu  sync.Mutex
	dir string
}

// NewServer serves dir.
func NewServer(dir string) *Server { return &Server{dir: dir} }

// SetDir makes the mirror serve another directory.
func (s *Server) SetDir(dir string) {
	s.mu.Lock()
	s.dir = dir
	s.mu.Unlock()
}

// Dir returns the directory served.
func (s *Server) Dir() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dir
}

// ServeHTTP serves GET /snapshot.tar (the whole tree) and GET /<path>.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	dir := s.Dir()
	if r.URL.Path == "/snapshot.tar" {
		w.Header().Set("Content-Type", "application/x-tar")
		if err := writeTar(w, dir); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
		return
	}
	p := path.Clean("/" + r.URL.Path)
	f := filepath.Join(dir, filepath.FromSlash(p))
	fi, err := os.Stat(f)
	if err != nil || !fi.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	http.ServeFile(w, r, f)
}

func writeTar(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if !d.IsDir() && !d.Type().IsRegular() {
			return nil
		}
		h, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// Sync downloads the mirror's tree into dst, which must not exist.
func Sync(ctx context.Context, baseURL, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("%s exists", dst)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(baseURL, "/")+"/snapshot.tar", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("syncing from %s: %w", baseURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("syncing from %s: %s", baseURL, resp.Status)
	}
	tr := tar.NewReader(io.LimitReader(resp.Body, MaxArchive))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("syncing from %s: %w", baseURL, err)
		}
		name := path.Clean(h.Name)
		if strings.HasPrefix(name, "../") || strings.HasPrefix(name, "/") || name == ".." {
			return fmt.Errorf("syncing from %s: unsafe path %q", baseURL, h.Name)
		}
		p := filepath.Join(dst, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			f.Close()
			if err != nil {
				return err
			}
		}
	}
}

// CopyTree copies a directory tree (regular files and directories), as a
// mirror keeping a snapshot does.
func CopyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		t := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(t, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(t, b, 0o644)
	})
}
