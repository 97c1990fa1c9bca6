package tiles

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"treelog/internal/atomicfile"
)

// A Store keeps verified tiles between runs. Only full tiles are stored:
// they never change, so a client that verified one against any checkpoint
// need not fetch it again.
type Store interface {
	Get(level, index uint64) ([]byte, bool)
	Put(level, index uint64, data []byte)
}

// DirStore stores full tiles as files under a directory, laid out like the
// log's own tile paths.
type DirStore struct {
	Dir string
	// MaxTiles bounds the files kept (default 4096, 32 MiB).
	MaxTiles int
	count    int
}

// NewDirStore returns a store in dir, creating it.
func NewDirStore(dir string) (*DirStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	s := &DirStore{Dir: dir, MaxTiles: 4096}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && !strings.HasPrefix(d.Name(), ".") {
			s.count++
		}
		return nil
	})
	return s, nil
}

func (s *DirStore) path(level, index uint64) string {
	return filepath.Join(s.Dir, filepath.FromSlash(TilePath(level, index, 0)))
}

// Get returns a stored full tile. A file of the wrong size (a torn write)
// is ignored and refetched.
func (s *DirStore) Get(level, index uint64) ([]byte, bool) {
	b, err := os.ReadFile(s.path(level, index))
	if err != nil || len(b) != MaxTileSize {
		return nil, false
	}
	return b, true
}

// Put stores a verified full tile, unless the store is full.
func (s *DirStore) Put(level, index uint64, data []byte) {
	if len(data) != MaxTileSize || s.count >= s.MaxTiles {
		return
	}
	p := s.path(level, index)
	if _, err := os.Stat(p); err == nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return
	}
	if atomicfile.WriteFile(p, data, 0o644) == nil {
		s.count++
	}
}

// WithStore makes the prover read full tiles from st first, and save the
// full tiles it verifies there.
func (p *Prover) WithStore(st Store) *Prover {
	p.store = st
	return p
}

func (p *Prover) fromStore(t tlog.Tile) ([]byte, bool) {
	if p.store == nil || t.W != TileWidth {
		return nil, false
	}
	return p.store.Get(uint64(t.L), uint64(t.N))
}

func (p *Prover) toStore(t tlog.Tile, d []byte) {
	if p.store != nil && t.W == TileWidth {
		p.store.Put(uint64(t.L), uint64(t.N), d)
	}
}
