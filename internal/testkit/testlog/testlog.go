// Package testlog is a minimal transparency log for tests and benchmarks:
// a real RFC 6962 Merkle tree over distinct entries, a log key, signed
// checkpoints and tlog-witness requests with consistency proofs.
package testlog

import (
	"fmt"

	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"

	"treelog/checkpoint"
	"treelog/note"
)

// A Log is an in-memory log.
type Log struct {
	Signer note.Signer
	VKey   string
	tree   *testonly.Tree
	salt   string
}

// New returns an empty log with a fresh key named origin. Two logs never
// share entries, so their trees differ at every size.
func New(origin string) (*Log, error) {
	sk, vk, err := note.GenerateKey(nil, origin, note.TypeEd25519)
	if err != nil {
		return nil, err
	}
	s, err := note.NewSigner(sk)
	if err != nil {
		return nil, err
	}
	return &Log{Signer: s, VKey: vk, tree: testonly.New(rfc6962.DefaultHasher), salt: vk}, nil
}

// WithKey returns an empty log whose checkpoints s signs (vkey is its
// verifier key), for logs with unusual keys.
func WithKey(s note.Signer, vkey string) *Log {
	return &Log{Signer: s, VKey: vkey, tree: testonly.New(rfc6962.DefaultHasher), salt: vkey}
}

// Fork returns a log with the same key but other entries: what a log that
// equivocates would sign.
func (l *Log) Fork() *Log {
	return &Log{Signer: l.Signer, VKey: l.VKey, tree: testonly.New(rfc6962.DefaultHasher), salt: l.salt + " fork"}
}

// Grow appends n entries.
func (l *Log) Grow(n int) {
	for range n {
		l.tree.AppendData([]byte(fmt.Sprintf("%s entry %d", l.salt, l.tree.Size())))
	}
}

// Size returns the number of entries.
func (l *Log) Size() uint64 { return l.tree.Size() }

// Root returns the root hash at size.
func (l *Log) Root(size uint64) checkpoint.Hash { return checkpoint.Hash(l.tree.HashAt(size)) }

// Checkpoint returns a signed checkpoint at size.
func (l *Log) Checkpoint(size uint64) []byte {
	cp, err := checkpoint.Sign(checkpoint.Checkpoint{Origin: l.Signer.Name(), Size: size, Hash: l.Root(size)}, l.Signer)
	if err != nil {
		panic(err)
	}
	return cp
}

// Proof returns the consistency proof from old to size.
func (l *Log) Proof(old, size uint64) []checkpoint.Hash {
	if old == 0 || old >= size {
		return nil
	}
	p, err := l.tree.ConsistencyProof(old, size)
	if err != nil {
		panic(err)
	}
	out := make([]checkpoint.Hash, len(p))
	for i, h := range p {
		out[i] = checkpoint.Hash(h)
	}
	return out
}

// WitnessRequest returns an add-checkpoint body from old to size.
func (l *Log) WitnessRequest(old, size uint64) []byte {
	b := fmt.Appendf(nil, "old %d\n", old)
	for _, h := range l.Proof(old, size) {
		b = append(b, checkpoint.Checkpoint{Hash: h}.HashString()+"\n"...)
	}
	b = append(b, '\n')
	return append(b, l.Checkpoint(size)...)
}
