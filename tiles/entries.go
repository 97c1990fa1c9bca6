package tiles

import (
	"context"
	"fmt"

	"treelog/checkpoint"
)

// VerifiedEntries reads entry bundle b of the tree cp from r, and checks
// every entry against its leaf hash in cp (through p's verified tiles).
// An entry that does not hash to its leaf, or a bundle that does not
// parse, is ErrMismatch; a bundle that cannot be fetched, ErrUnavailable.
func VerifiedEntries(ctx context.Context, r Reader, p *Prover, cp checkpoint.Checkpoint, b uint64) ([][]byte, error) {
	leaves, err := p.LeafHashes(ctx, cp, b)
	if err != nil {
		return nil, fmt.Errorf("tiles of entry bundle %d: %w", b, err)
	}
	w, _ := BundleWidth(b, cp.Size)
	data, err := r.ReadEntryBundle(ctx, b, w)
	if err != nil {
		return nil, fmt.Errorf("entry bundle %d: %w", b, err)
	}
	entries, err := ParseEntryBundle(data, len(leaves))
	if err != nil {
		return nil, fmt.Errorf("%w: entry bundle %d: %w", ErrMismatch, b, err)
	}
	for i, e := range entries {
		if checkpoint.LeafHash(e) != leaves[i] {
			return nil, fmt.Errorf("%w: entry %d does not hash to its leaf in the checkpoint of size %d", ErrMismatch, b*TileWidth+uint64(i), cp.Size)
		}
	}
	return entries, nil
}
