package index

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
