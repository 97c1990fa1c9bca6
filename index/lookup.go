package index

import (
	"context"
	"fmt"

	"treelog/internal/untrusted"
)

// A Fetcher reads the index's files: a node or a chunk by its hash. Lookup
// checks what it returns against the hash.
type Fetcher interface {
	Node(ctx context.Context, h Hash) ([]byte, error)
	Chunk(ctx context.Context, h Hash) ([]byte, error)
}

// A Path is what a lookup read, from the root down: the nodes and the
// chunk, each under the hash that committed to it. It is the evidence
// that the index said what it said.
type Path struct {
	Nodes [][]byte
	Chunk []byte
}

// Lookup returns the newest chunk of origin in the trie with the given
// root, or nil if the trie has no such origin. Every node and the chunk
// are checked against the hash that names them, so a fetcher can be any
// mirror: a wrong byte is an error wrapping ErrMismatch (or ErrMalformed),
// never a wrong answer.
func Lookup(ctx context.Context, f Fetcher, root Hash, origin string) (*Chunk, *Path, error) {
	key := KeyOf(origin)
	path := &Path{}
	h := root
	for d := 0; d < 2*HashSize; d++ {
		n, data, err := FetchNode(ctx, f, h)
		if data != nil {
			path.Nodes = append(path.Nodes, data)
		}
		if err != nil {
			return nil, path, err
		}
		c := n.Children[nibble(key, d)]
		switch c.Kind {
		case ChildNone:
			return nil, path, nil
		case ChildLeaf:
			if c.Key != key {
				return nil, path, nil
			}
			ch, data, err := FetchChunk(ctx, f, c.Value)
			if err != nil {
				return nil, path, err
			}
			path.Chunk = data
			if ch.Origin != origin {
				return nil, path, untrusted.Malformed(ErrMalformed, "index chunk %s is of origin %q, but the trie holds it under %q", c.Value, ch.Origin, origin)
			}
			return ch, path, nil
		case ChildNode:
			h = c.Node
		}
	}
	return nil, path, untrusted.Malformed(ErrMalformed, "index trie is deeper than %d levels", 2*HashSize)
}

// FetchNode reads and parses the trie node with hash h. It returns the
// bytes once they hash to h, even if they do not parse.
func FetchNode(ctx context.Context, f Fetcher, h Hash) (*Node, []byte, error) {
	data, err := f.Node(ctx, h)
	if err != nil {
		return nil, nil, fmt.Errorf("reading index node %s: %w", h, err)
	}
	if HashOf(data) != h {
		return nil, nil, fmt.Errorf("index node %s: the bytes served %w", h, ErrMismatch)
	}
	n, err := ParseNode(data)
	if err != nil {
		return nil, data, fmt.Errorf("index node %s: %w", h, err)
	}
	return n, data, nil
}

// FetchChunk reads and parses the chunk with hash h.
func FetchChunk(ctx context.Context, f Fetcher, h Hash) (*Chunk, []byte, error) {
	data, err := f.Chunk(ctx, h)
	if err != nil {
		return nil, nil, fmt.Errorf("reading index chunk %s: %w", h, err)
	}
	if HashOf(data) != h {
		return nil, data, fmt.Errorf("index chunk %s: the bytes served %w", h, ErrMismatch)
	}
	c, err := ParseChunk(data)
	if err != nil {
		return nil, data, fmt.Errorf("index chunk %s: %w", h, err)
	}
	return c, data, nil
}

// A History walks an origin's records from the newest back, one chunk at
// a time, checking that each chunk ends just before the one after it.
type History struct {
	f      Fetcher
	chunk  *Chunk
	i      int // next record to return, in chunk.Records, counting down
	Chunks [][]byte
}

// NewHistory starts a walk at an origin's newest chunk (from Lookup).
func NewHistory(f Fetcher, newest *Chunk, data []byte) *History {
	return &History{f: f, chunk: newest, i: len(newest.Records) - 1, Chunks: [][]byte{data}}
}

// Next returns the next older record; ok is false after the origin's
// first record.
func (h *History) Next(ctx context.Context) (rec Record, ok bool, err error) {
	if h.i < 0 {
		if !h.chunk.HasPrevious() {
			return Record{}, false, nil
		}
		prev, data, err := FetchChunk(ctx, h.f, h.chunk.Previous)
		if err != nil {
			return Record{}, false, err
		}
		h.Chunks = append(h.Chunks, data)
		first := h.chunk.Records[0]
		if prev.Origin != h.chunk.Origin || prev.Last().Seq+1 != first.Seq || prev.Last().Index >= first.Index {
			return Record{}, false, untrusted.Malformed(ErrMalformed, "index chunk %s (record %d of %q) does not end just before the chunk after it (record %d of %q)",
				h.chunk.Previous, prev.Last().Seq, prev.Origin, first.Seq, h.chunk.Origin)
		}
		h.chunk, h.i = prev, len(prev.Records)-1
	}
	r := h.chunk.Records[h.i]
	h.i--
	return r, true, nil
}
