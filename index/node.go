package index

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"

	"treelog/internal/untrusted"
)

// HashSize is the size of the index's hashes (SHA-256).
const HashSize = 32

// A Hash is a SHA-256 hash: a trie key, a node's or a chunk's hash.
type Hash [HashSize]byte

func (h Hash) String() string { return hex.EncodeToString(h[:]) }

func encodeHash(h Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

// KeyOf returns the trie key of an origin: SHA-256 of its name.
func KeyOf(origin string) Hash { return sha256.Sum256([]byte(origin)) }

// HashOf returns the hash by which a node or a chunk is addressed:
// SHA-256 of its bytes.
func HashOf(data []byte) Hash { return sha256.Sum256(data) }

// Node bytes: nodeType, a 16-bit bitmap of the children present (bit i
// for nibble i), then each present child in nibble order: leafTag, the
// key and the value (a chunk's hash), or nodeTag and the subtree node's
// hash.
const (
	nodeType = 0x01
	leafTag  = 0x00
	nodeTag  = 0x01
	// MaxNodeSize is the largest node: sixteen leaves.
	MaxNodeSize = 3 + 16*(1+2*HashSize)
)

// EmptyRoot is the root of the empty trie: a node with no children.
var EmptyRoot = HashOf([]byte{nodeType, 0, 0})

// A Child is one of a node's sixteen children.
type Child struct {
	// Kind is ChildNone, ChildLeaf or ChildNode.
	Kind ChildKind
	// Key and Value are a leaf's: an origin's key and its newest chunk.
	Key, Value Hash
	// Node is a subtree's hash.
	Node Hash
}

// ChildKind says what a child is.
type ChildKind uint8

// Kinds of children.
const (
	ChildNone ChildKind = iota
	ChildLeaf
	ChildNode
)

// A Node is a parsed trie node.
type Node struct {
	Children [16]Child
}

// Marshal returns the node's bytes.
func (n *Node) Marshal() []byte {
	var bitmap uint16
	size := 3
	for i, c := range n.Children {
		switch c.Kind {
		case ChildLeaf:
			bitmap |= 1 << i
			size += 1 + 2*HashSize
		case ChildNode:
			bitmap |= 1 << i
			size += 1 + HashSize
		}
	}
	b := make([]byte, 0, size)
	b = append(b, nodeType)
	b = binary.BigEndian.AppendUint16(b, bitmap)
	for _, c := range n.Children {
		switch c.Kind {
		case ChildLeaf:
			b = append(b, leafTag)
			b = append(b, c.Key[:]...)
			b = append(b, c.Value[:]...)
		case ChildNode:
			b = append(b, nodeTag)
			b = append(b, c.Node[:]...)
		}
	}
	return b
}

// ParseNode parses a trie node.
func ParseNode(data []byte) (*Node, error) {
	if len(data) > MaxNodeSize {
		return nil, untrusted.Malformed(ErrMalformed, "trie node is %d bytes, over the limit of %d", len(data), MaxNodeSize)
	}
	if len(data) < 3 || data[0] != nodeType {
		return nil, untrusted.Malformed(ErrMalformed, "trie node: want type byte 0x%02x and a bitmap", nodeType)
	}
	bitmap := binary.BigEndian.Uint16(data[1:3])
	rest := data[3:]
	n := &Node{}
	for i := range 16 {
		if bitmap&(1<<i) == 0 {
			continue
		}
		if len(rest) == 0 {
			return nil, untrusted.Malformed(ErrMalformed, "trie node: child %x is missing", i)
		}
		c := &n.Children[i]
		switch rest[0] {
		case leafTag:
			if len(rest) < 1+2*HashSize {
				return nil, untrusted.Malformed(ErrMalformed, "trie node: leaf %x is cut short", i)
			}
			c.Kind = ChildLeaf
			copy(c.Key[:], rest[1:])
			copy(c.Value[:], rest[1+HashSize:])
			rest = rest[1+2*HashSize:]
		case nodeTag:
			if len(rest) < 1+HashSize {
				return nil, untrusted.Malformed(ErrMalformed, "trie node: subtree %x is cut short", i)
			}
			c.Kind = ChildNode
			copy(c.Node[:], rest[1:])
			rest = rest[1+HashSize:]
		default:
			return nil, untrusted.Malformed(ErrMalformed, "trie node: child %x has tag 0x%02x, want 0x00 (leaf) or 0x01 (subtree)", i, rest[0])
		}
	}
	if len(rest) != 0 {
		return nil, untrusted.Malformed(ErrMalformed, "trie node: %d bytes after its children", len(rest))
	}
	return n, nil
}

// nibble returns the d-th 4-bit digit of key, most significant first.
func nibble(key Hash, d int) int {
	b := key[d/2]
	if d%2 == 0 {
		return int(b >> 4)
	}
	return int(b & 0x0f)
}

// MarshalText writes the hash in hex (for JSON state files).
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText reads a hash written by MarshalText.
func (h *Hash) UnmarshalText(b []byte) error {
	if len(b) != 2*HashSize {
		return errorf("hash %q is not %d hex digits", b, 2*HashSize)
	}
	_, err := hex.Decode(h[:], b)
	return err
}
