// Package checkpoint implements the transparency-log formats treelog shares
// between its parts: checkpoints (c2sp.org/tlog-checkpoint) and offline
// inclusion proofs (c2sp.org/tlog-proof).
package checkpoint

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"treelog/internal/untrusted"
	"treelog/note"
)

// HashSize is the size of a Merkle tree hash (SHA-256).
const HashSize = 32

// Hash is a Merkle tree hash.
type Hash = [HashSize]byte

// EmptyRoot is the root hash of the empty tree, SHA-256 of the empty string
// (RFC 6962, section 2.1).
var EmptyRoot = Hash(sha256.Sum256(nil))

// MaxExtensionLines bounds the extension lines a parsed checkpoint may have.
const MaxExtensionLines = 16

// ErrMalformed is wrapped by every error about a checkpoint's syntax.
var ErrMalformed = errors.New("malformed checkpoint")

// ErrEmptyRoot is wrapped (with ErrMalformed) when a checkpoint of size 0
// has a root hash other than the empty tree's. A witness must answer this
// case apart (422), so ParseText returns the parsed checkpoint with it.
var ErrEmptyRoot = errors.New("tree size is 0 but the root hash is not SHA-256 of the empty string")

// A Checkpoint is the text of a signed tree head: origin, tree size, root
// hash and optional extension lines.
type Checkpoint struct {
	Origin     string
	Size       uint64
	Hash       Hash
	Extensions []string
}

// Text returns the note text of the checkpoint.
func (c Checkpoint) Text() string {
	var b strings.Builder
	b.WriteString(c.Origin)
	b.WriteByte('\n')
	b.WriteString(strconv.FormatUint(c.Size, 10))
	b.WriteByte('\n')
	b.WriteString(base64.StdEncoding.EncodeToString(c.Hash[:]))
	b.WriteByte('\n')
	for _, e := range c.Extensions {
		b.WriteString(e)
		b.WriteByte('\n')
	}
	return b.String()
}

// HashString returns the root hash in base64, as the checkpoint writes it.
func (c Checkpoint) HashString() string {
	return base64.StdEncoding.EncodeToString(c.Hash[:])
}

// String returns a short description for messages: "origin@size root".
func (c Checkpoint) String() string {
	return fmt.Sprintf("%s@%d %s", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Hash[:]))
}

// ParseText parses the note text of a checkpoint.
func ParseText(text string) (Checkpoint, error) {
	if err := note.CheckText(text); err != nil {
		return Checkpoint{}, untrusted.Malformed(ErrMalformed, "%v", err)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return Checkpoint{}, untrusted.Malformed(ErrMalformed, "%d lines, want at least 3 (origin, size, root hash)", len(lines))
	}
	if len(lines) > 3+MaxExtensionLines {
		return Checkpoint{}, untrusted.Malformed(ErrMalformed, "%d extension lines, over the limit of %d", len(lines)-3, MaxExtensionLines)
	}
	var c Checkpoint
	c.Origin = lines[0]
	if c.Origin == "" {
		return Checkpoint{}, untrusted.Malformed(ErrMalformed, "line 1: origin is empty")
	}
	size, err := untrusted.ParseDecimal(lines[1])
	if err != nil {
		return Checkpoint{}, untrusted.Malformed(ErrMalformed, "line 2: tree size: %v", err)
	}
	c.Size = size
	c.Hash, err = ParseHash(lines[2])
	if err != nil {
		return Checkpoint{}, untrusted.Malformed(ErrMalformed, "line 3: root hash: %v", err)
	}
	for i, e := range lines[3:] {
		if e == "" {
			return Checkpoint{}, untrusted.Malformed(ErrMalformed, "line %d: extension line is empty", i+4)
		}
		c.Extensions = append(c.Extensions, e)
	}
	if c.Size == 0 && c.Hash != EmptyRoot {
		return c, fmt.Errorf("%w: line 3: %w", ErrMalformed, ErrEmptyRoot)
	}
	return c, nil
}

// ParseHash decodes a standard, padded base64 SHA-256 hash.
func ParseHash(s string) (Hash, error) {
	var h Hash
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return h, fmt.Errorf("%q is not base64", untrusted.Short(s, 40))
	}
	if len(b) != HashSize {
		return h, fmt.Errorf("%d bytes, want %d", len(b), HashSize)
	}
	copy(h[:], b)
	return h, nil
}

// Sign signs the checkpoint with the log's key (and any other signers).
func Sign(c Checkpoint, signers ...note.Signer) ([]byte, error) {
	if len(signers) == 0 {
		return nil, errors.New("signing checkpoint: no signer")
	}
	if signers[0].Name() != c.Origin {
		return nil, fmt.Errorf("signing checkpoint: log key name %q is not the origin %q", signers[0].Name(), c.Origin)
	}
	text := c.Text()
	if _, err := ParseText(text); err != nil {
		return nil, fmt.Errorf("signing checkpoint: %w", err)
	}
	return note.Sign(text, signers...)
}

// A Signed checkpoint is a checkpoint whose log signature was verified.
type Signed struct {
	Checkpoint
	// Note holds the verified log signature in Sigs; cosignatures and other
	// signatures are in UnverifiedSigs (see the policy package).
	Note *note.Note
	// Raw is the signed checkpoint exactly as received.
	Raw []byte
}

// Bytes returns the signed checkpoint exactly as received.
func (s *Signed) Bytes() []byte { return s.Raw }

// Open parses a signed checkpoint and verifies it was signed by the log key
// v, whose name must be the checkpoint's origin. Signatures by other keys are
// kept unverified in Note.UnverifiedSigs.
func Open(msg []byte, v note.Verifier) (*Signed, error) {
	n, err := note.Open(msg, v)
	if err != nil {
		var ue *note.UnverifiedNoteError
		if errors.As(err, &ue) {
			return nil, fmt.Errorf("checkpoint is not signed by log key %s+%08x", v.Name(), v.KeyHash())
		}
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	c, err := ParseText(n.Text)
	if err != nil {
		return nil, err
	}
	if c.Origin != v.Name() {
		return nil, fmt.Errorf("checkpoint origin %q is not the log's %q", untrusted.Short(c.Origin, 40), v.Name())
	}
	return &Signed{Checkpoint: c, Note: n, Raw: msg}, nil
}

// Origin returns the origin line of a signed checkpoint without parsing or
// verifying the rest, to pick the verifier that Open then checks it with.
func Origin(msg []byte) (string, error) {
	line, _, ok := bytes.Cut(msg, []byte("\n"))
	if !ok || len(line) == 0 {
		return "", untrusted.Malformed(ErrMalformed, "line 1: no origin line")
	}
	if len(line) > 1024 {
		return "", untrusted.Malformed(ErrMalformed, "line 1: origin is over 1024 bytes")
	}
	return string(line), nil
}

// OriginHash is SHA-256 of a log's origin: the key under which a witness
// serves its latest cosigned checkpoint of that log, at
// /<hex(OriginHash)>/checkpoint.
func OriginHash(origin string) [32]byte { return sha256.Sum256([]byte(origin)) }
