package note

import (
	"crypto/ed25519"
	"testing"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	xnote "golang.org/x/mod/sumdb/note"
)

// BenchmarkVerify compares, in one run, crypto/ed25519 (the rule, and what
// x/mod's verifier calls) with the precomputed verifier every party here
// uses, and with curve25519-voi batch verification (cofactored, so not
// usable under the one rule; shown for what it would have bought).
func BenchmarkVerify(b *testing.B) {
	skey, vkey, _ := GenerateKey(nil, "bench.example/k", TypeEd25519)
	s, _ := NewSigner(skey)
	msg := []byte("treelog-metamanifest/v1\norigin bench.example/tree\ntimestamp 2026-12-01T00:00:00Z\n")
	sig, _ := s.Sign(msg)
	k, _ := ParseVerifierKey(vkey)
	b.Run("crypto-ed25519", func(b *testing.B) {
		for b.Loop() {
			if !ed25519.Verify(k.Public, msg, sig) {
				b.Fatal("bad")
			}
		}
	})
	b.Run("x-mod-note-verifier", func(b *testing.B) {
		v, _ := xnote.NewVerifier(vkey)
		for b.Loop() {
			if !v.Verify(msg, sig) {
				b.Fatal("bad")
			}
		}
	})
	b.Run("precomputed", func(b *testing.B) {
		v := k.Verifier()
		for b.Loop() {
			if !v.Verify(msg, sig) {
				b.Fatal("bad")
			}
		}
	})
	b.Run("voi-batch-of-64-per-sig", func(b *testing.B) {
		x, _ := voi.NewExpandedPublicKey(voi.PublicKey(k.Public))
		for b.Loop() {
			bv := voi.NewBatchVerifierWithCapacity(64)
			for range 64 {
				bv.AddExpanded(x, msg, sig)
			}
			if !bv.VerifyBatchOnly(nil) {
				b.Fatal("bad")
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*64), "ns/sig")
	})
}

// BenchmarkOpen is a whole note: x/mod's parse and one verification.
func BenchmarkOpen(b *testing.B) {
	skey, vkey, _ := GenerateKey(nil, "bench.example/k", TypeEd25519)
	s, _ := NewSigner(skey)
	msg, _ := Sign("treelog-metamanifest/v1\norigin bench.example/tree\ntimestamp 2026-12-01T00:00:00Z\n", s)
	v, _ := NewVerifier(vkey)
	for b.Loop() {
		if _, err := Open(msg, v); err != nil {
			b.Fatal(err)
		}
	}
}
