package tiles

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"treelog/internal/atomicfile"
)

// A Store keeps verified tiles between runs: full tiles, which never
// change, and partial ones (width 1..255), which the right edge of a
// checkpoint needs. With the tiles of a checkpoint it verified, a party
// can prove any smaller checkpoint consistent with it (or not) without
// asking the log, which may be the one lying. Stored tiles are still
// checked against the tree of each proof before use.
type Store interface {
	// Get returns tile (level, index) of the given width (0: full).
	Get(level, index uint64, width uint8) ([]byte, bool)
	// Put stores a verified tile.
	Put(level, index uint64, width uint8, data []byte)
}

// DirStore stores tiles as files under a directory, laid out like the
// log's own tile paths. It keeps one partial tile per position, the last
// stored: checkpoints only grow, so a narrower one is never needed again.
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

func (s *DirStore) path(level, index uint64, width uint8) string {
	return filepath.Join(s.Dir, filepath.FromSlash(TilePath(level, index, width)))
}

// Get returns a stored tile. A file of the wrong size (a torn write) is
// ignored and refetched.
func (s *DirStore) Get(level, index uint64, width uint8) ([]byte, bool) {
	b, err := os.ReadFile(s.path(level, index, width))
	if err != nil || len(b) != tileBytes(width) {
		return nil, false
	}
	return b, true
}

// Put stores a verified tile, unless the store is full, and removes the
// partial tiles at its position that it makes obsolete.
func (s *DirStore) Put(level, index uint64, width uint8, data []byte) {
	if len(data) != tileBytes(width) {
		return
	}
	p := s.path(level, index, width)
	if _, err := os.Stat(p); err == nil {
		return
	}
	// The partial tiles of this position live in "<index>.p/".
	partials := s.path(level, index, 0) + ".p"
	if entries, err := os.ReadDir(partials); err == nil {
		for _, e := range entries {
			if os.Remove(filepath.Join(partials, e.Name())) == nil {
				s.count--
			}
		}
	}
	if s.count >= s.MaxTiles {
		return
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return
	}
	if atomicfile.WriteFile(p, data, 0o644) == nil {
		s.count++
	}
}

func tileBytes(width uint8) int {
	if width == 0 {
		return MaxTileSize
	}
	return int(width) * 32
}

// WithStore makes the prover read tiles from st first, and save the tiles
// it verifies there.
func (p *Prover) WithStore(st Store) *Prover {
	p.store = st
	return p
}

func tileWidth(t tlog.Tile) uint8 {
	if t.W == TileWidth {
		return 0
	}
	return uint8(t.W)
}

func (p *Prover) fromStore(t tlog.Tile) ([]byte, bool) {
	if p.store == nil {
		return nil, false
	}
	return p.store.Get(uint64(t.L), uint64(t.N), tileWidth(t))
}

func (p *Prover) toStore(t tlog.Tile, d []byte) {
	if p.store != nil {
		p.store.Put(uint64(t.L), uint64(t.N), tileWidth(t), d)
	}
}
