package keyfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"

	"treelog/note"
)

// EncryptedExt ends the name of an encrypted secret key file:
// PREFIX.key.age, an ASCII-armored age file encrypted to a passphrase
// (age's scrypt recipient), whose plaintext is the skey line.
const EncryptedExt = ".key.age"

// DefaultWorkFactor is age's scrypt work factor (log2 N) for new files: about
// a second of one core and 256 MiB to try one passphrase.
const DefaultWorkFactor = 18

// MaxWorkFactor bounds the work factor a key file may ask for when it is
// decrypted, so that a planted file cannot make unlocking take forever.
const MaxWorkFactor = 22

var (
	// ErrEncrypted is wrapped when a secret key file that must be in the
	// clear is encrypted.
	ErrEncrypted = errors.New("key file is encrypted")
	// ErrWrongPassphrase is wrapped when no passphrase given opens an
	// encrypted key file.
	ErrWrongPassphrase = errors.New("wrong passphrase")
)

// An EncryptOption configures WriteEncrypted.
type EncryptOption func(*age.ScryptRecipient)

// WithWorkFactor sets the scrypt work factor (log2 N, at most
// MaxWorkFactor): lower is faster to unlock and faster to brute-force.
func WithWorkFactor(logN int) EncryptOption {
	return func(r *age.ScryptRecipient) { r.SetWorkFactor(logN) }
}

// IsEncrypted reports whether data looks like an encrypted key file.
func IsEncrypted(data []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte(armor.Header))
}

// WriteEncrypted creates PREFIX.key.age, the secret key encrypted to
// passphrase, and PREFIX.pub. The key is encrypted in memory: no byte of it
// reaches the disk in the clear, not even in a temporary file. It refuses to
// overwrite either file.
func WriteEncrypted(prefix, skey, vkey string, passphrase string, opts ...EncryptOption) error {
	if passphrase == "" {
		return errors.New("the passphrase is empty")
	}
	r, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		return fmt.Errorf("encrypting the key: %w", err)
	}
	r.SetWorkFactor(DefaultWorkFactor)
	for _, o := range opts {
		o(r)
	}
	var buf bytes.Buffer
	aw := armor.NewWriter(&buf)
	w, err := age.Encrypt(aw, r)
	if err != nil {
		return fmt.Errorf("encrypting the key: %w", err)
	}
	if _, err := io.WriteString(w, skey+"\n"); err != nil {
		return fmt.Errorf("encrypting the key: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("encrypting the key: %w", err)
	}
	if err := aw.Close(); err != nil {
		return fmt.Errorf("encrypting the key: %w", err)
	}
	return writePair(prefix+EncryptedExt, buf.Bytes(), prefix+".pub", vkey)
}

// ReadEncrypted reads an encrypted key file without decrypting it, so that
// a daemon can check it at start and decrypt it once a person unlocks it.
func ReadEncrypted(path string) ([]byte, error) {
	b, err := readSmall(path)
	if err != nil {
		return nil, err
	}
	if !IsEncrypted([]byte(b)) {
		return nil, fmt.Errorf("%s is not an encrypted key file (want one from 'treelog keygen --encrypt')", path)
	}
	return []byte(b), nil
}

// DecryptSigner decrypts an encrypted key file's contents with the first of
// passphrases that opens it. A file none of them opens is ErrWrongPassphrase.
func DecryptSigner(data []byte, passphrases ...string) (note.Signer, error) {
	var ids []age.Identity
	for _, p := range passphrases {
		if p == "" {
			continue
		}
		id, err := age.NewScryptIdentity(p)
		if err != nil {
			return nil, err
		}
		id.SetMaxWorkFactor(MaxWorkFactor)
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: no passphrase given", ErrWrongPassphrase)
	}
	r, err := age.Decrypt(armor.NewReader(bytes.NewReader(data)), ids...)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return nil, ErrWrongPassphrase
		}
		return nil, fmt.Errorf("decrypting the key: %w", err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, 4097))
	if err != nil {
		return nil, fmt.Errorf("decrypting the key: %w", err)
	}
	defer clear(plain)
	s, err := note.NewSigner(strings.TrimSpace(string(plain)))
	if err != nil {
		return nil, fmt.Errorf("the decrypted key: %w", err)
	}
	return s, nil
}
