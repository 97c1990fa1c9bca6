package checkpoint

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"treelog/internal/untrusted"
	"treelog/note"
)

// ProofHeader is the first line of a c2sp.org/tlog-proof@v1 proof.
const ProofHeader = "c2sp.org/tlog-proof@v1"

// MaxProofHashes bounds the inclusion proof lines of a proof: a tree of
// 2^64 entries needs at most 64.
const MaxProofHashes = 64

// MaxProofSize bounds a whole proof file: a maximal note, the proof lines
// and the extra data.
const MaxProofSize = note.MaxSize + 16<<10

// ErrMalformedProof is wrapped by every error about a proof's syntax.
var ErrMalformedProof = errors.New("malformed tlog-proof")

// A Proof is an offline-verifiable proof of inclusion (c2sp.org/tlog-proof).
type Proof struct {
	// Extra is the opaque, unauthenticated extra data; nil if absent.
	Extra []byte
	// Index is the entry's zero-based index in the log.
	Index uint64
	// Inclusion is the Merkle inclusion proof, leaf sibling first.
	Inclusion []Hash
	// Checkpoint is the signed checkpoint, verbatim, with any cosignatures.
	Checkpoint []byte
}

// Marshal returns the proof in its text form.
func (p *Proof) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(ProofHeader + "\n")
	if p.Extra != nil {
		b.WriteString("extra " + base64.StdEncoding.EncodeToString(p.Extra) + "\n")
	}
	b.WriteString("index " + strconv.FormatUint(p.Index, 10) + "\n")
	for _, h := range p.Inclusion {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]) + "\n")
	}
	b.WriteString("\n")
	b.Write(p.Checkpoint)
	return b.Bytes()
}

// ParseProof parses a tlog-proof: the header, the index and the inclusion
// proof lines. The signed checkpoint after them is checked when it is
// opened with the log's key (policy.VerifyProof), which parses it once.
func ParseProof(data []byte) (*Proof, error) {
	if len(data) > MaxProofSize {
		return nil, untrusted.Malformed(ErrMalformedProof, "proof is %d bytes, over the limit of %d", len(data), MaxProofSize)
	}
	s := string(data)
	line := 0
	next := func() (string, bool) {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			return "", false
		}
		l := s[:i]
		s = s[i+1:]
		line++
		return l, true
	}
	l, ok := next()
	if !ok || l != ProofHeader {
		return nil, untrusted.Malformed(ErrMalformedProof, "line 1: want %q", ProofHeader)
	}
	p := &Proof{}
	l, ok = next()
	if !ok {
		return nil, untrusted.Malformed(ErrMalformedProof, "line 2: missing index line")
	}
	if v, isExtra := strings.CutPrefix(l, "extra "); isExtra {
		if v == "" {
			return nil, untrusted.Malformed(ErrMalformedProof, "line %d: extra line with no data", line)
		}
		extra, err := base64.StdEncoding.Strict().DecodeString(v)
		if err != nil {
			return nil, untrusted.Malformed(ErrMalformedProof, "line %d: extra data is not base64", line)
		}
		p.Extra = extra
		if l, ok = next(); !ok {
			return nil, untrusted.Malformed(ErrMalformedProof, "line %d: missing index line", line+1)
		}
	}
	v, isIndex := strings.CutPrefix(l, "index ")
	if !isIndex {
		return nil, untrusted.Malformed(ErrMalformedProof, "line %d: want \"index <n>\"", line)
	}
	idx, err := untrusted.ParseDecimal(v)
	if err != nil {
		return nil, untrusted.Malformed(ErrMalformedProof, "line %d: index: %v", line, err)
	}
	p.Index = idx
	for {
		l, ok = next()
		if !ok {
			return nil, untrusted.Malformed(ErrMalformedProof, "line %d: missing blank line before the checkpoint", line+1)
		}
		if l == "" {
			break
		}
		if len(p.Inclusion) == MaxProofHashes {
			return nil, untrusted.Malformed(ErrMalformedProof, "line %d: more than %d inclusion proof hashes", line, MaxProofHashes)
		}
		h, err := ParseHash(l)
		if err != nil {
			return nil, untrusted.Malformed(ErrMalformedProof, "line %d: inclusion proof hash: %v", line, err)
		}
		p.Inclusion = append(p.Inclusion, h)
	}
	if s == "" {
		return nil, untrusted.Malformed(ErrMalformedProof, "line %d: missing checkpoint after the blank line", line+1)
	}
	p.Checkpoint = []byte(s)
	return p, nil
}
