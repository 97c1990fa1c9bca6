package checkpoint

import (
	"fmt"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// LeafHash returns the RFC 6962 hash of a log entry.
func LeafHash(entry []byte) Hash {
	return Hash(rfc6962.DefaultHasher.HashLeaf(entry))
}

// NodeHash returns the RFC 6962 hash of an interior node.
func NodeHash(left, right Hash) Hash {
	return Hash(rfc6962.DefaultHasher.HashChildren(left[:], right[:]))
}

func slices(hs []Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}

// VerifyInclusion checks that entry is the entry at index in the tree of cp.
func VerifyInclusion(cp Checkpoint, index uint64, entry []byte, path []Hash) error {
	if index >= cp.Size {
		return fmt.Errorf("inclusion proof: index %d is not below the tree size %d", index, cp.Size)
	}
	lh := LeafHash(entry)
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, index, cp.Size, lh[:], slices(path), cp.Hash[:]); err != nil {
		return fmt.Errorf("inclusion proof of index %d in tree size %d does not verify: %w", index, cp.Size, err)
	}
	return nil
}

// VerifyConsistency checks an RFC 6962 consistency proof from the tree of
// old to the tree of new (old.Size <= new.Size). Equal sizes need an empty
// proof and equal roots; an empty old tree is consistent with any tree.
func VerifyConsistency(old, new Checkpoint, path []Hash) error {
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, old.Size, new.Size, slices(path), old.Hash[:], new.Hash[:]); err != nil {
		return fmt.Errorf("consistency proof from size %d to %d does not verify: %w", old.Size, new.Size, err)
	}
	return nil
}
