package note

import (
	"crypto/ed25519"
	"testing"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	xnote "golang.org/x/mod/sumdb/note"

	"treelog/internal/testkit/edge"
)

// TestEd25519Vectors holds the one Ed25519 rule: every verifier in this
// package accepts exactly what crypto/ed25519 accepts, on inputs built to
// split implementations (small-order and mixed-order A and R, non-canonical
// encodings, S at and over the group order). It also shows the vectors
// would catch the rule the auditor used to batch-verify with (ZIP-215,
// cofactored): it disagrees with crypto/ed25519 on some of them.
func TestEd25519Vectors(t *testing.T) {
	vs := edge.Vectors()
	valid, zip215Differs := 0, 0
	for i, v := range vs {
		want := ed25519.Verify(v.Pub, v.Msg, v.Sig)
		if want {
			valid++
		}
		if got := newPublicKey(v.Pub).verify(v.Msg, v.Sig); got != want {
			t.Errorf("vector %d (%s): publicKey.verify = %v, crypto/ed25519 = %v\npub %x\nsig %x", i, v.Name, got, want, v.Pub, v.Sig)
		}
		if z := voi.VerifyWithOptions(voi.PublicKey(v.Pub), v.Msg, v.Sig, &voi.Options{Verify: voi.VerifyOptionsZIP_215}); z != want {
			zip215Differs++
		}
		// Through the public types, as notes are verified.
		k := VerifierKey{Name: "k", Type: TypeEd25519, Public: v.Pub}
		k.ID = KeyID(k.Name, k.Type, k.Public)
		if got := k.Verifier().Verify(v.Msg, v.Sig); got != want {
			t.Errorf("vector %d (%s): Verifier.Verify = %v, crypto/ed25519 = %v", i, v.Name, got, want)
		}
		if xv, err := xnote.NewVerifier(k.String()); err == nil && xv.Verify(v.Msg, v.Sig) != want {
			t.Errorf("vector %d (%s): x/mod disagrees with crypto/ed25519", i, v.Name)
		}
	}
	t.Logf("%d vectors, %d valid by crypto/ed25519, %d judged otherwise by ZIP-215", len(vs), valid, zip215Differs)
	if valid < 20 || zip215Differs < 20 {
		t.Errorf("the vectors do not reach the edges: %d valid, %d where ZIP-215 differs", valid, zip215Differs)
	}
	// Mixed-order keys take the precomputed path: the riskiest one.
	k := edge.NewKey(7, 3)
	if newPublicKey(k.Pub).x == nil {
		t.Error("a mixed-order key is not precomputed; the vectors above do not test that path")
	}
	for _, ok := range []bool{true, false} {
		sig := k.Sign([]byte("m"), ok)
		if got := newPublicKey(k.Pub).verify([]byte("m"), sig); got != ok {
			t.Errorf("mixed-order key, cofactorless-valid %v: verify = %v", ok, got)
		}
	}
}
