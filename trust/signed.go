package trust

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"

	"treelog/internal/untrusted"
	"treelog/note"
)

// A Signed is a version of a trust root as a signed note: its parsed
// document, its signature lines and its exact bytes (the log entry).
type Signed struct {
	*Root
	// Note holds the signatures: Sigs those verified (by Open or Next),
	// UnverifiedSigs the rest.
	Note *note.Note
	// Raw is the signed note exactly as given.
	Raw []byte

	// verifiers of the root keys, by vkey, once the signatures were checked.
	verifiers map[string]note.Verifier
}

// verifier returns the verifier of root key k, reusing s's if it has one.
func (s *Signed) verifier(k note.VerifierKey) (note.Verifier, bool) {
	if s != nil {
		if v, ok := s.verifiers[k.String()]; ok {
			return v, true
		}
	}
	return k.Verifier(), false
}

// Hash returns the SHA-256 of the signed note as given: what the next
// version names as its previous one.
func (s *Signed) Hash() [32]byte { return sha256.Sum256(s.Raw) }

// Describe names the version, e.g. "gentoo.org/trust version 3".
func (s *Signed) Describe() string { return versionName(s.Name, s.Version) }

// Parse parses a signed trust-root document without verifying any
// signature.
func Parse(data []byte) (*Signed, error) {
	if len(data) > MaxSize {
		return nil, untrusted.Malformed(ErrMalformed, "%d bytes, over the limit of %d", len(data), MaxSize)
	}
	n, err := note.Parse(data)
	if err != nil {
		return nil, err
	}
	r, err := ParseText(n.Text)
	if err != nil {
		return nil, err
	}
	return &Signed{Root: r, Note: n, Raw: data}, nil
}

// ParseDraft parses a document that may be unsigned (its text alone, as
// the tools write a next version for the root key holders to sign) or
// signed; signatures are not verified.
func ParseDraft(data []byte) (*Signed, error) {
	if !strings.Contains(string(data), "\n\n") {
		if len(data) > MaxSize {
			return nil, untrusted.Malformed(ErrMalformed, "%d bytes, over the limit of %d", len(data), MaxSize)
		}
		if err := note.CheckText(string(data)); err != nil {
			return nil, err
		}
		r, err := ParseText(string(data))
		if err != nil {
			return nil, err
		}
		return &Signed{Root: r, Note: &note.Note{Text: string(data)}, Raw: data}, nil
	}
	return Parse(data)
}

// Open parses a signed document and checks that Threshold of its own root
// keys signed it: how a pinned root, delivered out of band, is checked. It
// does not check the version against any other.
func Open(data []byte) (*Signed, error) {
	s, err := Parse(data)
	if err != nil {
		return nil, err
	}
	if err := s.verify(nil); err != nil {
		return nil, err
	}
	return s, nil
}

// verify checks the signatures: Threshold of s's own root keys, and if
// prev is set, prev.Threshold of prev's root keys (a rotation is certified
// by the old root). A bad signature by any of these keys rejects the
// document, as signed notes say. On success s.Note holds the verified
// signatures.
func (s *Signed) verify(prev *Signed) error {
	// A verifier precomputes its key; a root key verifies a signature or
	// two per version, so the verifiers of keys kept from prev are reused.
	s.verifiers = map[string]note.Verifier{}
	var vs []note.Verifier
	for _, k := range s.Keys {
		v, ok := prev.verifier(k)
		if !ok {
			v = k.Verifier()
		}
		s.verifiers[k.String()] = v
		vs = append(vs, v)
	}
	if prev != nil {
		for _, k := range prev.Keys {
			v, _ := prev.verifier(k)
			vs = append(vs, v)
		}
	}
	n, err := note.Open(s.Raw, vs...)
	var ue *note.UnverifiedNoteError
	switch {
	case errors.As(err, &ue):
		n = ue.Note
	case errors.As(err, new(*note.InvalidSignatureError)):
		return rulef(RuleSignature, "%s: %v", s.Describe(), err)
	case err != nil:
		return rulef(RuleSignature, "%s: %v", s.Describe(), err)
	}
	s.Note = n
	if got := countSigners(n, s.Keys); got < s.Threshold {
		return rulef(RuleSignedByOwn, "%s is signed by %d of its %d root keys (%s); it needs %d", s.Describe(), got, len(s.Keys), signerNames(n, s.Keys), s.Threshold)
	}
	if prev != nil {
		if got := countSigners(n, prev.Keys); got < prev.Threshold {
			return rulef(RuleSignedByPrevious, "%s is signed by %d of %s's %d root keys (%s); it needs %d: the old root must certify the new one", s.Describe(), got, prev.Describe(), len(prev.Keys), signerNames(n, prev.Keys), prev.Threshold)
		}
	}
	return nil
}

// countSigners counts the keys of set with a verified signature in n.
func countSigners(n *note.Note, set []note.VerifierKey) int {
	c := 0
	for _, k := range set {
		if signedBy(n, k) {
			c++
		}
	}
	return c
}

func signedBy(n *note.Note, k note.VerifierKey) bool {
	for _, s := range n.Sigs {
		if s.Name == k.Name && s.Hash == k.ID {
			return true
		}
	}
	return false
}

func signerNames(n *note.Note, set []note.VerifierKey) string {
	var names []string
	for _, k := range set {
		if signedBy(n, k) {
			names = append(names, fmt.Sprintf("%s+%08x", k.Name, k.ID))
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// Sign returns the signed note of r's text with every signer's signature
// (an Ed25519 root key each).
func Sign(r *Root, signers ...note.Signer) ([]byte, error) {
	if err := r.Check(); err != nil {
		return nil, err
	}
	b, err := note.Sign(r.Text(), signers...)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("signed trust root is %d bytes, over the limit of %d", len(b), MaxSize)
	}
	return b, nil
}

// AddSignature adds signer's signature to a document, signed or not yet:
// how each root key holder signs, separately and offline. Signatures
// already there are kept; the result is not verified.
func AddSignature(data []byte, signer note.Signer) ([]byte, error) {
	d, err := ParseDraft(data)
	if err != nil {
		return nil, err
	}
	one, err := note.Sign(d.Note.Text, signer)
	if err != nil {
		return nil, err
	}
	return MergeSignatures(data, one)
}

// MergeSignatures returns the document with the signature lines of data
// and of other copies of the same text (each holder signed their own
// copy), each line once, in the order first seen.
func MergeSignatures(data []byte, others ...[]byte) ([]byte, error) {
	d, err := ParseDraft(data)
	if err != nil {
		return nil, err
	}
	sigs := append(append([]note.Signature(nil), d.Note.Sigs...), d.Note.UnverifiedSigs...)
	for i, o := range others {
		od, err := ParseDraft(o)
		if err != nil {
			return nil, fmt.Errorf("copy %d: %w", i+1, err)
		}
		if od.Note.Text != d.Note.Text {
			return nil, fmt.Errorf("copy %d is another document (%s), not this %s", i+1, od.Describe(), d.Describe())
		}
		sigs = append(append(sigs, od.Note.Sigs...), od.Note.UnverifiedSigs...)
	}
	if len(sigs) == 0 {
		return data, nil
	}
	out := []byte(d.Note.Text + "\n")
	seen := map[string]bool{}
	for _, s := range sigs {
		if l := note.SignatureLine(s); !seen[l] {
			seen[l] = true
			out = append(out, l...)
		}
	}
	if len(out) > MaxSize {
		return nil, fmt.Errorf("signed trust root is %d bytes, over the limit of %d", len(out), MaxSize)
	}
	if _, err := Parse(out); err != nil {
		return nil, err
	}
	return out, nil
}

// ReadPinned reads a pinned version from a file (delivered out of band,
// once): it must be signed by the threshold of its own root keys.
func ReadPinned(path string) (*Signed, error) {
	data, err := untrusted.ReadFile(path, MaxSize, "the pinned trust root")
	if err != nil {
		return nil, err
	}
	p, err := Open(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// ReadPinnedFiles reads ReadPinned of each path.
func ReadPinnedFiles(paths []string) ([]*Signed, error) {
	var out []*Signed
	for _, p := range paths {
		s, err := ReadPinned(p)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
