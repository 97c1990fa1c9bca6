package note

import (
	"bytes"
	"crypto/ed25519"

	"filippo.io/edwards25519"
	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// A publicKey verifies Ed25519 signatures by exactly crypto/ed25519's
// rule, the one rule every party in treelog uses. It precomputes the key's
// tables with curve25519-voi, whose verification with
// VerifyOptionsStdLib is crypto/ed25519's (cofactorless equation, S below
// the group order, R compared by its encoding) in about half the time.
// Keys whose encoding is unusual (not canonical, or of small order: never
// an honest key) are verified by crypto/ed25519 itself, so that no corner
// of point decoding can split the verdict. TestEd25519Vectors and
// FuzzEd25519 hold this to crypto/ed25519.
type publicKey struct {
	pub ed25519.PublicKey
	x   *voi.ExpandedPublicKey // nil: use crypto/ed25519
}

var stdlibRule = &voi.Options{Verify: voi.VerifyOptionsStdLib}

func newPublicKey(pub ed25519.PublicKey) publicKey {
	k := publicKey{pub: bytes.Clone(pub)}
	if len(pub) != ed25519.PublicKeySize || !ordinaryPoint(pub) {
		return k
	}
	if x, err := voi.NewExpandedPublicKey(voi.PublicKey(pub)); err == nil {
		k.x = x
	}
	return k
}

// ordinaryPoint reports whether b is the canonical encoding of a point
// that is not of small order.
func ordinaryPoint(b []byte) bool {
	p, err := new(edwards25519.Point).SetBytes(b)
	if err != nil || !bytes.Equal(p.Bytes(), b) {
		return false
	}
	return new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) != 1
}

func (k publicKey) verify(msg, sig []byte) bool {
	if len(sig) != ed25519.SignatureSize {
		return false
	}
	if k.x == nil {
		return len(k.pub) == ed25519.PublicKeySize && ed25519.Verify(k.pub, msg, sig)
	}
	return voi.VerifyExpandedWithOptions(k.x, msg, sig, stdlibRule)
}

// sign signs with curve25519-voi, faster than crypto/ed25519 here; Ed25519
// signatures are deterministic, so the bytes are crypto/ed25519's
// (TestSignMatchesStdlib).
func sign(priv ed25519.PrivateKey, msg []byte) []byte {
	return voi.Sign(voi.PrivateKey(priv), msg)
}
