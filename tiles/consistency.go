package tiles

import (
	"context"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"treelog/checkpoint"
)

// ConsistencyProofTo returns the RFC 6962 consistency proof from the tree
// of size oldSize to the tree of size newSize, both prefixes of the tree of
// cp, read from tiles checked against cp: what a log serves as a compact
// proof between any two sizes it published.
func (p *Prover) ConsistencyProofTo(ctx context.Context, oldSize, newSize uint64, cp checkpoint.Checkpoint) ([]checkpoint.Hash, error) {
	if oldSize > newSize || newSize > cp.Size {
		return nil, fmt.Errorf("consistency proof from %d to %d: not within the tree size %d", oldSize, newSize, cp.Size)
	}
	if oldSize == 0 || oldSize == newSize {
		return nil, nil
	}
	hr, readErr := p.hashReader(ctx, cp)
	pr, err := tlog.ProveTree(int64(newSize), int64(oldSize), hr)
	if err != nil {
		return nil, fmt.Errorf("consistency proof from %d to %d: %w", oldSize, newSize, classify(err, readErr, cp))
	}
	return toHashes(pr), nil
}

// ReadConsistencyProof fetches a compact consistency proof from oldSize to
// newSize (GET proof/consistency/OLD/NEW, which treelog's log serves and
// a static mirror does not: ErrNotFound then). The proof is unverified:
// checkpoint.VerifyConsistency checks it against the two checkpoints.
func (r *HTTPReader) ReadConsistencyProof(ctx context.Context, oldSize, newSize uint64) ([]checkpoint.Hash, error) {
	b, err := r.get(ctx, fmt.Sprintf("proof/consistency/%d/%d", oldSize, newSize), checkpoint.MaxConsistencyHashes*45)
	if err != nil {
		return nil, err
	}
	return checkpoint.ParseConsistencyProof(b)
}
