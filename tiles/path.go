// Package tiles reads transparency logs through the c2sp.org/tlog-tiles API:
// resource paths, entry bundles, an HTTP reader bounded in size and time
// that tries several log mirrors, and inclusion and consistency proofs
// computed from tiles that are verified against a checkpoint before use.
package tiles

import (
	"fmt"
	"strconv"
	"strings"
)

// TileWidth is the number of hashes in a full tile (and entries in a full
// bundle).
const TileWidth = 256

// TilePath returns the path of a Merkle tree tile: "tile/<L>/<N>[.p/<W>]".
// width is the number of hashes of a partial tile, or 0 for a full tile.
func TilePath(level, index uint64, width uint8) string {
	return "tile/" + strconv.FormatUint(level, 10) + "/" + indexPath(index) + partial(width)
}

// EntriesPath returns the path of an entry bundle:
// "tile/entries/<N>[.p/<W>]".
func EntriesPath(index uint64, width uint8) string {
	return "tile/entries/" + indexPath(index) + partial(width)
}

func partial(width uint8) string {
	if width == 0 {
		return ""
	}
	return ".p/" + strconv.Itoa(int(width))
}

// indexPath encodes N in 3-digit path elements, all but the last prefixed
// with "x": 1234067 is "x001/x234/067".
func indexPath(n uint64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n >= 1000 {
		n /= 1000
		s = fmt.Sprintf("x%03d/%s", n%1000, s)
	}
	return s
}

// A Resource is a parsed tile or entry bundle path.
type Resource struct {
	// Entries is true for an entry bundle, false for a hash tile.
	Entries bool
	// Level is the tile level (0 for entry bundles).
	Level uint64
	// Index is the tile's index within its level.
	Index uint64
	// Width is the partial width, or 0 for a full tile.
	Width uint8
}

// Path returns the resource's canonical path.
func (r Resource) Path() string {
	if r.Entries {
		return EntriesPath(r.Index, r.Width)
	}
	return TilePath(r.Level, r.Index, r.Width)
}

// ParsePath parses a tile or entry bundle path (without a leading slash),
// accepting only the canonical form the spec defines.
func ParsePath(p string) (Resource, error) {
	rest, ok := strings.CutPrefix(p, "tile/")
	if !ok {
		return Resource{}, fmt.Errorf("path %q does not start with tile/", p)
	}
	var r Resource
	first, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return Resource{}, fmt.Errorf("path %q has no tile index", p)
	}
	if first == "entries" {
		r.Entries = true
	} else {
		l, err := strconv.ParseUint(first, 10, 8)
		if err != nil || l > 63 || strconv.FormatUint(l, 10) != first {
			return Resource{}, fmt.Errorf("path %q: level %q is not 0 to 63 without leading zeros", p, first)
		}
		r.Level = l
	}
	idx, w, hasP := strings.Cut(rest, ".p/")
	if hasP {
		n, err := strconv.ParseUint(w, 10, 8)
		if err != nil || n < 1 || n > 255 || strconv.FormatUint(n, 10) != w {
			return Resource{}, fmt.Errorf("path %q: partial width %q is not 1 to 255", p, w)
		}
		r.Width = uint8(n)
	}
	elems := strings.Split(idx, "/")
	var n uint64
	for i, e := range elems {
		last := i == len(elems)-1
		if !last {
			if !strings.HasPrefix(e, "x") {
				return Resource{}, fmt.Errorf("path %q: index element %q lacks the x prefix", p, e)
			}
			e = e[1:]
		}
		if len(e) != 3 || strings.Trim(e, "0123456789") != "" {
			return Resource{}, fmt.Errorf("path %q: index element %q is not 3 digits", p, e)
		}
		d, _ := strconv.ParseUint(e, 10, 16)
		if n > (1<<64-1)/1000 {
			return Resource{}, fmt.Errorf("path %q: index too large", p)
		}
		n = n*1000 + d
	}
	r.Index = n
	if r.Path() != p {
		return Resource{}, fmt.Errorf("path %q is not canonical (want %q)", p, r.Path())
	}
	return r, nil
}
