// Package metamanifest implements treelog's MetaManifest: a signed note that
// names a tree (its origin), its TIMESTAMP, and the size and hashes of the
// exact bytes of its top-level GLEP 74 Manifest, which covers every file of
// the tree through its sub-Manifests. The MetaManifest is what the log
// records; see docs/formats.md for the format.
package metamanifest

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"treelog/internal/untrusted"
	"treelog/manifest"
	"treelog/note"
)

// Header is the first line of a MetaManifest.
const Header = "treelog-metamanifest/v1"

// Where a published tree keeps its MetaManifest and its proof. Dot-names are
// outside GLEP 74 coverage, so they do not change the tree's Manifests.
const (
	Dir       = ".treelog"
	File      = "MetaManifest"
	ProofFile = "MetaManifest.tlog-proof"
)

// Limits.
const (
	// MaxSize bounds a signed MetaManifest, far below the log's 65,535-byte
	// entry limit.
	MaxSize = 16 << 10
	// MaxOriginLen and MaxCommitLen bound those fields.
	MaxOriginLen = 255
	MaxCommitLen = 128
)

// Hashes are the hashes of the top-level Manifest a MetaManifest carries.
var Hashes = []string{"BLAKE2B", "SHA512"}

// ErrMalformed is wrapped by every error about a MetaManifest's syntax.
var ErrMalformed = errors.New("malformed MetaManifest")

// A MetaManifest describes one snapshot of a tree.
type MetaManifest struct {
	// Origin names the tree, e.g. "gentoo.org/repo/gentoo".
	Origin string
	// Timestamp is the tree's TIMESTAMP (whole seconds, UTC).
	Timestamp time.Time
	// ManifestSize and ManifestHashes describe the top-level Manifest.
	ManifestSize   uint64
	ManifestHashes manifest.Checksums
	// Commit is an optional VCS commit id of the snapshot.
	Commit string
}

// Text returns the note text.
func (m *MetaManifest) Text() string {
	var b strings.Builder
	b.WriteString(Header + "\n")
	b.WriteString("origin " + m.Origin + "\n")
	b.WriteString("timestamp " + m.Timestamp.UTC().Format(manifest.TimeFormat) + "\n")
	fmt.Fprintf(&b, "manifest %d", m.ManifestSize)
	for _, c := range m.ManifestHashes {
		b.WriteString(" " + c.Name + " " + c.Value)
	}
	b.WriteString("\n")
	if m.Commit != "" {
		b.WriteString("commit " + m.Commit + "\n")
	}
	return b.String()
}

// CheckOrigin checks a tree's origin: 1 to MaxOriginLen bytes of printable
// ASCII without spaces or '+' (a name as signed notes allow key names,
// reading the same everywhere). Every file that names a tree (publishers
// file, trust root) uses this one rule.
func CheckOrigin(o string) error {
	if o == "" || len(o) > MaxOriginLen {
		return fmt.Errorf("origin must be 1 to %d bytes", MaxOriginLen)
	}
	for i := 0; i < len(o); i++ {
		if c := o[i]; c <= ' ' || c > '~' || c == '+' {
			return fmt.Errorf("origin %q: only printable ASCII without spaces or '+'", o)
		}
	}
	return nil
}

func checkCommit(c string) error {
	if c == "" || len(c) > MaxCommitLen {
		return fmt.Errorf("commit must be 1 to %d bytes", MaxCommitLen)
	}
	for i := 0; i < len(c); i++ {
		ch := c[i]
		if !('0' <= ch && ch <= '9' || 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || ch == '.' || ch == '_' || ch == '-') {
			return fmt.Errorf("commit %q: only letters, digits, '.', '_' and '-'", c)
		}
	}
	return nil
}

// ParseText parses the text of a MetaManifest. Lines are in a fixed order,
// fields separated by single spaces, nothing else allowed.
func ParseText(text string) (*MetaManifest, error) {
	if !strings.HasSuffix(text, "\n") {
		return nil, untrusted.Malformed(ErrMalformed, "text does not end in a newline")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 4 || len(lines) > 5 {
		return nil, untrusted.Malformed(ErrMalformed, "%d lines, want 4 or 5 (header, origin, timestamp, manifest, optional commit)", len(lines))
	}
	if lines[0] != Header {
		return nil, untrusted.Malformed(ErrMalformed, "line 1: want %q", Header)
	}
	m := &MetaManifest{}
	v, ok := strings.CutPrefix(lines[1], "origin ")
	if !ok {
		return nil, untrusted.Malformed(ErrMalformed, "line 2: want \"origin <name>\"")
	}
	if err := CheckOrigin(v); err != nil {
		return nil, untrusted.Malformed(ErrMalformed, "line 2: %v", err)
	}
	m.Origin = v
	v, ok = strings.CutPrefix(lines[2], "timestamp ")
	if !ok {
		return nil, untrusted.Malformed(ErrMalformed, "line 3: want \"timestamp YYYY-MM-DDTHH:MM:SSZ\"")
	}
	t, err := manifest.ParseTimestamp(v)
	if err != nil {
		return nil, untrusted.Malformed(ErrMalformed, "line 3: %v", err)
	}
	m.Timestamp = t
	f := strings.Split(lines[3], " ")
	if len(f) != 2+2*len(Hashes) || f[0] != "manifest" {
		return nil, untrusted.Malformed(ErrMalformed, "line 4: want \"manifest <size> BLAKE2B <hex> SHA512 <hex>\"")
	}
	size, err := untrusted.ParseDecimal(f[1])
	if err != nil {
		return nil, untrusted.Malformed(ErrMalformed, "line 4: size: %v", err)
	}
	m.ManifestSize = size
	for i, name := range Hashes {
		if f[2+2*i] != name {
			return nil, untrusted.Malformed(ErrMalformed, "line 4: hash %d is %q, want %s", i+1, f[2+2*i], name)
		}
		val := f[3+2*i]
		if len(val) != 128 || strings.Trim(val, "0123456789abcdef") != "" {
			return nil, untrusted.Malformed(ErrMalformed, "line 4: %s value is not 128 lowercase hex digits", name)
		}
		m.ManifestHashes = append(m.ManifestHashes, manifest.Checksum{Name: name, Value: val})
	}
	if len(lines) == 5 {
		v, ok := strings.CutPrefix(lines[4], "commit ")
		if !ok {
			return nil, untrusted.Malformed(ErrMalformed, "line 5: want \"commit <id>\"")
		}
		if err := checkCommit(v); err != nil {
			return nil, untrusted.Malformed(ErrMalformed, "line 5: %v", err)
		}
		m.Commit = v
	}
	return m, nil
}

// New describes a tree by its top-level Manifest's bytes, which must carry
// a TIMESTAMP.
func New(origin string, topManifest []byte, commit string) (*MetaManifest, error) {
	if err := CheckOrigin(origin); err != nil {
		return nil, err
	}
	if commit != "" {
		if err := checkCommit(commit); err != nil {
			return nil, err
		}
	}
	m, err := manifest.Parse(topManifest)
	if err != nil {
		return nil, fmt.Errorf("top-level Manifest: %w", err)
	}
	ts, ok := m.Timestamp()
	if !ok {
		return nil, errors.New("top-level Manifest has no TIMESTAMP; create it with one")
	}
	return &MetaManifest{
		Origin:         origin,
		Timestamp:      ts,
		ManifestSize:   uint64(len(topManifest)),
		ManifestHashes: manifest.HashBytes(topManifest, Hashes),
		Commit:         commit,
	}, nil
}

// Sign signs the MetaManifest with one or more publisher keys.
func Sign(m *MetaManifest, signers ...note.Signer) ([]byte, error) {
	if _, err := ParseText(m.Text()); err != nil {
		return nil, err
	}
	msg, err := note.Sign(m.Text(), signers...)
	if err != nil {
		return nil, err
	}
	if len(msg) > MaxSize {
		return nil, fmt.Errorf("signed MetaManifest is %d bytes, over the limit of %d", len(msg), MaxSize)
	}
	return msg, nil
}

// A Signed MetaManifest is one whose publisher signature was verified.
type Signed struct {
	*MetaManifest
	// Note holds the verified publisher signatures in Sigs.
	Note *note.Note
	// Raw is the signed note exactly as given: the log entry.
	Raw []byte
}

// Signers returns the names of the publisher keys that signed.
func (s *Signed) Signers() []string {
	var out []string
	for _, sig := range s.Note.Sigs {
		out = append(out, sig.Name)
	}
	return out
}

// Parse parses a signed MetaManifest without verifying its signatures.
func Parse(data []byte) (*MetaManifest, *note.Note, error) {
	if len(data) > MaxSize {
		return nil, nil, untrusted.Malformed(ErrMalformed, "%d bytes, over the limit of %d", len(data), MaxSize)
	}
	n, err := note.Parse(data)
	if err != nil {
		return nil, nil, err
	}
	m, err := ParseText(n.Text)
	if err != nil {
		return nil, nil, err
	}
	return m, n, nil
}

// ErrUnauthorized is wrapped when no key allowed to publish the origin
// signed the MetaManifest.
var ErrUnauthorized = errors.New("not signed by a key allowed to publish this origin")

// Keys says which publisher keys may sign snapshots of an origin. The
// publishers file (trust.Publishers) is one; a trust root another.
type Keys interface {
	// Verifiers returns the keys allowed to publish origin, or none.
	Verifiers(origin string) []note.Verifier
}

// Verify parses a signed MetaManifest and checks that a key allowed for
// its origin signed it (and that no signature by such a key is bad).
func Verify(data []byte, keys Keys) (*Signed, error) {
	if len(data) > MaxSize {
		return nil, untrusted.Malformed(ErrMalformed, "%d bytes, over the limit of %d", len(data), MaxSize)
	}
	origin, err := OriginOf(data)
	if err != nil {
		return nil, err
	}
	vs := keys.Verifiers(origin)
	if len(vs) == 0 {
		return nil, fmt.Errorf("origin %q: %w (no publisher key is configured for it)", origin, ErrUnauthorized)
	}
	n, err := note.Open(data, vs...)
	if err != nil {
		var ue *note.UnverifiedNoteError
		if errors.As(err, &ue) {
			return nil, fmt.Errorf("origin %q: %w (%v)", origin, ErrUnauthorized, err)
		}
		return nil, fmt.Errorf("MetaManifest for %q: %w", origin, err)
	}
	m, err := ParseText(n.Text)
	if err != nil {
		return nil, err
	}
	if m.Origin != origin {
		return nil, untrusted.Malformed(ErrMalformed, "origin %q is not the one its keys were chosen for", m.Origin)
	}
	return &Signed{MetaManifest: m, Note: n, Raw: data}, nil
}

// OriginOf reads the origin line of a signed MetaManifest, to pick the
// keys (or the rule) it is then verified by; the full parse follows.
func OriginOf(data []byte) (string, error) {
	header, rest, _ := strings.Cut(string(data), "\n")
	if header != Header {
		return "", untrusted.Malformed(ErrMalformed, "line 1: want %q", Header)
	}
	line, _, _ := strings.Cut(rest, "\n")
	o, ok := strings.CutPrefix(line, "origin ")
	if !ok {
		return "", untrusted.Malformed(ErrMalformed, "line 2: want \"origin <name>\"")
	}
	if err := CheckOrigin(o); err != nil {
		return "", untrusted.Malformed(ErrMalformed, "line 2: %v", err)
	}
	return o, nil
}

// CheckTopManifest checks that top is exactly the top-level Manifest the
// MetaManifest describes, and that its TIMESTAMP is the MetaManifest's.
func (m *MetaManifest) CheckTopManifest(top []byte) error {
	if uint64(len(top)) != m.ManifestSize {
		return fmt.Errorf("top-level Manifest is %d bytes, the MetaManifest says %d", len(top), m.ManifestSize)
	}
	got := manifest.HashBytes(top, Hashes)
	for _, c := range m.ManifestHashes {
		if got.Get(c.Name) != c.Value {
			return fmt.Errorf("top-level Manifest %s does not match the MetaManifest", c.Name)
		}
	}
	pm, err := manifest.Parse(top)
	if err != nil {
		return fmt.Errorf("top-level Manifest: %w", err)
	}
	if ts, ok := pm.Timestamp(); !ok || !ts.Equal(m.Timestamp) {
		return fmt.Errorf("top-level Manifest TIMESTAMP %s is not the MetaManifest's %s", ts.Format(manifest.TimeFormat), m.Timestamp.Format(manifest.TimeFormat))
	}
	return nil
}

// VerifyTree checks that dir is the tree m describes: its top-level Manifest
// has exactly the described bytes, then every file verifies against the
// Manifest tree (with those same bytes, read once). The top-level Manifest
// is read only up to the size the MetaManifest pins: a larger one is
// refused before it costs memory.
func VerifyTree(ctx context.Context, dir string, m *MetaManifest, opts ...manifest.Option) (*manifest.Report, error) {
	limit := min(m.ManifestSize, manifest.MaxSize)
	top, err := untrusted.ReadFile(filepath.Join(dir, manifest.TopManifestName), int64(limit), "the top-level Manifest")
	if errors.Is(err, untrusted.ErrTooLarge) {
		return nil, fmt.Errorf("the top-level Manifest is larger than the %d bytes the MetaManifest pins: %w", m.ManifestSize, err)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the top-level Manifest: %w", err)
	}
	if err := m.CheckTopManifest(top); err != nil {
		return nil, err
	}
	return manifest.Verify(ctx, dir, append(opts, manifest.WithTopManifest(top))...)
}

// Paths returns the MetaManifest and proof paths of a tree.
func Paths(dir string) (metaManifest, proof string) {
	return filepath.Join(dir, Dir, File), filepath.Join(dir, Dir, ProofFile)
}
