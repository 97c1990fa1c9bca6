package checkpoint

import (
	"errors"
	"strings"
	"testing"

	"treelog/note"
)

// The example text from c2sp.org/tlog-checkpoint.
const specText = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"

func TestParseSpecExample(t *testing.T) {
	c, err := ParseText(specText)
	if err != nil {
		t.Fatal(err)
	}
	if c.Origin != "example.com/behind-the-sofa" || c.Size != 20852163 || len(c.Extensions) != 0 {
		t.Errorf("parsed %+v", c)
	}
	if c.Text() != specText {
		t.Errorf("Text() = %q", c.Text())
	}
	ext := specText + "ext one\next two\n"
	c, err = ParseText(ext)
	if err != nil || len(c.Extensions) != 2 || c.Text() != ext {
		t.Errorf("extensions: %v %+v", err, c)
	}
}

func TestParseRejections(t *testing.T) {
	root := "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
	empty := "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
	for _, tc := range []struct{ text, want string }{
		{"o\n1\n", "want at least 3"},
		{"\n1\n" + root + "\n", "line 1: origin is empty"},
		{"o\n01\n" + root + "\n", "line 2: tree size: \"01\" has a leading zero"},
		{"o\n+1\n" + root + "\n", "not a decimal number"},
		{"o\n 1\n" + root + "\n", "not a decimal number"},
		{"o\n18446744073709551616\n" + root + "\n", "does not fit in 64 bits"},
		{"o\n\n" + root + "\n", "empty number"},
		{"o\n1\nnot base64!\n", "line 3: root hash: \"not base64!\" is not base64"},
		{"o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n", "not base64"},
		{"o\n1\nAAAA\n", "3 bytes, want 32"},
		{"o\n0\n" + root + "\n", "tree size is 0 but the root hash is not SHA-256 of the empty string"},
		{"o\n1\n" + root + "\n\n", "line 4: extension line is empty"},
		{"o\n1\n" + root + "\n" + strings.Repeat("e\n", MaxExtensionLines+1), "extension lines, over the limit"},
		{"o\n1\n" + root, "does not end in a newline"},
	} {
		_, err := ParseText(tc.text)
		if err == nil || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseText(%q) = %v, want error containing %q", tc.text, err, tc.want)
		}
	}
	if c, err := ParseText("o\n0\n" + empty + "\n"); err != nil || c.Hash != EmptyRoot {
		t.Errorf("empty tree: %v", err)
	}
	if c, err := ParseText("o\n0\n" + root + "\n"); !errors.Is(err, ErrEmptyRoot) || c.Origin != "o" {
		t.Errorf("size 0, other root: %v, %+v", err, c)
	}
}

func newLog(t testing.TB, origin string) (note.Signer, note.Verifier) {
	t.Helper()
	sk, vk, err := note.GenerateKey(nil, origin, note.TypeEd25519)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(sk)
	v, _ := note.NewVerifier(vk)
	return s, v
}

func TestSignOpen(t *testing.T) {
	s, v := newLog(t, "example.org/log")
	c := Checkpoint{Origin: "example.org/log", Size: 5, Hash: Hash{1, 2, 3}}
	msg, err := Sign(c, s)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := Open(msg, v)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Size != 5 || sc.Hash != c.Hash || string(sc.Bytes()) != string(msg) {
		t.Errorf("Open = %+v", sc)
	}
	if o, err := Origin(msg); err != nil || o != "example.org/log" {
		t.Errorf("Origin = %q, %v", o, err)
	}

	// A checkpoint for another origin, signed by a key of that name.
	s2, v2 := newLog(t, "other.org/log")
	c2 := c
	c2.Origin = "other.org/log"
	msg2, _ := Sign(c2, s2)
	if _, err := Open(msg2, v); err == nil || !strings.Contains(err.Error(), "not signed by log key") {
		t.Errorf("other log's checkpoint: %v", err)
	}
	// Origin that differs from the key name (a log mislabelling itself).
	text := Checkpoint{Origin: "evil.org/log", Size: 1, Hash: Hash{9}}.Text()
	mis, _ := note.Sign(text, s2)
	if _, err := Open(mis, v2); err == nil || !strings.Contains(err.Error(), "is not the log's") {
		t.Errorf("wrong origin: %v", err)
	}
	// Sign refuses a key whose name is not the origin.
	if _, err := Sign(c, s2); err == nil {
		t.Error("Sign with a key for another origin succeeded")
	}
	// Size 0 must carry the empty root.
	if _, err := Sign(Checkpoint{Origin: "example.org/log"}, s); err == nil {
		t.Error("Sign of size 0 with a zero root succeeded")
	}
	// A tampered size fails the signature.
	bad := strings.Replace(string(msg), "\n5\n", "\n6\n", 1)
	if _, err := Open([]byte(bad), v); err == nil {
		t.Error("tampered checkpoint verified")
	}
}
