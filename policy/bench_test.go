package policy

import (
	"crypto/ed25519"
	"testing"
	"time"

	"treelog/note"
)

// BenchmarkEd25519Verify is the raw cost of one Ed25519 verification, the
// floor under every figure below (measured in the same run).
func BenchmarkEd25519Verify(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	msg := []byte("example.org/log\n1000\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")
	sig := ed25519.Sign(priv, msg)
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("verify failed")
		}
	}
}

// BenchmarkEd25519VerifyExpanded is the cost of one verification with the
// precomputed key tables treelog's verifiers use (curve25519-voi, with
// crypto/ed25519's exact rules).
func BenchmarkEd25519VerifyExpanded(b *testing.B) {
	skey, vkey, _ := note.GenerateKey(nil, "k", note.TypeEd25519)
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	msg := []byte("example.org/log\n1000\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")
	sig, _ := s.Sign(msg)
	b.ReportAllocs()
	for b.Loop() {
		if !v.Verify(msg, sig) {
			b.Fatal("verify failed")
		}
	}
}

// BenchmarkVerifyCheckpoint: one log signature and three cosignatures,
// checked against a 2-of-3 policy.
func BenchmarkVerifyCheckpoint(b *testing.B) {
	f := newProofFixture(b, 1000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.p.Verify(f.cp, WithMaxFutureSkew(time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkQuorumEval: the quorum rule of the tlog-policy spec's example
// (two levels of groups, six witnesses), without signatures.
func BenchmarkQuorumEval(b *testing.B) {
	text, _, _ := specPolicy(b)
	p, err := Parse([]byte(text))
	if err != nil {
		b.Fatal(err)
	}
	ok := map[string]bool{"X1": true, "X3": true, "Y2": true}
	b.ReportAllocs()
	for b.Loop() {
		if !p.QuorumMet(ok) {
			b.Fatal("quorum not met")
		}
	}
}

// BenchmarkVerifyProof: a tlog-proof for an entry of a 65,536-entry tree
// (16 proof hashes), checkpoint with 1+3 signatures, 2-of-3 policy.
func BenchmarkVerifyProof(b *testing.B) {
	f := newProofFixture(b, 1<<16)
	pr := f.proof(b, 700)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.p.VerifyProof(pr, f.entries[700]); err != nil {
			b.Fatal(err)
		}
	}
}
