package index

import (
	"context"

	"treelog/internal/untrusted"
)

// A Trie is the index's 16-ary Merkle trie in memory, as a builder holds
// it: keys are origins' keys (KeyOf), values the hashes of their newest
// chunks. Its shape depends only on its keys: a subtree holding one key is
// a leaf in its parent, one holding two or more is a node, whose children
// are chosen by the next 4 bits of the keys.
type Trie struct {
	root *trieNode
	n    int
}

type trieNode struct {
	kids    [16]trieKid
	hash    Hash
	hashed  bool // hash is up to date
	written bool // the node's current bytes were handed to Emit
}

type trieKid struct {
	kind     ChildKind
	key, val Hash
	node     *trieNode
}

// NewTrie returns an empty trie.
func NewTrie() *Trie { return &Trie{root: &trieNode{}} }

// Len returns the number of keys.
func (t *Trie) Len() int { return t.n }

// Get returns the value of key.
func (t *Trie) Get(key Hash) (Hash, bool) {
	n := t.root
	for d := 0; ; d++ {
		k := &n.kids[nibble(key, d)]
		switch k.kind {
		case ChildLeaf:
			return k.val, k.key == key
		case ChildNode:
			n = k.node
		default:
			return Hash{}, false
		}
	}
}

// Set sets the value of key.
func (t *Trie) Set(key, val Hash) {
	n := t.root
	for d := 0; ; d++ {
		n.hashed, n.written = false, false
		k := &n.kids[nibble(key, d)]
		switch k.kind {
		case ChildNone:
			*k = trieKid{kind: ChildLeaf, key: key, val: val}
			t.n++
			return
		case ChildLeaf:
			if k.key == key {
				k.val = val
				return
			}
			// Two keys share d+1 nibbles: push the old leaf down into a
			// new node, and go on inserting there.
			sub := &trieNode{}
			sub.kids[nibble(k.key, d+1)] = *k
			*k = trieKid{kind: ChildNode, node: sub}
			n = sub
		case ChildNode:
			n = k.node
		}
	}
}

// Root returns the root hash.
func (t *Trie) Root() Hash { return t.root.sum() }

func (n *trieNode) sum() Hash {
	if !n.hashed {
		n.hash = HashOf(n.marshal())
		n.hashed = true
	}
	return n.hash
}

func (n *trieNode) marshal() []byte {
	var p Node
	for i, k := range n.kids {
		p.Children[i].Kind = k.kind
		switch k.kind {
		case ChildLeaf:
			p.Children[i].Key, p.Children[i].Value = k.key, k.val
		case ChildNode:
			p.Children[i].Node = k.node.sum()
		}
	}
	return p.Marshal()
}

// Emit hands every node whose bytes changed since the last Emit to fn,
// children before parents, so that a reader never finds a node whose
// children are not there yet. It stops at fn's first error; those nodes
// are handed over again next time.
func (t *Trie) Emit(fn func(h Hash, data []byte) error) error {
	return t.root.emit(fn)
}

func (n *trieNode) emit(fn func(Hash, []byte) error) error {
	if n.written {
		return nil
	}
	for _, k := range n.kids {
		if k.kind == ChildNode {
			if err := k.node.emit(fn); err != nil {
				return err
			}
		}
	}
	data := n.marshal()
	h := HashOf(data)
	n.hash, n.hashed = h, true
	if err := fn(h, data); err != nil {
		return err
	}
	n.written = true
	return nil
}

// Each calls fn with every key and value, in key order.
func (t *Trie) Each(fn func(key, val Hash)) { t.root.each(fn) }

func (n *trieNode) each(fn func(key, val Hash)) {
	for _, k := range n.kids {
		switch k.kind {
		case ChildLeaf:
			fn(k.key, k.val)
		case ChildNode:
			k.node.each(fn)
		}
	}
}

// Clone returns a copy of the trie that later changes to either do not
// touch.
func (t *Trie) Clone() *Trie { return &Trie{root: t.root.clone(), n: t.n} }

func (n *trieNode) clone() *trieNode {
	c := *n
	for i, k := range c.kids {
		if k.kind == ChildNode {
			c.kids[i].node = k.node.clone()
		}
	}
	return &c
}

// A Difference is a key whose value differs between two tries.
type Difference struct {
	Key Hash
	// Mine and Theirs are the values; a nil one is absent from its trie.
	Mine, Theirs *Hash
}

// Diff compares the trie with the one of root theirs, read through f: it
// descends only where the two differ, and returns at most max keys whose
// values differ (max 0: all). Nodes read are checked against their hashes.
// Their trie is untrusted: a node read twice (an honest trie has no shared
// subtrees, its keys differing by prefix), or more nodes than a trie of
// this one's size could have, is an error rather than endless reading.
func (t *Trie) Diff(ctx context.Context, f Fetcher, theirs Hash, max int) ([]Difference, error) {
	d := &differ{f: f, max: max, seen: map[Hash]bool{}, budget: maxDiffNodes(t.n)}
	err := d.node(ctx, t.root, theirs, 0)
	return d.out, err
}

// maxDiffNodes bounds the nodes a Diff reads: every node of a trie of n
// keys (at most one a key above the leaves, plus a path's worth), twice
// over, and never less than a few paths.
func maxDiffNodes(n int) int { return 2*(n+1)*(2*HashSize) + 1024 }

type differ struct {
	f      Fetcher
	max    int
	out    []Difference
	seen   map[Hash]bool
	budget int
}

func (d *differ) node(ctx context.Context, mine *trieNode, theirs Hash, depth int) error {
	f, out, max := d.f, &d.out, d.max
	if mine != nil && mine.sum() == theirs {
		return nil
	}
	if depth >= 2*HashSize {
		return untrusted.Malformed(ErrMalformed, "index trie is deeper than %d levels", 2*HashSize)
	}
	if d.seen[theirs] {
		return untrusted.Malformed(ErrMalformed, "index trie node %s appears twice (a trie's subtrees are all distinct)", theirs)
	}
	d.seen[theirs] = true
	if len(d.seen) > d.budget {
		return untrusted.Malformed(ErrMalformed, "index trie has more than %d nodes where they differ, more than a trie of the log's keys could have", d.budget)
	}
	n, _, err := FetchNode(ctx, f, theirs)
	if err != nil {
		return err
	}
	for i := range 16 {
		var m trieKid
		if mine != nil {
			m = mine.kids[i]
		}
		c := n.Children[i]
		switch {
		case c.Kind == ChildNode:
			var sub *trieNode
			if m.kind == ChildNode {
				sub = m.node
			} else if m.kind == ChildLeaf {
				// My leaf sits where they have a subtree: compare it
				// against a one-key trie of mine at that depth.
				sub = &trieNode{}
				sub.kids[nibble(m.key, depth+1)] = m
			}
			if err := d.node(ctx, sub, c.Node, depth+1); err != nil {
				return err
			}
		default:
			theirKeys := map[Hash]Hash{}
			if c.Kind == ChildLeaf {
				theirKeys[c.Key] = c.Value
			}
			mineKeys := map[Hash]Hash{}
			if m.kind == ChildLeaf {
				mineKeys[m.key] = m.val
			} else if m.kind == ChildNode {
				m.node.each(func(k, v Hash) { mineKeys[k] = v })
			}
			for k, v := range mineKeys {
				if tv, ok := theirKeys[k]; !ok || tv != v {
					d := Difference{Key: k, Mine: &v}
					if ok {
						d.Theirs = &tv
					}
					*out = append(*out, d)
				}
			}
			for k, v := range theirKeys {
				if _, ok := mineKeys[k]; !ok {
					*out = append(*out, Difference{Key: k, Theirs: &v})
				}
			}
		}
		if max > 0 && len(*out) >= max {
			*out = (*out)[:max]
			return nil
		}
	}
	return nil
}
