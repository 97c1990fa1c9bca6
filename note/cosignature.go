package note

import (
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// CosignatureSize is the size of a cosignature/v1 signature: an 8-byte
// timestamp and a 64-byte Ed25519 signature.
const CosignatureSize = 8 + ed25519.SignatureSize

// cosignedMessage returns the message a cosignature/v1 signs: a header line,
// a timestamp line and the checkpoint text.
func cosignedMessage(t uint64, text []byte) []byte {
	m := make([]byte, 0, 40+len(text))
	m = append(m, "cosignature/v1\ntime "...)
	m = strconv.AppendUint(m, t, 10)
	m = append(m, '\n')
	return append(m, text...)
}

// A Cosigner makes cosignature/v1 signatures (c2sp.org/tlog-cosignature).
// It implements Signer, signing at the current time.
type Cosigner struct {
	key  VerifierKey
	priv ed25519.PrivateKey
}

// Name returns the cosigner's key name.
func (c *Cosigner) Name() string { return c.key.Name }

// KeyHash returns the cosigner's key ID.
func (c *Cosigner) KeyHash() uint32 { return c.key.ID }

func (c *Cosigner) verifierKey() VerifierKey { return c.key }

// Sign cosigns a checkpoint text at the current time.
func (c *Cosigner) Sign(text []byte) ([]byte, error) {
	return c.SignAt(text, time.Now())
}

// SignAt cosigns a checkpoint text with the given timestamp (whole seconds).
func (c *Cosigner) SignAt(text []byte, t time.Time) ([]byte, error) {
	ts := t.Unix()
	if ts <= 0 {
		return nil, fmt.Errorf("cosigning: timestamp %d is not after the epoch", ts)
	}
	sig := binary.BigEndian.AppendUint64(make([]byte, 0, CosignatureSize), uint64(ts))
	return append(sig, sign(c.priv, cosignedMessage(uint64(ts), text))...), nil
}

// Verifier returns the verifier of this cosigner's signatures.
func (c *Cosigner) Verifier() *CosignatureVerifier { return newCosignatureVerifier(c.key) }

// CosignatureVerifier verifies cosignature/v1 signatures of one witness.
// Whether a timestamp is acceptable (not too far in the future) is the
// caller's policy: Check returns it.
type CosignatureVerifier struct {
	key VerifierKey
	pub publicKey
}

// NewCosignatureVerifier parses a witness vkey of type 0x04 and returns
// its verifier.
func NewCosignatureVerifier(vkey string) (*CosignatureVerifier, error) {
	k, err := ParseVerifierKey(vkey)
	if err != nil {
		return nil, err
	}
	if k.Type != TypeCosignatureV1 {
		return nil, fmt.Errorf("verifier key %q: signature type %s, want cosignature/v1 (0x04)", k.Name, typeName(k.Type))
	}
	return newCosignatureVerifier(k), nil
}

func newCosignatureVerifier(k VerifierKey) *CosignatureVerifier {
	return &CosignatureVerifier{key: k, pub: newPublicKey(k.Public)}
}

// Name returns the witness's key name.
func (v *CosignatureVerifier) Name() string { return v.key.Name }

// KeyHash returns the witness's key ID.
func (v *CosignatureVerifier) KeyHash() uint32 { return v.key.ID }

// Key returns the witness's parsed verifier key.
func (v *CosignatureVerifier) Key() VerifierKey { return v.key }

func (v *CosignatureVerifier) verifierKey() VerifierKey { return v.key }

// Verify reports whether sig is a valid cosignature of text.
func (v *CosignatureVerifier) Verify(text, sig []byte) bool {
	_, err := v.Check(text, sig)
	return err == nil
}

// Check verifies a cosignature of text and returns its timestamp, or says
// why it does not verify.
func (v *CosignatureVerifier) Check(text, sig []byte) (time.Time, error) {
	t, err := CosignatureTime(sig)
	if err != nil {
		return time.Time{}, err
	}
	if !v.pub.verify(cosignedMessage(uint64(t.Unix()), text), sig[8:]) {
		return time.Time{}, errors.New("Ed25519 signature is invalid")
	}
	return t, nil
}

// CosignatureTime returns the timestamp of a cosignature/v1 signature (the
// signature bytes after the key ID), rejecting malformed sizes and the
// timestamps the spec rules out: zero, and over 2^63-1.
func CosignatureTime(sig []byte) (time.Time, error) {
	if len(sig) != CosignatureSize {
		return time.Time{}, fmt.Errorf("cosignature is %d bytes, want %d", len(sig), CosignatureSize)
	}
	ts := binary.BigEndian.Uint64(sig)
	if ts == 0 {
		return time.Time{}, errors.New("cosignature timestamp is 0")
	}
	if ts > math.MaxInt64 {
		return time.Time{}, fmt.Errorf("cosignature timestamp %d is over 2^63-1", ts)
	}
	return time.Unix(int64(ts), 0), nil
}
