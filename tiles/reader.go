package tiles

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
)

// A Reader reads a log's resources. tessera's LogReader satisfies it, and
// so does HTTPReader; width is the partial width, or 0 for a full tile.
type Reader interface {
	ReadCheckpoint(ctx context.Context) ([]byte, error)
	ReadTile(ctx context.Context, level, index uint64, width uint8) ([]byte, error)
	ReadEntryBundle(ctx context.Context, index uint64, width uint8) ([]byte, error)
}

// ErrNotFound is wrapped when a resource does not exist (yet).
var ErrNotFound = errors.New("not found")

// ParseEntryBundle splits an entry bundle into its entries: a sequence of
// big-endian uint16 length-prefixed entries. want is the number of entries
// the bundle must hold (its width).
func ParseEntryBundle(data []byte, want int) ([][]byte, error) {
	out := make([][]byte, 0, want)
	for len(data) > 0 {
		if len(data) < 2 {
			return nil, fmt.Errorf("entry bundle: truncated length prefix after %d entries", len(out))
		}
		n := int(binary.BigEndian.Uint16(data))
		if len(data) < 2+n {
			return nil, fmt.Errorf("entry bundle: entry %d is %d bytes but only %d remain", len(out), n, len(data)-2)
		}
		if len(out) == want {
			return nil, fmt.Errorf("entry bundle: more than %d entries", want)
		}
		out = append(out, data[2:2+n:2+n])
		data = data[2+n:]
	}
	if len(out) != want {
		return nil, fmt.Errorf("entry bundle: %d entries, want %d", len(out), want)
	}
	return out, nil
}

// MarshalEntryBundle joins entries into a bundle.
func MarshalEntryBundle(entries [][]byte) []byte {
	var b []byte
	for _, e := range entries {
		b = binary.BigEndian.AppendUint16(b, uint16(len(e)))
		b = append(b, e...)
	}
	return b
}

// BundleWidth returns the width of the entry bundle (or level-0 tile) with
// the given index in a tree of size n: 0 if it is full, else its partial
// width. It returns ok false if the tree has no such bundle.
func BundleWidth(index, size uint64) (width uint8, ok bool) {
	start := index * TileWidth
	switch {
	case start >= size:
		return 0, false
	case size-start >= TileWidth:
		return 0, true
	}
	return uint8(size - start), true
}
