package index

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// LatestPath is where a log serves its newest index entry, as the extra
// data of a c2sp.org/tlog-proof under its latest checkpoint. It changes
// with every checkpoint; every other index file never changes.
const LatestPath = "index/latest"

// NodePath returns the path of the trie node with hash h:
// "index/node/<2 hex digits>/<64 hex digits>" (the first two digits again,
// as a directory, so that no directory holds too many files).
func NodePath(h Hash) string { return hashPath("node", h) }

// ChunkPath returns the path of the chunk with hash h:
// "index/chunk/<2 hex digits>/<64 hex digits>".
func ChunkPath(h Hash) string { return hashPath("chunk", h) }

func hashPath(kind string, h Hash) string {
	s := h.String()
	return "index/" + kind + "/" + s[:2] + "/" + s
}

// A File is a parsed index file path.
type File struct {
	// Kind is "latest", "node" or "chunk".
	Kind string
	// Hash names a node or a chunk.
	Hash Hash
}

// Path returns the file's canonical path.
func (f File) Path() string {
	switch f.Kind {
	case "node":
		return NodePath(f.Hash)
	case "chunk":
		return ChunkPath(f.Hash)
	}
	return LatestPath
}

// ParsePath parses an index file path (without a leading slash), accepting
// only the canonical form.
func ParsePath(p string) (File, error) {
	if p == LatestPath {
		return File{Kind: "latest"}, nil
	}
	parts := strings.Split(p, "/")
	if len(parts) != 4 || parts[0] != "index" || (parts[1] != "node" && parts[1] != "chunk") {
		return File{}, fmt.Errorf("path %q is not an index file", p)
	}
	var f File
	f.Kind = parts[1]
	if len(parts[3]) != 2*HashSize || strings.Trim(parts[3], "0123456789abcdef") != "" {
		return File{}, fmt.Errorf("path %q: want 64 lowercase hex digits", p)
	}
	hex.Decode(f.Hash[:], []byte(parts[3]))
	if f.Path() != p {
		return File{}, fmt.Errorf("path %q is not canonical (want %q)", p, f.Path())
	}
	return f, nil
}
