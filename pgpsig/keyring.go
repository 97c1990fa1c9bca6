package pgpsig

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"

	"treelog/internal/untrusted"
)

// MaxKeyringSize bounds a keyring file: Gentoo's release keys with all
// their certifications are a few hundred KiB.
const MaxKeyringSize = 16 << 20

// A Keyring holds the OpenPGP public keys whose signatures on a top-level
// Manifest are accepted.
type Keyring struct {
	entities openpgp.EntityList
}

// ReadKeyring reads public keys, ASCII-armored (as distributions ship
// them, e.g. /usr/share/openpgp-keys/gentoo-release.asc) or binary (a
// gpg --export). A keyring without a key is an error.
func ReadKeyring(data []byte) (*Keyring, error) {
	var el openpgp.EntityList
	var err error
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("-----BEGIN PGP")) {
		el, err = openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	} else {
		el, err = openpgp.ReadKeyRing(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("reading OpenPGP keys: %w", err)
	}
	if len(el) == 0 {
		return nil, errors.New("no OpenPGP key in the keyring")
	}
	return &Keyring{entities: el}, nil
}

// LoadKeyring reads the keyring file at path.
func LoadKeyring(path string) (*Keyring, error) {
	data, err := untrusted.ReadFile(path, MaxKeyringSize, "the OpenPGP keyring")
	if err != nil {
		return nil, err
	}
	k, err := ReadKeyring(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// Fingerprints lists the primary keys' fingerprints, uppercase hex as
// gpg prints them.
func (k *Keyring) Fingerprints() []string {
	var out []string
	for _, e := range k.entities {
		out = append(out, fingerprint(e.PrimaryKey.Fingerprint))
	}
	return out
}

func fingerprint(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }
