package keyfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"treelog/internal/testkit/keyscan"
	"treelog/note"
)

func TestEncryptedRoundTrip(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "rel")
	skey, vkey, err := note.GenerateKey(nil, "example.org/release", note.TypeEd25519)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteEncrypted(prefix, skey, vkey, "correct horse", WithWorkFactor(10)); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(prefix + EncryptedExt)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if _, err := os.Stat(prefix + ".key"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a clear PREFIX.key exists: %v", err)
	}
	keyscan.AssertNoSecret(t, dir, skey)

	data, err := ReadEncrypted(prefix + EncryptedExt)
	if err != nil {
		t.Fatal(err)
	}
	// Wrong passphrases are refused as such, and so is none.
	for _, ps := range [][]string{{"wrong"}, {"Correct horse", "correct horse "}, {}} {
		if _, err := DecryptSigner(data, ps...); !errors.Is(err, ErrWrongPassphrase) {
			t.Errorf("passphrases %q: %v, want ErrWrongPassphrase", ps, err)
		}
	}
	// The right one among others opens it: the same key.
	s, err := DecryptSigner(data, "wrong", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := note.VerifierKeyOf(s); got != vkey {
		t.Errorf("decrypted key %s, want %s", got, vkey)
	}
	// A key file in the clear is expected elsewhere: say it is encrypted.
	if _, err := ReadSigner(prefix + EncryptedExt); !errors.Is(err, ErrEncrypted) {
		t.Errorf("ReadSigner of an encrypted key: %v, want ErrEncrypted", err)
	}
	// Never overwritten, even with another passphrase.
	if err := WriteEncrypted(prefix, skey, vkey, "other"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("overwrite: %v", err)
	}
	if err := WriteEncrypted(filepath.Join(dir, "x"), skey, vkey, ""); err == nil {
		t.Error("an empty passphrase was accepted")
	}
	// A file that is not encrypted is not taken as one.
	os.WriteFile(filepath.Join(dir, "plain.key"), []byte(skey+"\n"), 0o600)
	if _, err := ReadEncrypted(filepath.Join(dir, "plain.key")); err == nil {
		t.Error("ReadEncrypted accepted a clear key")
	}
}
