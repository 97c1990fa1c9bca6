package trust

import (
	"strings"
	"testing"

	"treelog/note"
)

// testKey is a signed-note key for tests.
type testKey struct {
	vkey string
	s    note.Signer
}

func newKey(t testing.TB, name string, typ byte) testKey {
	t.Helper()
	sk, vk, err := note.GenerateKey(nil, name, typ)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(sk)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{vkey: vk, s: s}
}

func TestPublishers(t *testing.T) {
	a := newKey(t, "gentoo.org/release-2026", note.TypeEd25519)
	b := newKey(t, "overlay.example/key", note.TypeEd25519)
	text := "# who may publish what\npublisher gentoo.org/repo " + a.vkey + "\n\tpublisher  overlay.example/tree\t" + b.vkey + "\npublisher gentoo.org/repo " + b.vkey + "\n"
	p, err := ParsePublishers([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Origins(); len(got) != 2 || got[0] != "gentoo.org/repo" {
		t.Errorf("Origins = %v", got)
	}
	if len(p.Verifiers("gentoo.org/repo")) != 2 || len(p.Verifiers("nope")) != 0 {
		t.Error("Verifiers")
	}
	if got := p.OriginsOf(b.s.Name(), b.s.KeyHash()); len(got) != 2 {
		t.Errorf("OriginsOf = %v", got)
	}
	w := newKey(t, "witness.example/w", note.TypeCosignatureV1)
	for _, tc := range []struct{ text, want string }{
		{"publisher o " + a.vkey + "\npublisher o " + a.vkey + "\n", "line 2: duplicate publisher: the same key for origin \"o\" is on line 1"},
		{"publisher o\n", "line 1: want \"publisher <origin> <vkey>\""},
		{"publisher o " + a.vkey + " x\n", "want \"publisher"},
		{"log " + a.vkey + "\n", "unknown keyword \"log\""},
		{"publisher a+b " + a.vkey + "\n", "only printable ASCII without spaces or '+'"},
		// The one origin rule: MetaManifests name only ASCII origins.
		{"publisher gentoo.örg/tree " + a.vkey + "\n", "only printable ASCII without spaces or '+'"},
		{"publisher o " + w.vkey + "\n", "signature type 0x04"},
		{"publisher o garbage\n", "line 1: verifier key"},
		{"publisher o " + a.vkey + "\r\n", "control character 0x0d"},
	} {
		_, err := ParsePublishers([]byte(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParsePublishers(%.50q) = %v, want %q", tc.text, err, tc.want)
		}
	}
}
