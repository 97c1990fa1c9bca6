package checkpoint

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"

	"treelog/internal/untrusted"
)

// MaxConsistencyHashes bounds a consistency proof: between trees of up to
// 2^64 entries it has at most 2*64 hashes.
const MaxConsistencyHashes = 128

// ErrMalformedConsistency is wrapped by every error about a consistency
// proof's syntax.
var ErrMalformedConsistency = errors.New("malformed consistency proof")

// MarshalConsistencyProof writes an RFC 6962 consistency proof as a log
// serves it (GET /proof/consistency/OLD/NEW): one base64 hash a line, in
// the proof's order, like a tlog-proof's inclusion lines.
func MarshalConsistencyProof(path []Hash) []byte {
	var b bytes.Buffer
	for _, h := range path {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// ParseConsistencyProof parses what MarshalConsistencyProof writes. It
// checks only the syntax: VerifyConsistency checks the proof.
func ParseConsistencyProof(data []byte) ([]Hash, error) {
	if len(data) > MaxConsistencyHashes*45 {
		return nil, untrusted.Malformed(ErrMalformedConsistency, "%d bytes, more than %d hashes", len(data), MaxConsistencyHashes)
	}
	s := string(data)
	if s == "" {
		return nil, nil
	}
	if !strings.HasSuffix(s, "\n") {
		return nil, untrusted.Malformed(ErrMalformedConsistency, "the last line does not end in a newline")
	}
	var out []Hash
	for i, l := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		h, err := ParseHash(l)
		if err != nil {
			return nil, untrusted.Malformed(ErrMalformedConsistency, "line %d: %v", i+1, err)
		}
		out = append(out, h)
	}
	return out, nil
}
