// Package manifest reads, writes, creates and verifies GLEP 74 full-tree
// Manifests: the files that list every file of a distribution tree with its
// size and hashes, nested through (compressed) sub-Manifests under one
// top-level Manifest.
package manifest

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"treelog/internal/untrusted"
)

// Tag is the first field of a Manifest line.
type Tag string

// The Manifest tags of GLEP 74. EBUILD, MISC and AUX are deprecated
// equivalents of DATA, allowed in package directories.
const (
	TagTimestamp Tag = "TIMESTAMP"
	TagManifest  Tag = "MANIFEST"
	TagIgnore    Tag = "IGNORE"
	TagData      Tag = "DATA"
	TagDist      Tag = "DIST"
	TagEbuild    Tag = "EBUILD"
	TagMisc      Tag = "MISC"
	TagAux       Tag = "AUX"
)

// TimeFormat is the TIMESTAMP format, strftime's %Y-%m-%dT%H:%M:%SZ.
const TimeFormat = "2006-01-02T15:04:05Z"

// MaxSize bounds a Manifest file, compressed or not: far above the largest
// Manifest a real tree has, it stops a decompression bomb.
const MaxSize = 256 << 20

// ErrSyntax is wrapped by every Manifest syntax error.
var ErrSyntax = errors.New("Manifest syntax error")

// An Entry is one Manifest line.
type Entry struct {
	Tag Tag
	// Path is the decoded path: relative to the Manifest's directory, except
	// for AUX (relative to files/, see FilePath) and DIST (a distfile name).
	Path string
	// Size and Checksums describe the file (not for IGNORE and TIMESTAMP).
	Size      uint64
	Checksums Checksums
	// Time is the TIMESTAMP value.
	Time time.Time
}

// IsFile reports whether the entry describes a local file to verify:
// MANIFEST, DATA, EBUILD, MISC or AUX.
func (e *Entry) IsFile() bool {
	switch e.Tag {
	case TagManifest, TagData, TagEbuild, TagMisc, TagAux:
		return true
	}
	return false
}

// FilePath returns the path of the entry's file relative to the Manifest's
// directory (AUX paths are under files/).
func (e *Entry) FilePath() string {
	if e.Tag == TagAux {
		return "files/" + e.Path
	}
	return e.Path
}

// Line returns the entry as a Manifest line, without the newline.
func (e *Entry) Line() string { return string(e.appendLine(nil)) }

// appendLine appends the entry's line, without the newline, to b.
func (e *Entry) appendLine(b []byte) []byte {
	switch e.Tag {
	case TagTimestamp:
		return e.Time.UTC().AppendFormat(append(b, "TIMESTAMP "...), TimeFormat)
	case TagIgnore:
		return append(append(b, "IGNORE "...), EncodePath(e.Path)...)
	}
	b = append(b, e.Tag...)
	b = append(b, ' ')
	b = append(b, EncodePath(e.Path)...)
	b = append(b, ' ')
	b = strconv.AppendUint(b, e.Size, 10)
	for _, c := range e.Checksums {
		b = append(b, ' ')
		b = append(b, c.Name...)
		b = append(b, ' ')
		b = append(b, c.Value...)
	}
	return b
}

// less orders entries as gemato sorts them: by tag, then by path (AUX by
// its files/ path), TIMESTAMPs by time.
func less(a, b *Entry) bool {
	if a.Tag != b.Tag {
		return a.Tag < b.Tag
	}
	if a.Tag == TagTimestamp {
		return a.Time.Before(b.Time)
	}
	return a.FilePath() < b.FilePath()
}

// A Manifest is a parsed Manifest file.
type Manifest struct {
	Entries []Entry
	// OpenPGPSigned reports that the file was an OpenPGP cleartext-signed
	// Manifest. The signature is not checked: in treelog the MetaManifest
	// vouches for the top-level Manifest's bytes.
	OpenPGPSigned bool
}

// Sort orders the entries as Marshal writes them.
func (m *Manifest) Sort() {
	sort.SliceStable(m.Entries, func(i, j int) bool { return less(&m.Entries[i], &m.Entries[j]) })
}

// Marshal returns the Manifest file, entries sorted, one per line.
func (m *Manifest) Marshal() []byte {
	m.Sort()
	n := 0
	for i := range m.Entries {
		e := &m.Entries[i]
		n += len(e.Tag) + len(e.Path) + 24
		for _, c := range e.Checksums {
			n += len(c.Name) + len(c.Value) + 2
		}
	}
	b := make([]byte, 0, n)
	for i := range m.Entries {
		b = append(m.Entries[i].appendLine(b), '\n')
	}
	return b
}

// Timestamp returns the Manifest's TIMESTAMP, if it has one.
func (m *Manifest) Timestamp() (time.Time, bool) {
	for _, e := range m.Entries {
		if e.Tag == TagTimestamp {
			return e.Time, true
		}
	}
	return time.Time{}, false
}

func syntaxErr(line int, format string, args ...any) error {
	return fmt.Errorf("%w: line %d: %s", ErrSyntax, line, fmt.Sprintf(format, args...))
}

// Parse parses a Manifest file. Fields are separated by whitespace, blank
// lines and surrounding whitespace (a CR included) are ignored, as GLEP 74
// asks. An OpenPGP cleartext-signed Manifest is accepted and unwrapped.
func Parse(data []byte) (*Manifest, error) { return parseText(string(data)) }

// parseText parses a Manifest; the entries' strings are substrings of text.
func parseText(text string) (*Manifest, error) {
	if len(text) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, over the limit of %d", ErrSyntax, len(text), MaxSize)
	}
	m := &Manifest{}
	const (
		plain = iota
		pgpHeader
		pgpData
		pgpSig
		pgpDone
	)
	state := plain
	timestamps := 0
	lines := strings.Count(text, "\n") + 1
	m.Entries = make([]Entry, 0, lines)
	// Every entry's hashes share one backing array: two allocations per
	// Manifest instead of one per line.
	arena := make([]Checksum, 0, 2*lines)
	var fieldBuf [24]string
	for no := 1; text != ""; no++ {
		line := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = ""
		}
		switch state {
		case plain:
			if line == "-----BEGIN PGP SIGNED MESSAGE-----" {
				if len(m.Entries) > 0 {
					return nil, syntaxErr(no, "OpenPGP signed message after unsigned entries")
				}
				m.OpenPGPSigned = true
				state = pgpHeader
				continue
			}
		case pgpHeader:
			if strings.TrimSpace(line) == "" {
				state = pgpData
			}
			continue
		case pgpData:
			if line == "-----BEGIN PGP SIGNATURE-----" {
				state = pgpSig
				continue
			}
			line = strings.TrimPrefix(line, "- ") // RFC 4880 dash-escaping
		case pgpSig:
			if line == "-----END PGP SIGNATURE-----" {
				state = pgpDone
			}
			continue
		}
		fields := splitFields(line, fieldBuf[:0])
		if len(fields) == 0 {
			continue
		}
		if strings.HasPrefix(line, "-----") {
			return nil, syntaxErr(no, "unexpected OpenPGP armor line %q", untrusted.Short(line, 60))
		}
		if state == pgpDone {
			return nil, syntaxErr(no, "data after the OpenPGP signature")
		}
		e, err := parseEntry(fields, &arena)
		if err != nil {
			return nil, syntaxErr(no, "%v", err)
		}
		if e.Tag == TagTimestamp {
			if timestamps++; timestamps > 1 {
				return nil, syntaxErr(no, "second TIMESTAMP line")
			}
		}
		m.Entries = append(m.Entries, e)
	}
	switch state {
	case pgpHeader, pgpData:
		return nil, fmt.Errorf("%w: OpenPGP signed Manifest ends before its signature", ErrSyntax)
	case pgpSig:
		return nil, fmt.Errorf("%w: OpenPGP signed Manifest ends inside its signature", ErrSyntax)
	}
	return m, nil
}

// splitFields splits a line at runs of whitespace, like strings.Fields,
// into buf to spare an allocation per line on the common ASCII lines.
func splitFields(line string, buf []string) []string {
	f := buf
	i := 0
	for i < len(line) {
		for i < len(line) && asciiSpace[line[i]] {
			i++
		}
		j := i
		for j < len(line) && !asciiSpace[line[j]] {
			if line[j] >= utf8.RuneSelf {
				// Unicode white space separates fields too.
				return strings.Fields(line)
			}
			j++
		}
		if j > i {
			f = append(f, line[i:j])
		}
		i = j
	}
	return f
}

// asciiSpace marks the ASCII white space octets.
var asciiSpace = [256]bool{' ': true, '\t': true, '\n': true, '\r': true, '\v': true, '\f': true}

// parseEntry parses one line's fields; the hashes are appended to arena.
func parseEntry(f []string, arena *[]Checksum) (Entry, error) {
	tag := Tag(f[0])
	e := Entry{Tag: tag}
	switch tag {
	case TagTimestamp:
		if len(f) != 2 {
			return e, fmt.Errorf("TIMESTAMP wants 1 value, got %d", len(f)-1)
		}
		t, err := ParseTimestamp(f[1])
		if err != nil {
			return e, err
		}
		e.Time = t
		return e, nil
	case TagIgnore:
		if len(f) != 2 {
			return e, fmt.Errorf("IGNORE wants 1 value (a path), got %d", len(f)-1)
		}
		p, err := DecodePath(f[1])
		if err == nil {
			err = checkRelPath(p)
		}
		if err != nil {
			return e, fmt.Errorf("IGNORE: %v", err)
		}
		e.Path = p
		return e, nil
	case TagManifest, TagData, TagDist, TagEbuild, TagMisc, TagAux:
	default:
		return e, fmt.Errorf("unknown tag %q", untrusted.Short(f[0], 60))
	}
	if len(f) < 3 {
		return e, fmt.Errorf("%s wants a path and a size, got %d value(s)", tag, len(f)-1)
	}
	p, err := DecodePath(f[1])
	if err == nil {
		err = checkRelPath(p)
	}
	if err != nil {
		return e, fmt.Errorf("%s: %v", tag, err)
	}
	if (tag == TagDist || tag == TagEbuild) && strings.Contains(p, "/") {
		return e, fmt.Errorf("%s: %q must be a file name, not a path", tag, p)
	}
	e.Path = p
	size, err := parseSize(f[2])
	if err != nil {
		return e, fmt.Errorf("%s %s: %v", tag, EncodePath(p), err)
	}
	e.Size = size
	pairs := f[3:]
	if len(pairs) == 0 {
		return e, fmt.Errorf("%s %s: no hashes (GLEP 74 wants one or more)", tag, EncodePath(p))
	}
	if len(pairs)%2 != 0 {
		return e, fmt.Errorf("%s %s: hash %s has no value", tag, EncodePath(p), pairs[len(pairs)-1])
	}
	start := len(*arena)
	for i := 0; i < len(pairs); i += 2 {
		c := Checksum{Name: pairs[i], Value: pairs[i+1]}
		if Checksums((*arena)[start:]).Get(c.Name) != "" {
			return e, fmt.Errorf("%s %s: hash %s given twice", tag, EncodePath(p), c.Name)
		}
		if a := algorithmIndex(c.Name); a >= 0 && (len(c.Value) != algorithms[a].hexLen || !isLowerHex(c.Value)) {
			return e, fmt.Errorf("%s %s: %s value is not %d lowercase hex digits", tag, EncodePath(p), c.Name, algorithms[a].hexLen)
		}
		*arena = append(*arena, c)
	}
	// The full slice expression keeps an append to these hashes (merging
	// entries) from writing over the next entry's.
	end := len(*arena)
	e.Checksums = (*arena)[start:end:end]
	sortChecksums(e.Checksums)
	return e, nil
}

// sortChecksums sorts by name; an insertion sort, as there are two or three.
func sortChecksums(cs Checksums) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].Name < cs[j-1].Name; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// lowerHex marks the octets of lowercase hex: a table lookup checks the
// 256 hex digits of each entry's hashes faster than comparisons.
var lowerHex = func() (t [256]bool) {
	for _, c := range "0123456789abcdef" {
		t[c] = true
	}
	return t
}()

func isLowerHex(s string) bool {
	ok := true
	for i := 0; i < len(s); i++ {
		ok = ok && lowerHex[s[i]]
	}
	return ok
}

func parseSize(s string) (uint64, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("size %q is not an unsigned decimal number", untrusted.Short(s, 60))
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("size %q has a leading zero", s)
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q does not fit in 64 bits", untrusted.Short(s, 60))
	}
	return n, nil
}

// ParseTimestamp parses a TIMESTAMP value, exactly %Y-%m-%dT%H:%M:%SZ.
func ParseTimestamp(s string) (time.Time, error) {
	t, err := time.Parse(TimeFormat, s)
	if err != nil || len(s) != len(TimeFormat) {
		return time.Time{}, fmt.Errorf("TIMESTAMP %q is not of the form YYYY-MM-DDTHH:MM:SSZ", untrusted.Short(s, 60))
	}
	return t, nil
}
