// Package note implements c2sp.org/signed-note: Ed25519 keys in the skey/vkey
// text forms, signing and verifying notes, and the timestamped cosignature/v1
// signature type of c2sp.org/tlog-cosignature.
//
// The Signer and Verifier interfaces have the same method sets as those of
// golang.org/x/mod/sumdb/note, so values from this package can be handed to
// code written against that package (tessera, for one).
package note

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// Signature types assigned by c2sp.org/signed-note that this package supports.
const (
	// TypeEd25519 is a plain Ed25519 signature over the note text, used by
	// logs (checkpoints) and publishers (MetaManifests).
	TypeEd25519 byte = 0x01
	// TypeCosignatureV1 is a timestamped Ed25519 checkpoint cosignature
	// (c2sp.org/tlog-cosignature), used by witnesses.
	TypeCosignatureV1 byte = 0x04
)

// A Signer signs note texts.
type Signer interface {
	// Name returns the key name.
	Name() string
	// KeyHash returns the key ID.
	KeyHash() uint32
	// Sign returns the signature bytes (without the key ID prefix).
	Sign(msg []byte) ([]byte, error)
}

// A Verifier verifies signatures of one key.
type Verifier interface {
	// Name returns the key name.
	Name() string
	// KeyHash returns the key ID.
	KeyHash() uint32
	// Verify reports whether sig (without the key ID prefix) is a valid
	// signature of msg by this key.
	Verify(msg, sig []byte) bool
}

// KeyID computes a key ID as c2sp.org/signed-note recommends:
// the first four bytes of SHA-256(name || 0x0A || type || public key).
func KeyID(name string, typ byte, pub []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n', typ})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// ValidName reports whether name can be a key name: non-empty, valid UTF-8,
// without Unicode spaces, plus signs or control characters.
func ValidName(name string) bool {
	return checkName(name) == nil
}

func checkName(name string) error {
	if name == "" {
		return errors.New("key name is empty")
	}
	if !utf8.ValidString(name) {
		return errors.New("key name is not valid UTF-8")
	}
	for _, r := range name {
		switch {
		case r == '+':
			return fmt.Errorf("key name %q contains '+'", name)
		case unicode.IsSpace(r):
			return fmt.Errorf("key name %q contains a space", name)
		case r < 0x20 || r == 0x7f:
			return fmt.Errorf("key name %q contains a control character", name)
		}
	}
	return nil
}

func typeName(typ byte) string {
	switch typ {
	case TypeEd25519:
		return "Ed25519 (0x01)"
	case TypeCosignatureV1:
		return "cosignature/v1 (0x04)"
	}
	return fmt.Sprintf("unsupported (0x%02x)", typ)
}

// GenerateKey creates a new Ed25519 key named name for signature type typ
// (TypeEd25519 for logs and publishers, TypeCosignatureV1 for witnesses) and
// returns it in skey (secret) and vkey (public) text forms. rand may be nil to
// use crypto/rand.
func GenerateKey(rand io.Reader, name string, typ byte) (skey, vkey string, err error) {
	if err := checkName(name); err != nil {
		return "", "", err
	}
	if typ != TypeEd25519 && typ != TypeCosignatureV1 {
		return "", "", fmt.Errorf("generating key: signature type %s", typeName(typ))
	}
	pub, priv, err := ed25519.GenerateKey(rand)
	if err != nil {
		return "", "", fmt.Errorf("generating key: %w", err)
	}
	id := KeyID(name, typ, pub)
	skey = fmt.Sprintf("PRIVATE+KEY+%s+%08x+%s", name, id, base64.StdEncoding.EncodeToString(append([]byte{typ}, priv.Seed()...)))
	vkey = fmt.Sprintf("%s+%08x+%s", name, id, base64.StdEncoding.EncodeToString(append([]byte{typ}, pub...)))
	return skey, vkey, nil
}

// VerifierKey is a parsed vkey.
type VerifierKey struct {
	Name   string
	ID     uint32
	Type   byte
	Public ed25519.PublicKey
}

// String returns the vkey text form.
func (k VerifierKey) String() string {
	return fmt.Sprintf("%s+%08x+%s", k.Name, k.ID, base64.StdEncoding.EncodeToString(append([]byte{k.Type}, k.Public...)))
}

// ParseVerifierKey parses a vkey, "<name>+<hex id>+<base64(type || key)>",
// and checks that the key ID is the one computed from the key.
func ParseVerifierKey(vkey string) (VerifierKey, error) {
	name, rest, ok1 := strings.Cut(vkey, "+")
	id16, key64, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 {
		return VerifierKey{}, fmt.Errorf("verifier key %q: want <name>+<hex id>+<base64 key>", short(vkey))
	}
	if err := checkName(name); err != nil {
		return VerifierKey{}, fmt.Errorf("verifier key: %w", err)
	}
	id, err := parseKeyID(id16)
	if err != nil {
		return VerifierKey{}, fmt.Errorf("verifier key %q: %w", name, err)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(key64)
	if err != nil {
		return VerifierKey{}, fmt.Errorf("verifier key %q: key is not base64: %w", name, err)
	}
	if len(raw) == 0 {
		return VerifierKey{}, fmt.Errorf("verifier key %q: key is empty", name)
	}
	typ, pub := raw[0], raw[1:]
	if typ != TypeEd25519 && typ != TypeCosignatureV1 {
		return VerifierKey{}, fmt.Errorf("verifier key %q: signature type %s", name, typeName(typ))
	}
	if len(pub) != ed25519.PublicKeySize {
		return VerifierKey{}, fmt.Errorf("verifier key %q: Ed25519 public key is %d bytes, want %d", name, len(pub), ed25519.PublicKeySize)
	}
	if want := KeyID(name, typ, pub); id != want {
		return VerifierKey{}, fmt.Errorf("verifier key %q: key ID %08x does not match the key (want %08x)", name, id, want)
	}
	return VerifierKey{Name: name, ID: id, Type: typ, Public: ed25519.PublicKey(pub)}, nil
}

// NewVerifier parses a vkey and returns a verifier for its signature type:
// a plain Ed25519 verifier, or a cosignature/v1 verifier (see
// NewCosignatureVerifier for options that apply to the latter).
func NewVerifier(vkey string) (Verifier, error) {
	k, err := ParseVerifierKey(vkey)
	if err != nil {
		return nil, err
	}
	if k.Type == TypeCosignatureV1 {
		return CosignatureVerifierFor(k)
	}
	x, err := expand(k.Public)
	if err != nil {
		return nil, fmt.Errorf("verifier key %q: %w", k.Name, err)
	}
	return &ed25519Verifier{key: k, expanded: x}, nil
}

// NewSigner parses an skey, "PRIVATE+KEY+<name>+<hex id>+<base64(type || seed)>",
// and returns a signer for its signature type.
func NewSigner(skey string) (Signer, error) {
	const prefix = "PRIVATE+KEY+"
	if !strings.HasPrefix(skey, prefix) {
		return nil, errors.New("signer key: does not start with PRIVATE+KEY+")
	}
	name, rest, ok1 := strings.Cut(strings.TrimPrefix(skey, prefix), "+")
	id16, key64, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 {
		return nil, errors.New("signer key: want PRIVATE+KEY+<name>+<hex id>+<base64 key>")
	}
	if err := checkName(name); err != nil {
		return nil, fmt.Errorf("signer key: %w", err)
	}
	id, err := parseKeyID(id16)
	if err != nil {
		return nil, fmt.Errorf("signer key %q: %w", name, err)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(key64)
	if err != nil || len(raw) != 1+ed25519.SeedSize {
		return nil, fmt.Errorf("signer key %q: key is not base64 of a type byte and a 32-byte Ed25519 seed", name)
	}
	typ := raw[0]
	if typ != TypeEd25519 && typ != TypeCosignatureV1 {
		return nil, fmt.Errorf("signer key %q: signature type %s", name, typeName(typ))
	}
	priv := ed25519.NewKeyFromSeed(raw[1:])
	pub := priv.Public().(ed25519.PublicKey)
	if want := KeyID(name, typ, pub); id != want {
		return nil, fmt.Errorf("signer key %q: key ID %08x does not match the key (want %08x)", name, id, want)
	}
	k := VerifierKey{Name: name, ID: id, Type: typ, Public: pub}
	if typ == TypeCosignatureV1 {
		return &Cosigner{key: k, priv: priv}, nil
	}
	return &ed25519Signer{key: k, priv: priv}, nil
}

// VerifierKeyOf returns the vkey of a signer created by this package.
func VerifierKeyOf(s Signer) (string, error) {
	switch s := s.(type) {
	case *ed25519Signer:
		return s.key.String(), nil
	case *Cosigner:
		return s.key.String(), nil
	}
	return "", fmt.Errorf("signer %T was not created by this package", s)
}

func parseKeyID(id16 string) (uint32, error) {
	if len(id16) != 8 {
		return 0, fmt.Errorf("key ID %q is not 8 hex digits", id16)
	}
	id, err := strconv.ParseUint(id16, 16, 32)
	if err != nil || strings.ToLower(id16) != id16 {
		return 0, fmt.Errorf("key ID %q is not 8 lowercase hex digits", id16)
	}
	return uint32(id), nil
}

func short(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

type ed25519Signer struct {
	key  VerifierKey
	priv ed25519.PrivateKey
}

func (s *ed25519Signer) Name() string    { return s.key.Name }
func (s *ed25519Signer) KeyHash() uint32 { return s.key.ID }
func (s *ed25519Signer) Sign(msg []byte) ([]byte, error) {
	return signEd25519(s.priv, msg), nil
}

// signEd25519 signs with curve25519-voi, twice as fast as crypto/ed25519
// here; Ed25519 signatures are deterministic, so the bytes are the same.
func signEd25519(priv ed25519.PrivateKey, msg []byte) []byte {
	return voi.Sign(voi.PrivateKey(priv), msg)
}

type ed25519Verifier struct {
	key      VerifierKey
	expanded *voi.ExpandedPublicKey
}

func (v *ed25519Verifier) Name() string    { return v.key.Name }
func (v *ed25519Verifier) KeyHash() uint32 { return v.key.ID }
func (v *ed25519Verifier) Verify(msg, sig []byte) bool {
	return len(sig) == ed25519.SignatureSize && verifyEd25519(v.expanded, msg, sig)
}

// stdlib makes curve25519-voi verify exactly as crypto/ed25519 does.
var stdlib = &voi.Options{Verify: voi.VerifyOptionsStdLib}

// expand precomputes a public key's tables once: verifying with them takes
// about half the time of crypto/ed25519, which logs, witnesses and
// auditors feel at thousands of signatures a second.
func expand(pub ed25519.PublicKey) (*voi.ExpandedPublicKey, error) {
	return voi.NewExpandedPublicKey(voi.PublicKey(pub))
}

func verifyEd25519(k *voi.ExpandedPublicKey, msg, sig []byte) bool {
	return voi.VerifyExpandedWithOptions(k, msg, sig, stdlib)
}

// Expanded returns the precomputed form of the key, for batch verification.
func (k VerifierKey) Expanded() (*voi.ExpandedPublicKey, error) { return expand(k.Public) }
