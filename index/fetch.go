package index

import (
	"context"

	"treelog/checkpoint"
)

// A FileReader reads a log's files by path: tiles.HTTPReader is one (the
// log, then its mirrors).
type FileReader interface {
	ReadPath(ctx context.Context, path string, limit int) ([]byte, error)
}

// Files returns a Fetcher that reads nodes and chunks through r.
func Files(r FileReader) Fetcher { return files{r} }

type files struct{ r FileReader }

func (f files) Node(ctx context.Context, h Hash) ([]byte, error) {
	return f.r.ReadPath(ctx, NodePath(h), MaxNodeSize)
}

func (f files) Chunk(ctx context.Context, h Hash) ([]byte, error) {
	return f.r.ReadPath(ctx, ChunkPath(h), MaxChunkSize)
}

// ReadLatest reads index/latest through r: a c2sp.org/tlog-proof whose
// extra data is the newest index entry. Nothing in it is verified yet.
func ReadLatest(ctx context.Context, r FileReader) ([]byte, error) {
	return r.ReadPath(ctx, LatestPath, checkpoint.MaxProofSize)
}
