package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"treelog/internal/keyfile"
	"treelog/internal/testkit/keyscan"
	"treelog/note"
)

// keygen --encrypt writes no byte of the secret key in the clear: every
// file in the directory is scanned for it, and the key decrypts with the
// passphrase (only) to the vkey it printed.
func TestKeygenEncryptedNeverInTheClear(t *testing.T) {
	dir := t.TempDir()
	pass := filepath.Join(t.TempDir(), "pass")
	os.WriteFile(pass, []byte("s3cret passphrase\n"), 0o600)
	var out, errb bytes.Buffer
	if rc := run([]string{"keygen", "--type", "publisher", "--name", "example.org/release", "--out", filepath.Join(dir, "rel"), "--encrypt", "--passphrase-file", pass}, &out, &errb); rc != 0 {
		t.Fatalf("keygen: %d %s", rc, errb.String())
	}
	data, err := keyfile.ReadEncrypted(filepath.Join(dir, "rel.key.age"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keyfile.DecryptSigner(data, "S3cret passphrase"); err == nil {
		t.Fatal("a wrong passphrase opened the key")
	}
	s, err := keyfile.DecryptSigner(data, "s3cret passphrase")
	if err != nil {
		t.Fatal(err)
	}
	vkey, _ := note.VerifierKeyOf(s)
	if !strings.Contains(out.String(), vkey) {
		t.Errorf("printed vkey is not the key's %s:\n%s", vkey, out.String())
	}
	skey := keyscan.Decrypt(t, filepath.Join(dir, "rel.key.age"), "s3cret passphrase")
	if !strings.HasPrefix(skey, "PRIVATE+KEY+example.org/release+") {
		t.Fatalf("decrypted %.12q", skey)
	}
	keyscan.AssertNoSecret(t, dir, skey)
}
