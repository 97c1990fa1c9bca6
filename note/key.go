package note

import (
	"bytes"
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

	"treelog/internal/untrusted"

	xnote "golang.org/x/mod/sumdb/note"
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

// KeyID computes a key ID as c2sp.org/signed-note says: the first four
// bytes of SHA-256(name || 0x0A || type || public key).
func KeyID(name string, typ byte, pub []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n', typ})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// ValidName reports whether name can be a key name, by x/mod's rule:
// non-empty, valid UTF-8, without Unicode spaces or plus signs.
func ValidName(name string) bool {
	return checkName(name) == nil
}

func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("key name is empty")
	case !utf8.ValidString(name):
		return errors.New("key name is not valid UTF-8")
	case strings.Contains(name, "+"):
		return fmt.Errorf("key name %q contains '+'", name)
	case strings.IndexFunc(name, unicode.IsSpace) >= 0:
		return fmt.Errorf("key name %q contains a space", name)
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
	k := VerifierKey{Name: name, ID: KeyID(name, typ, pub), Type: typ, Public: pub}
	skey = fmt.Sprintf("PRIVATE+KEY+%s+%08x+%s", name, k.ID, base64.StdEncoding.EncodeToString(append([]byte{typ}, priv.Seed()...)))
	return skey, k.String(), nil
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

// splitKey splits "<name>+<hex id>+<base64 key>" by x/mod's rules: a
// valid name, exactly 8 hex digits, standard base64, a non-empty key whose
// key ID is the one given.
func splitKey(s, what string) (name string, id uint32, key []byte, err error) {
	name, rest, _ := strings.Cut(s, "+")
	id16, key64, _ := strings.Cut(rest, "+")
	if err := checkName(name); err != nil {
		return "", 0, nil, fmt.Errorf("%s: %w", what, err)
	}
	h, err := strconv.ParseUint(id16, 16, 32)
	if len(id16) != 8 || err != nil {
		return "", 0, nil, fmt.Errorf("%s %q: key ID %q is not 8 hex digits", what, name, untrusted.Short(id16, 80))
	}
	key, err = base64.StdEncoding.DecodeString(key64)
	if err != nil || len(key) == 0 {
		return "", 0, nil, fmt.Errorf("%s %q: key is not base64 of a type byte and a key", what, name)
	}
	return name, uint32(h), key, nil
}

// ParseVerifierKey parses a vkey, "<name>+<hex id>+<base64(type || key)>",
// of an Ed25519 (0x01) or cosignature/v1 (0x04) key, and checks that the
// key ID is the one computed from the key.
func ParseVerifierKey(vkey string) (VerifierKey, error) {
	name, id, raw, err := splitKey(vkey, "verifier key")
	if err != nil {
		return VerifierKey{}, err
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
	if typ == TypeEd25519 {
		// x/mod is the authority on its own key type.
		if _, err := xnote.NewVerifier(vkey); err != nil {
			return VerifierKey{}, fmt.Errorf("verifier key %q: %w", name, err)
		}
	}
	return VerifierKey{Name: name, ID: id, Type: typ, Public: bytes.Clone(pub)}, nil
}

// keyed is implemented by this package's signers and verifiers.
type keyed interface {
	verifierKey() VerifierKey
}

// NewVerifier parses a vkey and returns a verifier for its signature type:
// an Ed25519 verifier, or a cosignature/v1 verifier (see
// NewCosignatureVerifier for the options of the latter).
func NewVerifier(vkey string) (Verifier, error) {
	k, err := ParseVerifierKey(vkey)
	if err != nil {
		return nil, err
	}
	return k.Verifier(), nil
}

// Verifier returns the verifier of the key's signatures.
func (k VerifierKey) Verifier() Verifier {
	if k.Type == TypeCosignatureV1 {
		return newCosignatureVerifier(k)
	}
	return &ed25519Verifier{key: k, pub: newPublicKey(k.Public)}
}

// NewSigner parses an skey, "PRIVATE+KEY+<name>+<hex id>+<base64(type || seed)>",
// and returns a signer for its signature type: x/mod's Ed25519 signer, or
// a *Cosigner.
func NewSigner(skey string) (Signer, error) {
	rest, ok := strings.CutPrefix(skey, "PRIVATE+KEY+")
	if !ok {
		return nil, errors.New("signer key: does not start with PRIVATE+KEY+")
	}
	name, id, raw, err := splitKey(rest, "signer key")
	if err != nil {
		return nil, err
	}
	typ, seed := raw[0], raw[1:]
	if typ != TypeEd25519 && typ != TypeCosignatureV1 {
		return nil, fmt.Errorf("signer key %q: signature type %s", name, typeName(typ))
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("signer key %q: Ed25519 seed is %d bytes, want %d", name, len(seed), ed25519.SeedSize)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	if want := KeyID(name, typ, pub); id != want {
		return nil, fmt.Errorf("signer key %q: key ID %08x does not match the key (want %08x)", name, id, want)
	}
	k := VerifierKey{Name: name, ID: id, Type: typ, Public: pub}
	if typ == TypeCosignatureV1 {
		return &Cosigner{key: k, priv: priv}, nil
	}
	s, err := xnote.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("signer key %q: %w", name, err)
	}
	return &ed25519Signer{Signer: s, key: k}, nil
}

// VerifierKeyOf returns the vkey of a signer created by this package.
func VerifierKeyOf(s Signer) (string, error) {
	if k, ok := s.(keyed); ok {
		return k.verifierKey().String(), nil
	}
	return "", fmt.Errorf("signer %T was not created by this package", s)
}

// ed25519Signer is x/mod's signer, knowing its public key.
type ed25519Signer struct {
	xnote.Signer
	key VerifierKey
}

func (s *ed25519Signer) verifierKey() VerifierKey { return s.key }

type ed25519Verifier struct {
	key VerifierKey
	pub publicKey
}

func (v *ed25519Verifier) Name() string                { return v.key.Name }
func (v *ed25519Verifier) KeyHash() uint32             { return v.key.ID }
func (v *ed25519Verifier) Verify(msg, sig []byte) bool { return v.pub.verify(msg, sig) }
func (v *ed25519Verifier) verifierKey() VerifierKey    { return v.key }
