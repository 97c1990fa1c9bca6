package metamanifest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"treelog/manifest"
	"treelog/note"
)

func key(t testing.TB, name string) (note.Signer, string) {
	t.Helper()
	sk, vk, err := note.GenerateKey(nil, name, note.TypeEd25519)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(sk)
	return s, vk
}

func tree(t *testing.T) (string, []byte) {
	d := t.TempDir()
	os.WriteFile(filepath.Join(d, "a"), []byte("a\n"), 0o644)
	os.MkdirAll(filepath.Join(d, "b"), 0o755)
	os.WriteFile(filepath.Join(d, "b/c"), []byte("c\n"), 0o644)
	r, err := manifest.Create(context.Background(), d, manifest.WithTimestamp(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	return d, r.Top
}

func TestRoundTrip(t *testing.T) {
	_, top := tree(t)
	m, err := New("example.org/tree", top, "3f2a9c")
	if err != nil {
		t.Fatal(err)
	}
	text := m.Text()
	want := Header + "\norigin example.org/tree\ntimestamp 2026-11-22T12:00:00Z\nmanifest " + strings.Fields(strings.SplitN(text, "\n", 5)[3])[1] + " BLAKE2B "
	if !strings.HasPrefix(text, want) || !strings.HasSuffix(text, "\ncommit 3f2a9c\n") {
		t.Errorf("text:\n%s", text)
	}
	p, err := ParseText(text)
	if err != nil || p.Text() != text {
		t.Fatalf("round trip: %v\n%s", err, p.Text())
	}
	if err := p.CheckTopManifest(top); err != nil {
		t.Error(err)
	}
	s, _ := key(t, "publisher.example/k1")
	msg, err := Sign(m, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(msg) > 1024 {
		t.Errorf("a MetaManifest with one signature is %d bytes", len(msg))
	}
}

func TestParseRejections(t *testing.T) {
	_, top := tree(t)
	m, _ := New("example.org/tree", top, "")
	good := strings.Split(strings.TrimSuffix(m.Text(), "\n"), "\n")
	with := func(i int, line string) string {
		l := append([]string{}, good...)
		l[i] = line
		return strings.Join(l, "\n") + "\n"
	}
	h := strings.Repeat("a", 128)
	for _, tc := range []struct{ text, want string }{
		{strings.Join(good, "\n"), "does not end in a newline"},
		{strings.Join(good[:3], "\n") + "\n", "3 lines"},
		{with(0, "treelog-metamanifest/v2"), "line 1: want"},
		{with(1, "origin"), "line 2: want"},
		{with(1, "origin a b"), "line 2: origin"},
		{with(1, "origin a+b"), "line 2: origin"},
		{with(1, "origin "+strings.Repeat("x", 256)), "1 to 255 bytes"},
		{with(1, "origin é.example"), "printable ASCII"},
		{with(2, "timestamp 2026-11-22 12:00:00"), "line 3"},
		{with(2, "timestamp 2026-11-22T12:00:00+00:00"), "line 3"},
		{with(3, "manifest 01 BLAKE2B "+h+" SHA512 "+h), "leading zero"},
		{with(3, "manifest 10 SHA512 "+h+" BLAKE2B "+h), "hash 1 is \"SHA512\""},
		{with(3, "manifest 10 BLAKE2B "+h), "want \"manifest <size>"},
		{with(3, "manifest 10 BLAKE2B "+h[:127]+" SHA512 "+h), "not 128 lowercase hex"},
		{with(3, "manifest  10 BLAKE2B "+h+" SHA512 "+h), "want \"manifest"},
		{m.Text() + "commit a b\n", "line 5: commit"},
		{m.Text() + "vcs abc\n", "line 5: want \"commit <id>\""},
		{m.Text() + "commit a\nextra\n", "6 lines"},
	} {
		_, err := ParseText(tc.text)
		if err == nil || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseText(%.70q) = %v, want %q", tc.text, err, tc.want)
		}
	}
}

func TestVerifyPublishers(t *testing.T) {
	_, top := tree(t)
	m, _ := New("example.org/tree", top, "")
	s1, vk1 := key(t, "publisher.example/k1")
	s2, vk2 := key(t, "other.example/k2")
	pubs := keyMap{"example.org/tree": {vk1}, "other.org/tree": {vk2}}
	msg, _ := Sign(m, s1)
	sm, err := Verify(msg, pubs)
	if err != nil || sm.Origin != "example.org/tree" || strings.Join(sm.Signers(), ",") != "publisher.example/k1" {
		t.Fatalf("Verify: %v", err)
	}
	// Signed by a key allowed for another origin only.
	msg2, _ := Sign(m, s2)
	if _, err := Verify(msg2, pubs); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("key for another origin: %v", err)
	}
	// An origin nobody may publish.
	m3 := *m
	m3.Origin = "nobody.org/tree"
	msg3, _ := Sign(&m3, s1)
	if _, err := Verify(msg3, pubs); !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "no publisher key") {
		t.Errorf("unknown origin: %v", err)
	}
	// Tampered text.
	bad := strings.Replace(string(msg), "2026-11-22T12:00:00Z", "2026-11-23T12:00:00Z", 1)
	if _, err := Verify([]byte(bad), pubs); err == nil || errors.Is(err, ErrUnauthorized) {
		t.Errorf("tampered: %v", err)
	}
	// Two publisher signatures, one unknown: fine.
	both, _ := Sign(m, s1, s2)
	if _, err := Verify(both, pubs); err != nil {
		t.Errorf("co-signed: %v", err)
	}
}

func TestVerifyTree(t *testing.T) {
	d, top := tree(t)
	m, _ := New("example.org/tree", top, "")
	if r, err := VerifyTree(context.Background(), d, m); err != nil || !r.OK() {
		t.Fatalf("VerifyTree: %v %v", err, r)
	}
	// A changed file: the tree verification reports it.
	os.WriteFile(filepath.Join(d, "b/c"), []byte("C\n"), 0o644)
	if r, err := VerifyTree(context.Background(), d, m); err != nil || r.OK() {
		t.Errorf("changed file: %v %v", err, r)
	}
	// An edited TIMESTAMP in the top-level Manifest.
	edited := strings.Replace(string(top), "2026-11-22T12:00:00Z", "2026-11-23T12:00:00Z", 1)
	os.WriteFile(filepath.Join(d, "Manifest"), []byte(edited), 0o644)
	if _, err := VerifyTree(context.Background(), d, m); err == nil || !strings.Contains(err.Error(), "does not match the MetaManifest") {
		t.Errorf("edited TIMESTAMP: %v", err)
	}
	// A top-level Manifest without TIMESTAMP cannot be described.
	if _, err := New("example.org/tree", []byte("IGNORE x\n"), ""); err == nil {
		t.Error("New without TIMESTAMP succeeded")
	}
}

// keyMap is the publishers file in its simplest form: vkeys by origin.
type keyMap map[string][]string

func (m keyMap) Verifiers(origin string) []note.Verifier {
	var out []note.Verifier
	for _, vk := range m[origin] {
		v, err := note.NewVerifier(vk)
		if err != nil {
			panic(err)
		}
		out = append(out, v)
	}
	return out
}
