package note

import (
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
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
type Cosigner struct {
	key  VerifierKey
	priv ed25519.PrivateKey
}

// Name returns the cosigner's key name.
func (c *Cosigner) Name() string { return c.key.Name }

// KeyHash returns the cosigner's key ID.
func (c *Cosigner) KeyHash() uint32 { return c.key.ID }

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
	return append(sig, signEd25519(c.priv, cosignedMessage(uint64(ts), text))...), nil
}

// CosignatureVerifier verifies cosignature/v1 signatures of one witness.
type CosignatureVerifier struct {
	key      VerifierKey
	expanded *voi.ExpandedPublicKey
	maxSkew  time.Duration // negative: no future check
	now      func() time.Time
}

// A CosignatureOption configures a CosignatureVerifier.
type CosignatureOption func(*CosignatureVerifier)

// WithMaxFutureSkew makes the verifier reject cosignatures whose timestamp is
// more than d ahead of the clock (tlog-cosignature lets verifiers reject
// timestamps in the future).
func WithMaxFutureSkew(d time.Duration) CosignatureOption {
	return func(v *CosignatureVerifier) { v.maxSkew = d }
}

// WithClock sets the clock used by WithMaxFutureSkew (default time.Now).
func WithClock(now func() time.Time) CosignatureOption {
	return func(v *CosignatureVerifier) { v.now = now }
}

// NewCosignatureVerifier parses a witness vkey of type 0x04 and returns its
// verifier. By default timestamps in the future are accepted.
func NewCosignatureVerifier(vkey string, opts ...CosignatureOption) (*CosignatureVerifier, error) {
	k, err := ParseVerifierKey(vkey)
	if err != nil {
		return nil, err
	}
	return CosignatureVerifierFor(k, opts...)
}

// CosignatureVerifierFor returns the verifier for a parsed witness key.
func CosignatureVerifierFor(k VerifierKey, opts ...CosignatureOption) (*CosignatureVerifier, error) {
	if k.Type != TypeCosignatureV1 {
		return nil, fmt.Errorf("verifier key %q: signature type %s, want cosignature/v1 (0x04)", k.Name, typeName(k.Type))
	}
	return newCosignatureVerifier(k, opts...)
}

func newCosignatureVerifier(k VerifierKey, opts ...CosignatureOption) (*CosignatureVerifier, error) {
	x, err := expand(k.Public)
	if err != nil {
		return nil, fmt.Errorf("verifier key %q: %w", k.Name, err)
	}
	v := &CosignatureVerifier{key: k, expanded: x, maxSkew: -1, now: time.Now}
	for _, o := range opts {
		o(v)
	}
	return v, nil
}

// With returns a copy of the verifier with more options, sharing its
// precomputed key.
func (v *CosignatureVerifier) With(opts ...CosignatureOption) *CosignatureVerifier {
	c := *v
	for _, o := range opts {
		o(&c)
	}
	return &c
}

// Verifier returns the verifier for this cosigner's signatures.
func (c *Cosigner) Verifier() *CosignatureVerifier {
	v, _ := newCosignatureVerifier(c.key) // the key is valid: it signs
	return v
}

// Name returns the witness's key name.
func (v *CosignatureVerifier) Name() string { return v.key.Name }

// KeyHash returns the witness's key ID.
func (v *CosignatureVerifier) KeyHash() uint32 { return v.key.ID }

// Key returns the witness's parsed verifier key.
func (v *CosignatureVerifier) Key() VerifierKey { return v.key }

// Verify reports whether sig is a valid cosignature of text.
func (v *CosignatureVerifier) Verify(text, sig []byte) bool {
	return v.Check(text, sig) == nil
}

// Check verifies a cosignature of text and says why it fails.
func (v *CosignatureVerifier) Check(text, sig []byte) error {
	t, err := CosignatureTime(sig)
	if err != nil {
		return err
	}
	if !verifyEd25519(v.expanded, cosignedMessage(uint64(t.Unix()), text), sig[8:]) {
		return errors.New("Ed25519 signature is invalid")
	}
	if v.maxSkew >= 0 {
		if ahead := t.Sub(v.now()); ahead > v.maxSkew {
			return fmt.Errorf("timestamp %s is %s in the future (allowed skew %s)", t.UTC().Format(time.RFC3339), ahead.Round(time.Second), v.maxSkew)
		}
	}
	return nil
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
