// Package note is treelog's one reading of c2sp.org/signed-note: every
// party (log, witness, client, auditor) opens notes here, so all of them
// reach the same verdict on the same bytes.
//
// Notes are parsed and verified by golang.org/x/mod/sumdb/note, whose
// types this package re-exports. What x/mod lacks is added here and kept
// small: a size bound, errors that name what is wrong (x/mod only says
// "malformed note"), cosignature/v1 (c2sp.org/tlog-cosignature) with its
// timestamp, witness keys of type 0x04, and an Ed25519 verifier that
// precomputes the key yet accepts exactly what crypto/ed25519 accepts.
// docs/conformance.md lists each deliberate difference from x/mod.
package note

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"treelog/internal/untrusted"

	xnote "golang.org/x/mod/sumdb/note"
)

// The note types are x/mod's, so that values pass to tessera and other
// code written against golang.org/x/mod/sumdb/note unchanged.
type (
	// A Note is a text and its signatures.
	Note = xnote.Note
	// A Signature is one signature line: key name, key ID, base64.
	Signature = xnote.Signature
	// A Signer signs note texts.
	Signer = xnote.Signer
	// A Verifier verifies one key's signatures.
	Verifier = xnote.Verifier
	// UnverifiedNoteError is returned by Open when no signature is by a
	// known key; the parsed note is inside.
	UnverifiedNoteError = xnote.UnverifiedNoteError
	// InvalidSignatureError is returned by Open when a signature by a
	// known key does not verify; the whole note is rejected.
	InvalidSignatureError = xnote.InvalidSignatureError
)

// MaxSize is the largest note accepted, in bytes: the largest entry a
// tlog-tiles log holds. x/mod has no size bound; every party here parses
// notes from the network, so one is needed.
const MaxSize = 65535

// MaxSignatures is the most signature lines x/mod accepts in a note.
const MaxSignatures = 100

// ErrMalformed is wrapped by every error about a note's syntax.
var ErrMalformed = errors.New("malformed note")

// Open parses a signed note and verifies its signatures by the known
// verifiers, as x/mod's note.Open does: signatures by other keys are kept
// in UnverifiedSigs; a bad signature by a known key rejects the note
// (*InvalidSignatureError); a note with no signature by a known key is an
// *UnverifiedNoteError. A syntax error wraps ErrMalformed and names the
// line at fault.
func Open(msg []byte, known ...Verifier) (*Note, error) {
	if len(msg) > MaxSize {
		return nil, untrusted.Malformed(ErrMalformed, "note is %d bytes, over the limit of %d", len(msg), MaxSize)
	}
	list, err := verifierList(known)
	if err != nil {
		return nil, err
	}
	n, err := xnote.Open(msg, list)
	if err == nil {
		return n, nil
	}
	var ue *UnverifiedNoteError
	if errors.As(err, &ue) {
		return nil, &explained{fmt.Sprintf("note has no signature by a known key (signed by: %s)", keyNames(ue.Note.UnverifiedSigs)), err}
	}
	var ie *InvalidSignatureError
	if errors.As(err, &ie) {
		return nil, &explained{fmt.Sprintf("signature by %s+%08x does not verify", ie.Name, ie.Hash), err}
	}
	// The rest of x/mod's errors are about syntax (our verifier list is
	// never ambiguous and returns the verifier asked for): say which rule.
	if d := diagnose(msg); d != nil {
		return nil, d
	}
	return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
}

// explained is one of x/mod's errors with a message that says more; it
// unwraps to x/mod's error for errors.As.
type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }

// keyNames lists the keys of signature lines, "name+id, ...".
func keyNames(sigs []Signature) string {
	names := make([]string, len(sigs))
	for i, s := range sigs {
		names[i] = fmt.Sprintf("%s+%08x", s.Name, s.Hash)
	}
	return strings.Join(names, ", ")
}

// verifierList builds x/mod's verifier list. The same key given twice is
// kept once; two different keys with one name and key ID are an error.
func verifierList(known []Verifier) (xnote.Verifiers, error) {
	type id struct {
		name string
		hash uint32
	}
	seen := map[id]Verifier{}
	var list []Verifier
	for _, v := range known {
		k := id{v.Name(), v.KeyHash()}
		if prev, ok := seen[k]; ok {
			if sameKey(prev, v) {
				continue
			}
			return nil, fmt.Errorf("two different keys are named %s+%08x", v.Name(), v.KeyHash())
		}
		seen[k] = v
		list = append(list, v)
	}
	return xnote.VerifierList(list...), nil
}

// sameKey reports whether two verifiers hold the same key, where this
// package made them; others are compared by identity.
func sameKey(a, b Verifier) bool {
	ka, oka := a.(keyed)
	kb, okb := b.(keyed)
	if oka && okb {
		return ka.verifierKey().String() == kb.verifierKey().String()
	}
	return a == b
}

// Parse parses a signed note without verifying any signature: every
// signature is in UnverifiedSigs. Identical signature lines are kept once.
func Parse(msg []byte) (*Note, error) {
	_, err := Open(msg)
	var ue *UnverifiedNoteError
	if errors.As(err, &ue) {
		return ue.Note, nil
	}
	return nil, err
}

// Sign signs text with every signer and returns the signed note.
func Sign(text string, signers ...Signer) ([]byte, error) {
	if err := CheckText(text); err != nil {
		return nil, err
	}
	if len(signers) == 0 {
		return nil, errors.New("signing note: no signers")
	}
	for _, s := range signers {
		if err := checkName(s.Name()); err != nil {
			return nil, fmt.Errorf("signing note: %w", err)
		}
	}
	out, err := xnote.Sign(&Note{Text: text}, signers...)
	if err != nil {
		return nil, fmt.Errorf("signing note: %w", err)
	}
	if len(out) > MaxSize {
		return nil, fmt.Errorf("signing note: signed note is %d bytes, over the limit of %d", len(out), MaxSize)
	}
	return out, nil
}

// CheckText reports whether text can be the text of a signed note: valid
// UTF-8 ending in a newline, with no control characters but newlines.
func CheckText(text string) error {
	if text == "" || text[len(text)-1] != '\n' {
		return untrusted.Malformed(ErrMalformed, "text does not end in a newline")
	}
	return checkChars([]byte(text))
}

// NewSignature returns the signature line value for a raw signature (the
// bytes after the key ID) by key name and ID.
func NewSignature(name string, id uint32, sig []byte) Signature {
	b := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(sig)), id)
	return Signature{Name: name, Hash: id, Base64: base64.StdEncoding.EncodeToString(append(b, sig...))}
}

// SignatureBytes returns the raw signature of a signature line: its bytes
// after the key ID.
func SignatureBytes(s Signature) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(s.Base64)
	if err != nil || len(raw) < 5 {
		return nil, fmt.Errorf("signature by %s+%08x is not base64 of a key ID and a signature", s.Name, s.Hash)
	}
	return raw[4:], nil
}

// SignatureLine returns the signature line, "— <name> <base64>\n".
func SignatureLine(s Signature) string {
	return "— " + s.Name + " " + s.Base64 + "\n"
}

// AppendSignatures adds signature lines to a signed note, skipping any line
// the note already carries, and returns the new note. It checks that the
// result parses, but verifies nothing.
func AppendSignatures(msg []byte, sigs ...Signature) ([]byte, error) {
	if _, err := Parse(msg); err != nil {
		return nil, err
	}
	have := map[string]bool{}
	block := msg[bytes.LastIndex(msg, []byte("\n\n"))+2:]
	for _, l := range strings.SplitAfter(string(block), "\n") {
		have[l] = true
	}
	out := bytes.Clone(msg)
	for _, s := range sigs {
		if l := SignatureLine(s); !have[l] {
			have[l] = true
			out = append(out, l...)
		}
	}
	if _, err := Parse(out); err != nil {
		return nil, fmt.Errorf("adding signatures: %w", err)
	}
	return out, nil
}

// checkChars checks UTF-8 validity and control characters as x/mod does,
// naming the line.
func checkChars(b []byte) error {
	line := 1
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return untrusted.Malformed(ErrMalformed, "line %d is not valid UTF-8", line)
		case r == '\n':
			line++
		case r < 0x20:
			return untrusted.Malformed(ErrMalformed, "line %d contains control character 0x%02x", line, r)
		}
		i += size
	}
	return nil
}

// Marshal returns the signed note: its text, a blank line, then the
// verified and the unverified signature lines.
func Marshal(n *Note) []byte {
	var b bytes.Buffer
	b.WriteString(n.Text)
	b.WriteString("\n")
	for _, s := range n.Sigs {
		b.WriteString(SignatureLine(s))
	}
	for _, s := range n.UnverifiedSigs {
		b.WriteString(SignatureLine(s))
	}
	return b.Bytes()
}
