package note

import (
	stded25519 "crypto/ed25519"
	"errors"
	"strings"
	"testing"
)

// The example from c2sp.org/signed-note, "Verifier keys".
const (
	specVKey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
	specNote = "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)

func TestSpecExample(t *testing.T) {
	v, err := NewVerifier(specVKey)
	if err != nil {
		t.Fatal(err)
	}
	n, err := Open([]byte(specNote), v)
	if err != nil {
		t.Fatalf("spec example does not verify: %v", err)
	}
	if n.Text != "This is an example message.\n" || len(n.Sigs) != 1 {
		t.Fatalf("got text %q, %d sigs", n.Text, len(n.Sigs))
	}
	if got := string(Marshal(n)); got != specNote {
		t.Errorf("Marshal changed the note:\n%s", got)
	}
	// One flipped bit in the text must fail.
	bad := strings.Replace(specNote, "example message", "example massage", 1)
	if _, err := Open([]byte(bad), v); !errors.As(err, new(*InvalidSignatureError)) {
		t.Errorf("tampered note: got %v, want InvalidSignatureError", err)
	}
}

func TestGenerateRoundTrip(t *testing.T) {
	for _, typ := range []byte{TypeEd25519, TypeCosignatureV1} {
		skey, vkey, err := GenerateKey(nil, "example.org/k", typ)
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewSigner(skey)
		if err != nil {
			t.Fatal(err)
		}
		v, err := NewVerifier(vkey)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := VerifierKeyOf(s); got != vkey {
			t.Errorf("VerifierKeyOf = %q, want %q", got, vkey)
		}
		k, _ := ParseVerifierKey(vkey)
		if k.Type != typ || k.ID != KeyID("example.org/k", typ, k.Public) || k.String() != vkey {
			t.Errorf("parsed key %+v does not match", k)
		}
		text := "a\nb\n"
		if typ == TypeCosignatureV1 {
			text = "example.org/log\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
		}
		msg, err := Sign(text, s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Open(msg, v); err != nil {
			t.Errorf("type %d: %v", typ, err)
		}
	}
	// The same seed with two types must give two key IDs.
	_, vkey, _ := GenerateKey(nil, "n", TypeEd25519)
	k, _ := ParseVerifierKey(vkey)
	if KeyID("n", TypeEd25519, k.Public) == KeyID("n", TypeCosignatureV1, k.Public) {
		t.Error("key IDs of the two types collide")
	}
}

func TestKeyRejections(t *testing.T) {
	_, good, _ := GenerateKey(nil, "example.org/k", TypeEd25519)
	name, rest, _ := strings.Cut(good, "+")
	id, key, _ := strings.Cut(rest, "+")
	for _, tc := range []struct{ vkey, want string }{
		{"", "key name is empty"},
		{name + "+" + id, "not base64"},
		{"+" + rest, "key name is empty"},
		{"a b+" + rest, "contains a space"},
		{name + "+1234+" + key, "not 8 hex digits"},
		{name + "+" + id + "+!!!", "not base64"},
		{name + "+00000000+" + key, "does not match the key"},
		{"other.org/k+" + rest, "does not match the key"},
		{name + "+" + id + "+AQ==", "0 bytes, want 32"},
		{name + "+" + id + "+Aw" + key[2:], "signature type unsupported"},
	} {
		_, err := ParseVerifierKey(tc.vkey)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseVerifierKey(%q) = %v, want error containing %q", tc.vkey, err, tc.want)
		}
	}
	// x/mod's rules, not stricter ones: upper-case hex in the key ID.
	if _, err := ParseVerifierKey(name + "+" + strings.ToUpper(id) + "+" + key); err != nil {
		t.Errorf("upper-case key ID refused: %v", err)
	}
	for _, skey := range []string{"", "PRIVATE+KEY+n+00000000+AA==", "PRIVATE+KEY+n+zz+AA==", "KEY+n"} {
		if _, err := NewSigner(skey); err == nil {
			t.Errorf("NewSigner(%q) succeeded", skey)
		}
	}
	if _, _, err := GenerateKey(nil, "a+b", TypeEd25519); err == nil {
		t.Error("GenerateKey accepted a name with '+'")
	}
	if _, _, err := GenerateKey(nil, "a", 0x02); err == nil {
		t.Error("GenerateKey accepted an unsupported type")
	}
}

func TestParseRejections(t *testing.T) {
	sig := "— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
	for _, tc := range []struct{ msg, want string }{
		{"text\n" + sig, "no blank line"},
		{"text\n\n", "no signature lines"},
		{"text\n\n" + strings.TrimSuffix(sig, "\n"), "does not end in a newline"},
		{"te\x01xt\n\n" + sig, "line 1 contains control character 0x01"},
		{"a\nb\xff\n\n" + sig, "line 2 is not valid UTF-8"},
		{"a\r\n\n" + sig, "control character 0x0d"},
		{"text\n\n- example.com/foo AAAAAAAA\n", "line 3: signature line does not start with"},
		{"text\n\n— example.com/foo\n", "is empty"},
		{"text\n\n— example.com/foo !!!!\n", "not base64"},
		{"text\n\n— example.com/foo AAAA\n", "too short"},
		{"text\n\n— a+b AAAAAAAA\n", "contains '+'"},
		{"text\n\n" + strings.Repeat(sig, MaxSignatures+1), "more than 100 signature lines"},
		{strings.Repeat("x", MaxSize) + "\n\n" + sig, "over the limit of 65535"},
	} {
		_, err := Parse([]byte(tc.msg))
		if err == nil || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%.40q) = %v, want malformed error containing %q", tc.msg, err, tc.want)
		}
	}
	// The text may hold blank lines; the last one separates the signatures.
	n, err := Parse([]byte("a\n\nb\n\n" + sig))
	if err != nil || n.Text != "a\n\nb\n" {
		t.Errorf("text with a blank line: %v, %q", err, n.Text)
	}
	// Exactly MaxSignatures is fine, and identical lines count once.
	n, err = Parse([]byte("text\n\n" + strings.Repeat(sig, MaxSignatures)))
	if err != nil || len(n.UnverifiedSigs) != 1 {
		t.Errorf("%d identical signatures: %v", MaxSignatures, err)
	}
	// DEL is allowed in key names (x/mod's rule), and a line by an unknown
	// key need only be standard, not strict, base64.
	if _, err := Parse([]byte("text\n\n— a\x7fb AAAAAAAA\n")); err != nil {
		t.Errorf("DEL in a key name: %v", err)
	}
	if _, err := Parse([]byte("text\n\n— ab AAAAAAAB\n")); err != nil {
		t.Errorf("non-strict base64 by an unknown key: %v", err)
	}
}

func TestOpenSemantics(t *testing.T) {
	skA, vkA, _ := GenerateKey(nil, "a.example", TypeEd25519)
	skB, vkB, _ := GenerateKey(nil, "b.example", TypeEd25519)
	sA, _ := NewSigner(skA)
	sB, _ := NewSigner(skB)
	vA, _ := NewVerifier(vkA)
	vB, _ := NewVerifier(vkB)
	msg, err := Sign("hello\n", sA, sB)
	if err != nil {
		t.Fatal(err)
	}
	// Unknown signatures are ignored but kept.
	n, err := Open(msg, vA)
	if err != nil || len(n.Sigs) != 1 || len(n.UnverifiedSigs) != 1 {
		t.Fatalf("Open with one known key: %v, %d verified, %d unverified", err, len(n.Sigs), len(n.UnverifiedSigs))
	}
	// No known key: UnverifiedNoteError.
	_, vkC, _ := GenerateKey(nil, "c.example", TypeEd25519)
	vC, _ := NewVerifier(vkC)
	if _, err := Open(msg, vC); !errors.As(err, new(*UnverifiedNoteError)) {
		t.Errorf("no known key: got %v", err)
	}
	// A known key whose signature fails rejects the whole note, even if
	// another known key verified.
	other, _ := Sign("other\n", sB)
	on, _ := Parse(other)
	forged := append(append([]byte{}, "hello\n\n"...), SignatureLine(on.UnverifiedSigs[0])...)
	forged = append(forged, SignatureLine(n.Sigs[0])...)
	if _, err := Open(forged, vA, vB); !errors.As(err, new(*InvalidSignatureError)) {
		t.Errorf("forged signature: got %v", err)
	}
	// A second signature line by a known key is not verified or kept
	// (x/mod's rule): the first one counts.
	dup := append(append([]byte{}, msg...), SignatureLine(on.UnverifiedSigs[0])...)
	if n, err := Open(dup, vB); err != nil || len(n.Sigs) != 1 {
		t.Errorf("duplicate line by a known key: %v", err)
	}
	// A key with the same name but another ID is an unknown key.
	_, vkA2, _ := GenerateKey(nil, "a.example", TypeEd25519)
	vA2, _ := NewVerifier(vkA2)
	if _, err := Open(msg, vA2); !errors.As(err, new(*UnverifiedNoteError)) {
		t.Errorf("same name, other ID: got %v", err)
	}
	// The same key given twice is fine.
	if _, err := Open(msg, vA, vA); err != nil {
		t.Errorf("same verifier twice: %v", err)
	}
	// AppendSignatures adds once.
	m2, err := AppendSignatures(msg, on.UnverifiedSigs[0], on.UnverifiedSigs[0])
	if err != nil || strings.Count(string(m2), "— b.example") != 2 {
		t.Errorf("AppendSignatures: %v\n%s", err, m2)
	}
	m3, _ := AppendSignatures(msg, n.Sigs[0])
	if string(m3) != string(msg) {
		t.Error("AppendSignatures duplicated an existing line")
	}
}

func TestSignRejections(t *testing.T) {
	sk, _, _ := GenerateKey(nil, "a.example", TypeEd25519)
	s, _ := NewSigner(sk)
	for _, text := range []string{"", "no newline", "tab\there\n"} {
		if _, err := Sign(text, s); err == nil {
			t.Errorf("Sign(%q) succeeded", text)
		}
	}
	if _, err := Sign("ok\n"); err == nil {
		t.Error("Sign with no signers succeeded")
	}
}

// Cosignatures are the bytes crypto/ed25519 makes (Ed25519 is
// deterministic), although curve25519-voi signs them.
func TestSignMatchesStdlib(t *testing.T) {
	skey, _, _ := GenerateKey(nil, "k", TypeCosignatureV1)
	s, _ := NewSigner(skey)
	c := s.(*Cosigner)
	msg := []byte("some text\n")
	if got, want := sign(c.priv, msg), stded25519.Sign(c.priv, msg); string(got) != string(want) {
		t.Error("signature differs from crypto/ed25519's")
	}
}
