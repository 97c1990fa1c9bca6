package tiles

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/mod/sumdb/tlog"

	"treelog/checkpoint"
)

// A Prover computes proofs from a log's tiles. Every tile it uses is first
// checked against the checkpoint the proof is for (golang.org/x/mod/sumdb/
// tlog's tile authentication), and only checked tiles are cached.
type Prover struct {
	r     Reader
	mu    sync.Mutex
	cache map[tlog.Tile]*list.Element
	lru   *list.List
	max   int
	store Store
}

type cached struct {
	tile tlog.Tile
	data []byte
}

// NewProver returns a prover reading tiles from r, caching up to
// cacheTiles verified tiles (8 KiB each).
func NewProver(r Reader, cacheTiles int) *Prover {
	return &Prover{r: r, cache: map[tlog.Tile]*list.Element{}, lru: list.New(), max: cacheTiles}
}

// tileReader adapts a Reader to tlog.TileReader for one request. It keeps
// the error of the last read: tlog returns it without saying so, and any
// other error tlog returns is its own finding that the tiles do not hash
// to the tree (see classify).
type tileReader struct {
	ctx     context.Context
	p       *Prover
	readErr *error
}

func (t tileReader) Height() int { return 8 }

func (t tileReader) ReadTiles(ts []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(ts))
	for i, tl := range ts {
		if d, ok := t.p.get(tl); ok {
			out[i] = d
			continue
		}
		// A stored tile was verified in an earlier run; tlog still checks
		// it against this tree before any hash from it is used.
		if d, ok := t.p.fromStore(tl); ok {
			out[i] = d
			continue
		}
		w := uint8(0)
		if tl.W < TileWidth {
			w = uint8(tl.W)
		}
		d, err := t.p.r.ReadTile(t.ctx, uint64(tl.L), uint64(tl.N), w)
		if errors.Is(err, ErrNotFound) && w != 0 {
			// Logs may delete a partial tile once the full one exists;
			// the full tile starts with the same hashes.
			if full, ferr := t.p.r.ReadTile(t.ctx, uint64(tl.L), uint64(tl.N), 0); ferr == nil && len(full) >= tl.W*32 {
				d, err = full[:tl.W*32], nil
			}
		}
		if err == nil && len(d) != tl.W*32 {
			err = fmt.Errorf("%w: %d bytes, want %d", ErrMismatch, len(d), tl.W*32)
		}
		if err != nil {
			*t.readErr = fmt.Errorf("reading %s: %w", TilePath(uint64(tl.L), uint64(tl.N), w), err)
			return nil, *t.readErr
		}
		out[i] = d
	}
	return out, nil
}

func (t tileReader) SaveTiles(ts []tlog.Tile, data [][]byte) {
	for i, tl := range ts {
		t.p.put(tl, data[i])
		t.p.toStore(tl, data[i])
	}
}

func (p *Prover) get(t tlog.Tile) ([]byte, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.cache[t]
	if !ok {
		return nil, false
	}
	p.lru.MoveToFront(e)
	return e.Value.(*cached).data, true
}

func (p *Prover) put(t tlog.Tile, d []byte) {
	if p.max <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.cache[t]; ok {
		return
	}
	p.cache[t] = p.lru.PushFront(&cached{tile: t, data: d})
	for p.lru.Len() > p.max {
		old := p.lru.Back()
		p.lru.Remove(old)
		delete(p.cache, old.Value.(*cached).tile)
	}
}

// hashReader returns a reader of cp's hashes and the place where it
// keeps its last read error, for classify.
func (p *Prover) hashReader(ctx context.Context, cp checkpoint.Checkpoint) (tlog.HashReader, *error) {
	readErr := new(error)
	return tlog.TileHashReader(tlog.Tree{N: int64(cp.Size), Hash: tlog.Hash(cp.Hash)}, tileReader{ctx: ctx, p: p, readErr: readErr}), readErr
}

// classify turns an error of tlog into one of ours: the read error it
// passed on (an outage, or bad data the reader caught), or else tlog's own
// finding that the tiles are not the tree cp signed: ErrMismatch.
func classify(err error, readErr *error, cp checkpoint.Checkpoint) error {
	if *readErr != nil {
		return *readErr
	}
	return fmt.Errorf("%w: its tiles do not hash to its checkpoint of size %d (%v)", ErrMismatch, cp.Size, err)
}

func toHashes(hs []tlog.Hash) []checkpoint.Hash {
	out := make([]checkpoint.Hash, len(hs))
	for i, h := range hs {
		out[i] = checkpoint.Hash(h)
	}
	return out
}

// InclusionProof returns the RFC 6962 inclusion proof of the entry at index
// in the tree of cp.
func (p *Prover) InclusionProof(ctx context.Context, cp checkpoint.Checkpoint, index uint64) ([]checkpoint.Hash, error) {
	if index >= cp.Size {
		return nil, fmt.Errorf("index %d is not below the tree size %d", index, cp.Size)
	}
	hr, readErr := p.hashReader(ctx, cp)
	pr, err := tlog.ProveRecord(int64(cp.Size), int64(index), hr)
	if err != nil {
		return nil, fmt.Errorf("inclusion proof of %d in tree size %d: %w", index, cp.Size, classify(err, readErr, cp))
	}
	return toHashes(pr), nil
}

// ConsistencyProof returns the RFC 6962 consistency proof from the tree of
// size oldSize to the tree of cp, read from tiles checked against cp.
func (p *Prover) ConsistencyProof(ctx context.Context, oldSize uint64, cp checkpoint.Checkpoint) ([]checkpoint.Hash, error) {
	if oldSize > cp.Size {
		return nil, fmt.Errorf("old size %d is above the tree size %d", oldSize, cp.Size)
	}
	if oldSize == 0 || oldSize == cp.Size {
		return nil, nil
	}
	hr, readErr := p.hashReader(ctx, cp)
	pr, err := tlog.ProveTree(int64(cp.Size), int64(oldSize), hr)
	if err != nil {
		return nil, fmt.Errorf("consistency proof from %d to %d: %w", oldSize, cp.Size, classify(err, readErr, cp))
	}
	return toHashes(pr), nil
}

// LeafHashes returns the leaf hashes of the level-0 tile with the given
// index, checked against cp.
func (p *Prover) LeafHashes(ctx context.Context, cp checkpoint.Checkpoint, tileIndex uint64) ([]checkpoint.Hash, error) {
	w, ok := BundleWidth(tileIndex, cp.Size)
	if !ok {
		return nil, fmt.Errorf("tree size %d has no tile %d", cp.Size, tileIndex)
	}
	n := TileWidth
	if w > 0 {
		n = int(w)
	}
	idx := make([]int64, n)
	for i := range idx {
		idx[i] = tlog.StoredHashIndex(0, int64(tileIndex)*TileWidth+int64(i))
	}
	hr, readErr := p.hashReader(ctx, cp)
	hs, err := hr.ReadHashes(idx)
	if err != nil {
		return nil, classify(err, readErr, cp)
	}
	return toHashes(hs), nil
}
