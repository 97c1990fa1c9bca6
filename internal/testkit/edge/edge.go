// Package edge builds Ed25519 inputs on the edges where implementations
// disagree: keys and nonces with small-order components, points of small
// order, non-canonical point encodings, and S at or above the group order.
// Tests use it to hold every verifier in treelog to crypto/ed25519.
package edge

import (
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/hex"
	"math/rand/v2"

	"filippo.io/edwards25519"
)

// A Vector is an Ed25519 verification input.
type Vector struct {
	Name string
	Pub  []byte
	Msg  []byte
	Sig  []byte
}

// Torsion returns the eight points of small order, in the order
// identity, T, 2T, ..., 7T for a point T of order 8.
func Torsion() []*edwards25519.Point {
	b, _ := hex.DecodeString("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
	t8, err := new(edwards25519.Point).SetBytes(b)
	if err != nil {
		panic(err)
	}
	pts := []*edwards25519.Point{edwards25519.NewIdentityPoint()}
	for i := 1; i < 8; i++ {
		pts = append(pts, new(edwards25519.Point).Add(pts[i-1], t8))
	}
	if new(edwards25519.Point).Add(pts[7], t8).Equal(edwards25519.NewIdentityPoint()) != 1 {
		panic("edge: the order-8 point is not of order 8")
	}
	return pts
}

// NonCanonical returns every encoding of a point whose y is at or above
// the field order p (y+p for y < 19), with either sign bit, that decodes,
// and the identity with the sign bit set.
func NonCanonical() [][]byte {
	var out [][]byte
	for y := 0; y < 19; y++ {
		for _, sign := range []byte{0, 0x80} {
			// y+p = 2^255 - 19 + y, little-endian.
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
	id := edwards25519.NewIdentityPoint().Bytes()
	id[31] |= 0x80
	return append(out, id)
}

func hashScalar(parts ...[]byte) *edwards25519.Scalar {
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

// sign returns R || S with S = r + H(R||A||M)·a, for the encodings aEnc
// and rEnc of A and R.
func sign(aEnc, rEnc []byte, a, r *edwards25519.Scalar, msg []byte) []byte {
	k := hashScalar(rEnc, aEnc, msg)
	s := edwards25519.NewScalar().MultiplyAdd(k, a, r)
	return append(append([]byte{}, rEnc...), s.Bytes()...)
}

// A Key is an Ed25519 public key A = [a]B + T with a small-order
// component T, which honest keys never have.
type Key struct {
	Pub []byte
	a   *edwards25519.Scalar
	t   *edwards25519.Point
	rng *rand.Rand
}

// NewKey returns a key with torsion component Torsion()[torsion], from a
// deterministic seed.
func NewKey(seed uint64, torsion int) *Key {
	rng := rand.New(rand.NewPCG(seed, 0x7ee1))
	a := randomScalar(rng)
	t := Torsion()[torsion]
	A := new(edwards25519.Point).Add(new(edwards25519.Point).ScalarBaseMult(a), t)
	return &Key{Pub: A.Bytes(), a: a, t: t, rng: rng}
}

// Sign signs msg with a nonce point that also has a small-order component.
// With cofactorless true the components cancel, so that crypto/ed25519
// accepts the signature; otherwise they do not, and only a cofactored
// verifier (ZIP-215, batch verification) accepts it.
func (k *Key) Sign(msg []byte, cofactorless bool) []byte {
	tors := Torsion()
	for {
		r := randomScalar(k.rng)
		for _, tr := range tors {
			R := new(edwards25519.Point).Add(new(edwards25519.Point).ScalarBaseMult(r), tr)
			sig := sign(k.Pub, R.Bytes(), k.a, r, msg)
			if ed25519.Verify(k.Pub, msg, sig) == cofactorless {
				return sig
			}
		}
	}
}

// Vectors returns the edge cases: keys and nonces with every torsion
// component, small-order keys and nonces, non-canonical encodings as A and
// as R, S = L and S + L, a flipped bit, a short signature and a key that
// is not a point; over a few messages. Some are valid, most not.
func Vectors() []Vector {
	rng := rand.New(rand.NewPCG(1, 2))
	tors := Torsion()
	var vs []Vector
	msgs := [][]byte{[]byte("treelog\n"), {}, []byte("example.org/log\n1\nAAAA\n")}
	add := func(name string, pub, msg, sig []byte) {
		vs = append(vs, Vector{name, pub, msg, sig})
	}
	zero := edwards25519.NewScalar()
	for _, TA := range tors {
		for _, TR := range tors {
			for _, msg := range msgs {
				a, r := randomScalar(rng), randomScalar(rng)
				A := new(edwards25519.Point).Add(new(edwards25519.Point).ScalarBaseMult(a), TA)
				R := new(edwards25519.Point).Add(new(edwards25519.Point).ScalarBaseMult(r), TR)
				add("torsion A and R", A.Bytes(), msg, sign(A.Bytes(), R.Bytes(), a, r, msg))
				add("small-order A", TA.Bytes(), msg, sign(TA.Bytes(), R.Bytes(), zero, r, msg))
				add("small-order A and R", TA.Bytes(), msg, sign(TA.Bytes(), TR.Bytes(), zero, zero, msg))
			}
		}
	}
	for _, enc := range NonCanonical() {
		for _, msg := range msgs {
			r := randomScalar(rng)
			R := new(edwards25519.Point).ScalarBaseMult(r)
			add("non-canonical A", enc, msg, sign(enc, R.Bytes(), zero, r, msg))
			a := randomScalar(rng)
			A := new(edwards25519.Point).ScalarBaseMult(a)
			add("non-canonical R", A.Bytes(), msg, sign(A.Bytes(), enc, a, zero, msg))
			add("non-canonical A and R", enc, msg, sign(enc, enc, zero, zero, msg))
		}
	}
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(rng.Uint32())
	}
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
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
		add("short signature", pub, msg, sig[:63])
	}
	notAPoint, _ := hex.DecodeString("0200000000000000000000000000000000000000000000000000000000000000")
	add("A not on the curve", notAPoint, msgs[0], make([]byte, 64))
	return vs
}
