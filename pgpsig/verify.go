package pgpsig

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"treelog/manifest"
)

// ErrUnsigned is wrapped when a Manifest is not an OpenPGP
// cleartext-signed message.
var ErrUnsigned = errors.New("the top-level Manifest is not OpenPGP-signed")

// ErrFraming is wrapped when a cleartext-signed Manifest is framed so that
// what the signature covers and what a Manifest parser reads could differ.
var ErrFraming = errors.New("OpenPGP cleartext framing")

// ErrBadSignature is wrapped when the signature does not verify with the
// keyring: an unknown key, a bad signature, an expired or revoked key.
var ErrBadSignature = errors.New("bad OpenPGP signature")

// A Signature describes a verified signature.
type Signature struct {
	// PrimaryKey is the fingerprint of the signer's primary key (the one
	// in the keyring), and Key that of the (sub)key that signed.
	PrimaryKey, Key string
	// Created is when the signature says it was made.
	Created time.Time
}

func (s *Signature) String() string {
	if s.Key == s.PrimaryKey {
		return fmt.Sprintf("key %s, signed %s", s.PrimaryKey, s.Created.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("key %s (subkey %s), signed %s", s.PrimaryKey, s.Key, s.Created.UTC().Format(time.RFC3339))
}

// Split unwraps an OpenPGP cleartext-signed Manifest: it returns the
// signed block, whose plaintext must hold exactly the entries that
// manifest.Parse reads from the whole file, and nothing but whitespace may
// come before the message or after its signature (as GLEP 74 and gemato
// allow). It does not check the signature.
func Split(data []byte) (*clearsign.Block, error) {
	if len(data) > manifest.MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, over the limit of %d", ErrFraming, len(data), manifest.MaxSize)
	}
	m, err := manifest.Parse(data)
	if err != nil {
		return nil, err
	}
	if !m.OpenPGPSigned {
		return nil, ErrUnsigned
	}
	block, rest := clearsign.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%w: not a well-formed cleartext-signed message (RFC 4880 section 7)", ErrFraming)
	}
	if i := bytes.Index(data, []byte("-----BEGIN PGP SIGNED MESSAGE-----")); len(bytes.TrimSpace(data[:i])) != 0 {
		return nil, fmt.Errorf("%w: data before the signed message", ErrFraming)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: data after the signature", ErrFraming)
	}
	signed, err := manifest.Parse(block.Plaintext)
	if err != nil {
		return nil, fmt.Errorf("%w: the signed text: %v", ErrFraming, err)
	}
	if signed.OpenPGPSigned || !reflect.DeepEqual(signed.Entries, m.Entries) {
		return nil, fmt.Errorf("%w: the signed text does not hold the same entries as the Manifest", ErrFraming)
	}
	return block, nil
}

// Verify checks that data, a top-level Manifest, is OpenPGP
// cleartext-signed by a key of the keyring, valid (not expired, not
// revoked) at now, and framed as Split requires.
func (k *Keyring) Verify(data []byte, now time.Time) (*Signature, error) {
	block, err := Split(data)
	if err != nil {
		return nil, err
	}
	cfg := &packet.Config{Time: func() time.Time { return now }}
	sig, signer, err := verifyBlock(block, k, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	s := &Signature{PrimaryKey: fingerprint(signer.PrimaryKey.Fingerprint), Created: sig.CreationTime}
	s.Key = s.PrimaryKey
	if sig.IssuerFingerprint != nil {
		s.Key = fingerprint(sig.IssuerFingerprint)
	}
	return s, nil
}

func verifyBlock(b *clearsign.Block, k *Keyring, cfg *packet.Config) (*packet.Signature, *openpgp.Entity, error) {
	if b.ArmoredSignature.Type != openpgp.SignatureType {
		return nil, nil, fmt.Errorf("the armored block is a %q, not a signature", b.ArmoredSignature.Type)
	}
	sig, signer, err := openpgp.VerifyDetachedSignature(k.entities, bytes.NewReader(b.Bytes), b.ArmoredSignature.Body, cfg)
	if errors.Is(err, pgperrors.ErrUnknownIssuer) {
		return nil, nil, fmt.Errorf("signed by a key not in the keyring (%v)", err)
	}
	if err != nil {
		return nil, nil, err
	}
	return sig, signer, nil
}
