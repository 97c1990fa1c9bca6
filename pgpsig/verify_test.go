package pgpsig

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"treelog/internal/testkit/gpgtest"
	"treelog/manifest"
)

// topManifest returns an unsigned top-level Manifest with one entry.
func topManifest() []byte {
	e := manifest.Entry{Tag: manifest.TagData, Path: "a", Size: 2, Checksums: manifest.HashBytes([]byte("a\n"), []string{"BLAKE2B", "SHA512"})}
	ts := manifest.Entry{Tag: manifest.TagTimestamp, Time: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
	m := &manifest.Manifest{Entries: []manifest.Entry{e, ts}}
	return m.Marshal()
}

// TestGnuPG: Manifests cleartext-signed by GnuPG, as gemato signs them,
// verify with the signer's exported key, for the key types distributions
// use (Gentoo's release keys are RSA; ed25519 is gpg's default).
func TestGnuPG(t *testing.T) {
	g := gpgtest.New(t)
	now := time.Now().Add(time.Hour) // after every key and signature the test makes
	for _, algo := range []string{"ed25519", "rsa2048"} {
		t.Run(algo, func(t *testing.T) {
			uid := algo + "@release.example.org"
			fpr := g.GenKey(uid, algo, "1y")
			kr, err := ReadKeyring(g.Export(uid))
			if err != nil {
				t.Fatal(err)
			}
			if got := kr.Fingerprints(); len(got) != 1 || got[0] != fpr {
				t.Fatalf("keyring fingerprints %v, gpg says %s", got, fpr)
			}
			signed := g.Clearsign(uid, topManifest())
			sig, err := kr.Verify(signed, now)
			if err != nil {
				t.Fatalf("Verify: %v\n%s", err, signed)
			}
			if sig.PrimaryKey != fpr || sig.Created.IsZero() {
				t.Errorf("signature %+v, want primary key %s", sig, fpr)
			}
			// The parser treelog verifies trees with reads the same entries.
			m, err := manifest.Parse(signed)
			if err != nil || !m.OpenPGPSigned || len(m.Entries) != 2 {
				t.Errorf("manifest.Parse: %v, %+v", err, m)
			}

			// One changed byte in the signed text: refused by both gpg and us.
			bad := bytes.Replace(signed, []byte("DATA a 2"), []byte("DATA a 3"), 1)
			if g.Verify(bad) == nil {
				t.Fatal("gpg accepted a changed Manifest")
			}
			if _, err := kr.Verify(bad, now); !errors.Is(err, ErrBadSignature) {
				t.Errorf("changed text: %v, want ErrBadSignature", err)
			}
			// Past the key's expiry.
			if _, err := kr.Verify(signed, now.Add(2*365*24*time.Hour)); !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), "expired") {
				t.Errorf("expired key: %v, want an expired-key ErrBadSignature", err)
			}
		})
	}

	// A key that is not in the keyring.
	g.GenKey("other@example.org", "ed25519", "never")
	kr, err := ReadKeyring(g.Export("ed25519@release.example.org"))
	if err != nil {
		t.Fatal(err)
	}
	other := g.Clearsign("other@example.org", topManifest())
	if _, err := kr.Verify(other, now); !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), "not in the keyring") {
		t.Errorf("unknown signer: %v", err)
	}

	// Framing: nothing but whitespace around the signed message.
	signed := g.Clearsign("ed25519@release.example.org", topManifest())
	if _, err := kr.Verify(append([]byte("\n\n"), append(signed, "\n \n"...)...), now); err != nil {
		t.Errorf("whitespace around the message: %v", err)
	}
	for name, data := range map[string][]byte{
		"entry after":  append(append([]byte{}, signed...), "DATA b 0 SHA512 x\n"...),
		"entry before": append([]byte("IGNORE x\n"), signed...),
		"unsigned":     topManifest(),
		"two messages": append(append([]byte{}, signed...), signed...),
		"truncated":    signed[:len(signed)-30],
	} {
		if _, err := kr.Verify(data, now); err == nil || errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: %v, want a framing or syntax error", name, err)
		}
	}
	if _, err := kr.Verify(topManifest(), now); !errors.Is(err, ErrUnsigned) {
		t.Errorf("unsigned: %v, want ErrUnsigned", err)
	}
}

// TestSplitOneVerdict: a header line that manifest.Parse skips but the
// OpenPGP framing rejects, or signed text whose entries differ from what
// the parser reads, is refused before any signature is checked.
func TestSplitOneVerdict(t *testing.T) {
	body := string(topManifest())
	sig := "-----BEGIN PGP SIGNATURE-----\n\niQ==\n-----END PGP SIGNATURE-----\n"
	for name, data := range map[string]string{
		"non-Hash header": "-----BEGIN PGP SIGNED MESSAGE-----\nComment: x\n\n" + body + sig,
		"CRLF armor":      strings.ReplaceAll("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n"+body+sig, "\n", "\r\n"),
	} {
		if _, err := Split([]byte(data)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestReadKeyring(t *testing.T) {
	for name, data := range map[string]string{
		"empty":   "",
		"garbage": "not a key",
		"armored": "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n-----END PGP PUBLIC KEY BLOCK-----\n",
	} {
		if _, err := ReadKeyring([]byte(data)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := LoadKeyring(filepath.Join(t.TempDir(), "missing.asc")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
