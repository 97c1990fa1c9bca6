package note

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits on notes. Every party parses notes from the network, so both bound
// the work one note can cause. The signed-note spec requires accepting at
// least 16 signatures.
const (
	// MaxSize is the largest note accepted, in bytes. It is also the largest
	// entry a tlog-tiles log can hold.
	MaxSize = 65535
	// MaxSignatures is the largest number of signature lines accepted.
	MaxSignatures = 32
)

// ErrMalformed is wrapped by every error about a note's syntax.
var ErrMalformed = errors.New("malformed note")

// A Signature is one signature line of a note.
type Signature struct {
	// Name is the key name.
	Name string
	// Hash is the key ID.
	Hash uint32
	// Sig is the signature, without the key ID prefix.
	Sig []byte
}

// Line returns the signature line, "— <name> <base64(id || sig)>\n".
func (s Signature) Line() string {
	b := binary.BigEndian.AppendUint32(nil, s.Hash)
	return "— " + s.Name + " " + base64.StdEncoding.EncodeToString(append(b, s.Sig...)) + "\n"
}

// A Note is a parsed signed note.
type Note struct {
	// Text is the note text, ending in a newline.
	Text string
	// Sigs are the signatures by known keys, all verified (after Open), or
	// every signature (after Parse).
	Sigs []Signature
	// UnverifiedSigs are the signatures by keys Open was not given.
	UnverifiedSigs []Signature
}

// Marshal returns the note with its signatures, verified ones first.
func (n *Note) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(n.Text)
	b.WriteString("\n")
	for _, s := range n.Sigs {
		b.WriteString(s.Line())
	}
	for _, s := range n.UnverifiedSigs {
		b.WriteString(s.Line())
	}
	return b.Bytes()
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// CheckText reports whether text can be the text of a signed note: non-empty
// valid UTF-8 ending in a newline, with no control characters but newlines.
func CheckText(text string) error {
	if text == "" || text[len(text)-1] != '\n' {
		return malformed("text does not end in a newline")
	}
	return checkChars(text, 1)
}

// checkChars checks UTF-8 validity and control characters, naming the line.
func checkChars(s string, firstLine int) error {
	line := firstLine
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			return malformed("line %d is not valid UTF-8", line)
		case r == '\n':
			line++
		case r < 0x20:
			return malformed("line %d contains control character 0x%02x", line, r)
		}
	}
	return nil
}

// Parse splits a signed note into its text and signature lines without
// verifying any signature. Every signature is returned in Sigs.
func Parse(msg []byte) (*Note, error) {
	if len(msg) > MaxSize {
		return nil, malformed("note is %d bytes, over the limit of %d", len(msg), MaxSize)
	}
	s := string(msg)
	if err := checkChars(s, 1); err != nil {
		return nil, err
	}
	// The text is separated from the signatures by the last empty line.
	split := strings.LastIndex(s, "\n\n")
	if split < 0 {
		return nil, malformed("no blank line separates the text from the signatures")
	}
	text, sigs := s[:split+1], s[split+2:]
	textLines := strings.Count(text, "\n")
	if sigs == "" {
		return nil, malformed("no signature lines after the blank line (line %d)", textLines+1)
	}
	if !strings.HasSuffix(sigs, "\n") {
		return nil, malformed("last signature line does not end in a newline")
	}
	n := &Note{Text: text}
	lines := strings.Split(sigs[:len(sigs)-1], "\n")
	if len(lines) > MaxSignatures {
		return nil, malformed("%d signature lines, over the limit of %d", len(lines), MaxSignatures)
	}
	for i, line := range lines {
		lineNo := textLines + 2 + i
		sig, err := parseSigLine(line)
		if err != nil {
			return nil, malformed("line %d: %v", lineNo, err)
		}
		n.Sigs = append(n.Sigs, sig)
	}
	return n, nil
}

func parseSigLine(line string) (Signature, error) {
	rest, ok := strings.CutPrefix(line, "— ")
	if !ok {
		return Signature{}, errors.New("signature line does not start with \"— \"")
	}
	name, b64, ok := strings.Cut(rest, " ")
	if !ok {
		return Signature{}, errors.New("signature line has no space between key name and signature")
	}
	if err := checkName(name); err != nil {
		return Signature{}, err
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil {
		return Signature{}, fmt.Errorf("signature by %q is not base64", name)
	}
	if len(raw) < 5 {
		return Signature{}, fmt.Errorf("signature by %q is %d bytes, too short for a key ID and a signature", name, len(raw))
	}
	return Signature{Name: name, Hash: binary.BigEndian.Uint32(raw), Sig: raw[4:]}, nil
}

// UnverifiedError is returned by Open when no signature is by a known key.
type UnverifiedError struct {
	// Note is the parsed note, all of whose signatures are in UnverifiedSigs.
	Note *Note
}

func (e *UnverifiedError) Error() string {
	names := make([]string, 0, len(e.Note.UnverifiedSigs))
	for _, s := range e.Note.UnverifiedSigs {
		names = append(names, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
	}
	return fmt.Sprintf("note has no signature by a known key (signed by: %s)", strings.Join(names, ", "))
}

// InvalidSignatureError is returned by Open when a signature line names a
// known key but the signature does not verify; the whole note is rejected,
// as c2sp.org/signed-note recommends.
type InvalidSignatureError struct {
	Name string
	Hash uint32
	// Err says why, when the verifier could tell (a cosignature timestamp
	// out of range, for one); nil for a plain bad signature.
	Err error
}

func (e *InvalidSignatureError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("signature by %s+%08x does not verify: %v", e.Name, e.Hash, e.Err)
	}
	return fmt.Sprintf("signature by %s+%08x does not verify", e.Name, e.Hash)
}

func (e *InvalidSignatureError) Unwrap() error { return e.Err }

// checker is implemented by verifiers that can say why a signature fails.
type checker interface {
	Check(msg, sig []byte) error
}

// VerifySignature checks one signature with v, returning nil or an error
// that says why it does not verify.
func VerifySignature(v Verifier, msg []byte, s Signature) error {
	if s.Name != v.Name() || s.Hash != v.KeyHash() {
		return fmt.Errorf("signature by %s+%08x is not by key %s+%08x", s.Name, s.Hash, v.Name(), v.KeyHash())
	}
	if c, ok := v.(checker); ok {
		if err := c.Check(msg, s.Sig); err != nil {
			return &InvalidSignatureError{Name: s.Name, Hash: s.Hash, Err: err}
		}
		return nil
	}
	if !v.Verify(msg, s.Sig) {
		return &InvalidSignatureError{Name: s.Name, Hash: s.Hash}
	}
	return nil
}

// Open parses a signed note and verifies its signatures by the known
// verifiers. Signatures by other keys are kept in UnverifiedSigs. Open fails
// if a signature by a known key does not verify, or if none is by a known key.
func Open(msg []byte, known ...Verifier) (*Note, error) {
	n, err := Parse(msg)
	if err != nil {
		return nil, err
	}
	return n, n.verify(known)
}

func (n *Note) verify(known []Verifier) error {
	all := n.Sigs
	n.Sigs = nil
	text := []byte(n.Text)
	for _, s := range all {
		v := find(known, s.Name, s.Hash)
		if v == nil {
			n.UnverifiedSigs = append(n.UnverifiedSigs, s)
			continue
		}
		if err := VerifySignature(v, text, s); err != nil {
			return err
		}
		n.Sigs = append(n.Sigs, s)
	}
	if len(n.Sigs) == 0 {
		return &UnverifiedError{Note: n}
	}
	return nil
}

func find(known []Verifier, name string, id uint32) Verifier {
	for _, v := range known {
		if v.KeyHash() == id && v.Name() == name {
			return v
		}
	}
	return nil
}

// Sign signs text with every signer and returns the signed note. Existing
// signatures can be kept by passing a parsed note's text and appending its
// signature lines with AppendSignatures.
func Sign(text string, signers ...Signer) ([]byte, error) {
	if err := CheckText(text); err != nil {
		return nil, err
	}
	if len(signers) == 0 {
		return nil, errors.New("signing note: no signers")
	}
	n := &Note{Text: text}
	for _, s := range signers {
		if err := checkName(s.Name()); err != nil {
			return nil, fmt.Errorf("signing note: %w", err)
		}
		sig, err := s.Sign([]byte(text))
		if err != nil {
			return nil, fmt.Errorf("signing note with %s: %w", s.Name(), err)
		}
		n.Sigs = append(n.Sigs, Signature{Name: s.Name(), Hash: s.KeyHash(), Sig: sig})
	}
	out := n.Marshal()
	if len(out) > MaxSize {
		return nil, fmt.Errorf("signing note: signed note is %d bytes, over the limit of %d", len(out), MaxSize)
	}
	return out, nil
}

// AppendSignatures adds signature lines to a signed note, skipping any line
// the note already carries, and returns the new note. It checks the result
// parses, but verifies nothing.
func AppendSignatures(msg []byte, sigs ...Signature) ([]byte, error) {
	n, err := Parse(msg)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, s := range n.Sigs {
		have[s.Line()] = true
	}
	out := append([]byte(nil), msg...)
	for _, s := range sigs {
		if l := s.Line(); !have[l] {
			have[l] = true
			out = append(out, l...)
		}
	}
	if _, err := Parse(out); err != nil {
		return nil, fmt.Errorf("adding signatures: %w", err)
	}
	return out, nil
}
