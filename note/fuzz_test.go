package note

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"

	fnote "github.com/transparency-dev/formats/note"
	xnote "golang.org/x/mod/sumdb/note"
)

// FuzzDiagnose holds the note parser to x/mod's verdict: a note (within
// MaxSize, the one deliberate difference) parses here exactly when x/mod
// parses it, with the same text and signatures, and whenever x/mod says
// "malformed" our error names a rule.
func FuzzDiagnose(f *testing.F) {
	f.Add([]byte(specNote))
	f.Add([]byte("a\n\nb\n\n— x AAAAAAAA\n"))
	f.Add([]byte("\n\n— x AAAAAAAA\n"))
	f.Add([]byte("text\n\n— a\x7fb AAAAAAAB\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		if len(msg) > MaxSize {
			return
		}
		ours, err := Parse(msg)
		_, xerr := xnote.Open(msg, xnote.VerifierList())
		var ue *xnote.UnverifiedNoteError
		theyParse := errors.As(xerr, &ue)
		if (err == nil) != theyParse {
			t.Fatalf("verdicts differ on %q: ours %v, x/mod %v", msg, err, xerr)
		}
		if err != nil {
			if diagnose(msg) == nil {
				t.Fatalf("x/mod rejects %q (%v) but diagnose names no rule", msg, xerr)
			}
			return
		}
		if ours.Text != ue.Note.Text || len(ours.UnverifiedSigs) != len(ue.Note.UnverifiedSigs) {
			t.Fatalf("parsed notes differ on %q", msg)
		}
		// A parsed note is opened the same way with a key.
		v, _ := NewVerifier(specVKey)
		xv, _ := xnote.NewVerifier(specVKey)
		_, e1 := Open(msg, v)
		_, e2 := xnote.Open(msg, xnote.VerifierList(xv))
		if (e1 == nil) != (e2 == nil) {
			t.Fatalf("Open verdicts differ on %q: ours %v, x/mod %v", msg, e1, e2)
		}
	})
}

// FuzzVerifierKey holds key parsing to x/mod (Ed25519 keys) and to
// transparency-dev/formats (cosignature/v1 keys): a key we accept, they
// accept, and for Ed25519 keys the reverse too. formats does not check
// that the key ID matches the key; we do (signed-note requires it).
func FuzzVerifierKey(f *testing.F) {
	f.Add(specVKey)
	_, vk, _ := GenerateKey(nil, "w", TypeCosignatureV1)
	f.Add(vk)
	f.Add("PRIVATE+KEY+x+00000000+AA==")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseVerifierKey(s)
		if err == nil && k.Type == TypeCosignatureV1 {
			if _, ferr := fnote.NewVerifierForCosignatureV1(s); ferr != nil {
				t.Fatalf("we accept cosignature key %q, formats does not: %v", s, ferr)
			}
			return
		}
		_, xerr := xnote.NewVerifier(s)
		if err == nil && xerr != nil {
			t.Fatalf("we accept %q, x/mod does not: %v", s, xerr)
		}
		if err != nil && xerr == nil {
			t.Fatalf("x/mod accepts %q, we do not: %v", s, err)
		}
		NewSigner(s)
	})
}

// FuzzEd25519 holds the precomputed verifier to crypto/ed25519 on any
// key, message and signature.
func FuzzEd25519(f *testing.F) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	msg := []byte("treelog\n")
	f.Add([]byte(pub), msg, ed25519.Sign(priv, msg))
	f.Add(bytes.Repeat([]byte{0}, 32), msg, make([]byte, 64))
	f.Fuzz(func(t *testing.T, pub, msg, sig []byte) {
		if len(pub) != ed25519.PublicKeySize {
			return
		}
		want := ed25519.Verify(pub, msg, sig)
		if got := newPublicKey(pub).verify(msg, sig); got != want {
			t.Fatalf("verdicts differ: ours %v, crypto/ed25519 %v\npub %x\nmsg %x\nsig %x", got, want, pub, msg, sig)
		}
	})
}
