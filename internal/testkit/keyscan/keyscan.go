// Package keyscan checks that files hold no secret key in the clear.
package keyscan

import (
	"bytes"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// AssertNoSecret fails if any file under dir holds skey's seed in any
// form a key file could: raw, base64 (with its type byte or not), or the
// skey text itself.
func AssertNoSecret(t *testing.T, dir, skey string) {
	t.Helper()
	f := strings.SplitN(skey, "+", 5)
	if len(f) != 5 {
		t.Fatalf("not an skey: %.12q", skey)
	}
	raw, err := base64.StdEncoding.DecodeString(f[4])
	if err != nil || len(raw) != 33 {
		t.Fatalf("not an skey: %.12q", skey)
	}
	seed := raw[1:]
	needles := []string{string(seed), f[4], base64.StdEncoding.EncodeToString(seed), base64.RawStdEncoding.EncodeToString(seed), "PRIVATE+KEY"}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range needles {
			if strings.Contains(string(b), n) {
				t.Errorf("%s holds the secret key in the clear (%q)", p, n[:min(len(n), 12)])
			}
		}
		return nil
	})
}

// Decrypt returns the skey in an encrypted key file, with age itself (not
// treelog's code), so that a test can look for it elsewhere.
func Decrypt(t *testing.T, file, pass string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	id, err := age.NewScryptIdentity(pass)
	if err != nil {
		t.Fatal(err)
	}
	r, err := age.Decrypt(armor.NewReader(bytes.NewReader(data)), id)
	if err != nil {
		t.Fatalf("decrypting %s: %v", file, err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
