package note

import (
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/hex"
	"math/rand/v2"
	"testing"

	"filippo.io/edwards25519"
	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	xnote "golang.org/x/mod/sumdb/note"
)

// A vector is an Ed25519 verification input built to sit on an edge.
type vector struct {
	name string
	pub  []byte
	msg  []byte
	sig  []byte
}

// torsion returns the eight points of small order, from one of order 8.
func torsion(t *testing.T) []*edwards25519.Point {
	t.Helper()
	b, _ := hex.DecodeString("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
	t8, err := new(edwards25519.Point).SetBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	pts := []*edwards25519.Point{edwards25519.NewIdentityPoint()}
	for i := 1; i < 8; i++ {
		pts = append(pts, new(edwards25519.Point).Add(pts[i-1], t8))
	}
	if new(edwards25519.Point).Add(pts[7], t8).Equal(edwards25519.NewIdentityPoint()) != 1 {
		t.Fatal("the order-8 point is not of order 8")
	}
	return pts
}

// nonCanonical returns every encoding of a point whose y is at or above
// the field order (y+p for y < 19), with either sign bit, that decodes.
func nonCanonical() [][]byte {
	var out [][]byte
	for y := 0; y < 19; y++ {
		for _, sign := range []byte{0, 0x80} {
			// p = 2^255 - 19, so y+p = 2^255 - 19 + y: little-endian
			// 0xed+y, then 0xff..., top byte 0x7f.
			b := make([]byte, 32)
			b[0] = byte(0xed + y)
			for i := 1; i < 31; i++ {
				b[i] = 0xff
			}
			b[31] = 0x7f | sign
			if _, err := new(edwards25519.Point).SetBytes(b); err == nil {
				out = append(out, b)
			}
		}
	}
	// x = 0 with the sign bit set ("-0"): identity and the order-2 point.
	id := edwards25519.NewIdentityPoint().Bytes()
	id[31] |= 0x80
	out = append(out, id)
	return out
}

func scalarFromHash(parts ...[]byte) *edwards25519.Scalar {
	h := sha512.New()
	for _, p := range parts {
		h.Write(p)
	}
	s, _ := edwards25519.NewScalar().SetUniformBytes(h.Sum(nil))
	return s
}

func randomScalar(r *rand.Rand) *edwards25519.Scalar {
	b := make([]byte, 64)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	s, _ := edwards25519.NewScalar().SetUniformBytes(b)
	return s
}

// sigFor signs msg for the public key encoding aEnc whose discrete log
// (its prime-order part) is a, with nonce point encoding rEnc whose
// discrete log is r: S = r + H(R||A||M)·a.
func sigFor(aEnc, rEnc []byte, a, r *edwards25519.Scalar, msg []byte) []byte {
	k := scalarFromHash(rEnc, aEnc, msg)
	s := edwards25519.NewScalar().MultiplyAdd(k, a, r)
	return append(append([]byte{}, rEnc...), s.Bytes()...)
}

// ed25519Vectors builds the edge cases: keys and nonces with small-order
// components, of small order, in non-canonical encodings, and S at and
// above the group order, over a few messages; both valid and invalid.
func ed25519Vectors(t *testing.T) []vector {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	tors := torsion(t)
	var vs []vector
	msgs := [][]byte{[]byte("treelog\n"), {}, []byte("example.org/log\n1\nAAAA\n")}
	add := func(name string, pub, msg, sig []byte) {
		vs = append(vs, vector{name, pub, msg, sig})
	}
	// Keys and nonces with every torsion component: cofactorless
	// verification accepts only when the components cancel.
	for _, TA := range tors {
		for _, TR := range tors {
			for _, msg := range msgs {
				a, r := randomScalar(rng), randomScalar(rng)
				A := new(edwards25519.Point).Add(new(edwards25519.Point).ScalarBaseMult(a), TA)
				R := new(edwards25519.Point).Add(new(edwards25519.Point).ScalarBaseMult(r), TR)
				add("torsion A+R", A.Bytes(), msg, sigFor(A.Bytes(), R.Bytes(), a, r, msg))
				// Small-order keys (a = 0) and nonces.
				zero := edwards25519.NewScalar()
				add("small-order A", TA.Bytes(), msg, sigFor(TA.Bytes(), R.Bytes(), zero, r, msg))
				add("small-order A and R", TA.Bytes(), msg, sigFor(TA.Bytes(), TR.Bytes(), zero, zero, msg))
			}
		}
	}
	// Non-canonical encodings of small-order points, as A and as R.
	for _, enc := range nonCanonical() {
		for _, msg := range msgs {
			zero := edwards25519.NewScalar()
			r := randomScalar(rng)
			R := new(edwards25519.Point).ScalarBaseMult(r)
			add("non-canonical A", enc, msg, sigFor(enc, R.Bytes(), zero, r, msg))
			a := randomScalar(rng)
			A := new(edwards25519.Point).ScalarBaseMult(a)
			add("non-canonical R", A.Bytes(), msg, sigFor(A.Bytes(), enc, a, zero, msg))
			add("non-canonical A and R", enc, msg, sigFor(enc, enc, zero, zero, msg))
		}
	}
	// S at and above the group order L: the same signature with S+L.
	pub, priv, _ := ed25519.GenerateKey(nil)
	l, _ := hex.DecodeString("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
	for _, msg := range msgs {
		sig := ed25519.Sign(priv, msg)
		add("honest", pub, msg, sig)
		big := append([]byte{}, sig...)
		var carry uint16
		for i := 0; i < 32; i++ {
			v := uint16(big[32+i]) + uint16(l[i]) + carry
			big[32+i], carry = byte(v), v>>8
		}
		if carry == 0 {
			add("S+L", pub, msg, big)
		}
		add("S=L", pub, msg, append(append([]byte{}, sig[:32]...), l...))
		flipped := append([]byte{}, sig...)
		flipped[5] ^= 1
		add("bad R", pub, msg, flipped)
		add("wrong length", pub, msg, sig[:63])
	}
	// Keys that are not points at all.
	notAPoint, _ := hex.DecodeString("0200000000000000000000000000000000000000000000000000000000000000")
	add("A not on the curve", notAPoint, msgs[0], make([]byte, 64))
	return vs
}

// TestEd25519Vectors holds the one Ed25519 rule: every verifier in this
// package accepts exactly what crypto/ed25519 accepts, on inputs built to
// split implementations (small-order and mixed-order A and R, non-canonical
// encodings, S at and over the group order). It also shows the vectors
// would catch the rule the auditor used to batch-verify with (ZIP-215,
// cofactored): it disagrees with crypto/ed25519 on some of them.
func TestEd25519Vectors(t *testing.T) {
	vs := ed25519Vectors(t)
	valid, zip215Differs := 0, 0
	for i, v := range vs {
		want := len(v.pub) == ed25519.PublicKeySize && ed25519.Verify(v.pub, v.msg, v.sig)
		if want {
			valid++
		}
		if got := newPublicKey(v.pub).verify(v.msg, v.sig); got != want {
			t.Errorf("vector %d (%s): publicKey.verify = %v, crypto/ed25519 = %v\npub %x\nsig %x", i, v.name, got, want, v.pub, v.sig)
		}
		if z := voi.VerifyWithOptions(voi.PublicKey(v.pub), v.msg, v.sig, &voi.Options{Verify: voi.VerifyOptionsZIP_215}); z != want {
			zip215Differs++
		}
		// Through the public types, as notes are verified: a plain
		// Ed25519 key and a cosignature key.
		k := VerifierKey{Name: "k", Type: TypeEd25519, Public: v.pub}
		k.ID = KeyID(k.Name, k.Type, k.Public)
		if got := k.Verifier().Verify(v.msg, v.sig); got != want {
			t.Errorf("vector %d (%s): Verifier.Verify = %v, crypto/ed25519 = %v", i, v.name, got, want)
		}
		if xv, err := xnote.NewVerifier(k.String()); err == nil && xv.Verify(v.msg, v.sig) != want {
			t.Errorf("vector %d (%s): x/mod disagrees with crypto/ed25519", i, v.name)
		}
	}
	t.Logf("%d vectors, %d valid by crypto/ed25519, %d judged otherwise by ZIP-215", len(vs), valid, zip215Differs)
	if valid < 20 || zip215Differs < 20 {
		t.Errorf("the vectors do not reach the edges: %d valid, %d where ZIP-215 differs", valid, zip215Differs)
	}
}
