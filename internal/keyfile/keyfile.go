// Package keyfile stores signed-note keys on disk: the secret key in
// PREFIX.key (mode 0600, never overwritten), or encrypted with a passphrase
// in PREFIX.key.age, and the verifier key in PREFIX.pub.
package keyfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"treelog/internal/untrusted"
	"treelog/note"
)

// Write creates PREFIX.key and PREFIX.pub. It refuses to overwrite either
// file, and removes what it wrote if the second write fails.
func Write(prefix, skey, vkey string) error {
	return writePair(prefix+".key", []byte(skey+"\n"), prefix+".pub", vkey)
}

// writePair creates the secret file and the vkey file, refusing to
// overwrite either, and removes the first if the second fails.
func writePair(secretPath string, secret []byte, pubPath, vkey string) error {
	for _, p := range []string{secretPath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%s already exists; refusing to overwrite a key", p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := writeNew(secretPath, secret, 0o600); err != nil {
		return err
	}
	if err := writeNew(pubPath, []byte(vkey+"\n"), 0o644); err != nil {
		os.Remove(secretPath)
		return err
	}
	return nil
}

func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}

// ReadSigner reads a secret key file.
func ReadSigner(path string) (note.Signer, error) {
	b, err := readSmall(path)
	if err != nil {
		return nil, err
	}
	if IsEncrypted([]byte(b)) {
		return nil, fmt.Errorf("%s is encrypted with a passphrase (keygen --encrypt): %w", path, ErrEncrypted)
	}
	s, err := note.NewSigner(strings.TrimSpace(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ReadVerifierKey reads a verifier key file (one vkey, surrounding
// whitespace ignored).
func ReadVerifierKey(path string) (string, error) {
	b, err := readSmall(path)
	if err != nil {
		return "", err
	}
	vkey := strings.TrimSpace(b)
	if _, err := note.ParseVerifierKey(vkey); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return vkey, nil
}

func readSmall(path string) (string, error) {
	b, err := untrusted.ReadFile(path, 4096, "key file")
	return string(b), err
}
