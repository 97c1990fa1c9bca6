package trust

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"treelog/checkpoint"
	"treelog/internal/untrusted"
	"treelog/note"
)

// VersionsHeader is the first line of a versions listing.
const VersionsHeader = "treelog-trustroot-versions/v1"

// Limits of a versions listing: what a log answers at VersionsPath, one
// page at a time.
const (
	// MaxVersionsPerPage bounds the versions of one page.
	MaxVersionsPerPage = 1000
	// MaxVersionsSize bounds a page in bytes; a log stops adding versions
	// to a page past half of it.
	MaxVersionsSize = 8 << 20
)

// ErrMalformedVersions is wrapped by every error about a listing's syntax.
var ErrMalformedVersions = errors.New("malformed trust-root versions listing")

// Versions is a page of the logged versions of one trust root, each with
// its inclusion proof under one signed checkpoint: how a party that
// pinned the root learns the versions after its pin without reading the
// whole log. A log serves it at VersionsPath; docs/formats.md specifies it.
type Versions struct {
	// Root is the root's name.
	Root string
	// Checkpoint is the log's signed checkpoint (with cosignatures) the
	// proofs are for.
	Checkpoint []byte
	// Entries are logged versions in order, each the next one.
	Entries []LoggedVersion
	// Next is the version to ask for next, or 0 if the page ends the
	// versions the checkpoint covers.
	Next uint64
}

// A LoggedVersion is one version as a log entry, with its proof.
type LoggedVersion struct {
	Version uint64
	Index   uint64
	Proof   []checkpoint.Hash
	Entry   []byte
}

// VersionsPath returns the path, below a log's URL, of the listing of
// root name's logged versions from version from on.
func VersionsPath(name string, from uint64) string {
	h := sha256.Sum256([]byte(name))
	return fmt.Sprintf("trustroot/%s?from=%d", hex.EncodeToString(h[:]), from)
}

// Marshal returns the listing's text form.
func (v *Versions) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(VersionsHeader + "\n")
	b.WriteString("root " + v.Root + "\n")
	fmt.Fprintf(&b, "checkpoint %d\n", len(v.Checkpoint))
	b.Write(v.Checkpoint)
	for _, e := range v.Entries {
		fmt.Fprintf(&b, "version %d index %d proof %d entry %d\n", e.Version, e.Index, len(e.Proof), len(e.Entry))
		for _, h := range e.Proof {
			b.WriteString(checkpoint.Checkpoint{Hash: h}.HashString() + "\n")
		}
		b.Write(e.Entry)
	}
	if v.Next > 0 {
		fmt.Fprintf(&b, "next %d\n", v.Next)
	} else {
		b.WriteString("end\n")
	}
	return b.Bytes()
}

// ParseVersions parses a listing. Only its syntax is checked: Verify
// checks the proofs, and a Chain the versions.
func ParseVersions(data []byte) (*Versions, error) {
	if len(data) > MaxVersionsSize {
		return nil, untrusted.Malformed(ErrMalformedVersions, "%d bytes, over the limit of %d", len(data), MaxVersionsSize)
	}
	p := &byteParser{data: data}
	bad := func(format string, args ...any) error {
		return untrusted.Malformed(ErrMalformedVersions, "line %d: %s", p.line, fmt.Sprintf(format, args...))
	}
	if l, _ := p.next(); l != VersionsHeader {
		return nil, bad("want %q", VersionsHeader)
	}
	v := &Versions{}
	l, _ := p.next()
	name, ok := strings.CutPrefix(l, "root ")
	if !ok || CheckName(name) != nil {
		return nil, bad("want \"root <name>\"")
	}
	v.Root = name
	l, _ = p.next()
	f := strings.Split(l, " ")
	if len(f) != 2 || f[0] != "checkpoint" {
		return nil, bad("want \"checkpoint <length>\"")
	}
	n, err := untrusted.ParseDecimal(f[1])
	if err != nil || n > note.MaxSize {
		return nil, bad("checkpoint length must be a decimal number up to %d", note.MaxSize)
	}
	if v.Checkpoint, ok = p.bytes(int(n)); !ok {
		return nil, bad("the checkpoint is cut short")
	}
	for {
		l, ok := p.next()
		if !ok {
			return nil, bad("missing \"end\" or \"next <version>\"")
		}
		if l == "end" || strings.HasPrefix(l, "next ") {
			if l != "end" {
				if v.Next, err = untrusted.ParseDecimal(strings.TrimPrefix(l, "next ")); err != nil || v.Next == 0 {
					return nil, bad("want \"next <version>\"")
				}
			}
			if len(p.data) > 0 {
				return nil, bad("data after %q", l)
			}
			return v, nil
		}
		f := strings.Split(l, " ")
		if len(f) != 8 || f[0] != "version" || f[2] != "index" || f[4] != "proof" || f[6] != "entry" {
			return nil, bad("want \"version <n> index <i> proof <hashes> entry <length>\"")
		}
		if len(v.Entries) == MaxVersionsPerPage {
			return nil, bad("more than %d versions", MaxVersionsPerPage)
		}
		var e LoggedVersion
		nums := make([]uint64, 4)
		for i, s := range []string{f[1], f[3], f[5], f[7]} {
			if nums[i], err = untrusted.ParseDecimal(s); err != nil {
				return nil, bad("%v", err)
			}
		}
		e.Version, e.Index = nums[0], nums[1]
		if nums[2] > checkpoint.MaxProofHashes || nums[3] > MaxSize {
			return nil, bad("at most %d proof hashes and %d entry bytes", checkpoint.MaxProofHashes, MaxSize)
		}
		for range nums[2] {
			hl, _ := p.next()
			h, err := checkpoint.ParseHash(hl)
			if err != nil {
				return nil, bad("proof hash: %v", err)
			}
			e.Proof = append(e.Proof, h)
		}
		if e.Entry, ok = p.bytes(int(nums[3])); !ok {
			return nil, bad("version %d's entry is cut short", e.Version)
		}
		v.Entries = append(v.Entries, e)
	}
}

// Verify checks the listing against cp, the checkpoint in it as the
// caller verified it (log signature, quorum, consistency): every entry is
// the leaf at its index, and the indexes and version numbers increase.
// Chain.Follow checks that each entry is the version its line says.
func (v *Versions) Verify(cp checkpoint.Checkpoint) error {
	for i, e := range v.Entries {
		if i > 0 && (e.Index <= v.Entries[i-1].Index || e.Version != v.Entries[i-1].Version+1) {
			return fmt.Errorf("versions listing: version %d at index %d does not follow version %d at index %d", e.Version, e.Index, v.Entries[i-1].Version, v.Entries[i-1].Index)
		}
		if err := checkpoint.VerifyInclusion(cp, e.Index, e.Entry, e.Proof); err != nil {
			return fmt.Errorf("versions listing: version %d at index %d is not in the log's checkpoint of size %d: %w", e.Version, e.Index, cp.Size, err)
		}
	}
	return nil
}

// byteParser reads lines and counted bytes.
type byteParser struct {
	data []byte
	line int
}

func (p *byteParser) next() (string, bool) {
	i := bytes.IndexByte(p.data, '\n')
	if i < 0 {
		p.data = nil
		return "", false
	}
	l := string(p.data[:i])
	p.data = p.data[i+1:]
	p.line++
	return l, true
}

func (p *byteParser) bytes(n int) ([]byte, bool) {
	if n > len(p.data) {
		return nil, false
	}
	b := p.data[:n:n]
	p.data = p.data[n:]
	p.line += bytes.Count(b, []byte("\n"))
	return b, true
}
