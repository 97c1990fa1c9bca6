// Package witness implements a c2sp.org/tlog-witness witness: it cosigns a
// log's checkpoint only if it is consistent with the last one it cosigned
// for that log, keeping that state durably in SQLite.
package witness

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"

	"treelog/checkpoint"
	"treelog/internal/untrusted"
)

// Limits on an add-checkpoint request.
const (
	// MaxProofLines is the spec's limit on consistency proof lines.
	MaxProofLines = 63
	// MaxRequestSize bounds a request body: room for the proof and a
	// checkpoint with 16 signature lines even of post-quantum size.
	MaxRequestSize = 128 << 10
)

// A Request is a parsed add-checkpoint request.
type Request struct {
	// Old is the size of the checkpoint the client believes the witness has.
	Old uint64
	// Proof is the consistency proof from Old to the checkpoint's size.
	Proof []checkpoint.Hash
	// Checkpoint is the signed checkpoint, as sent.
	Checkpoint []byte
}

// An Error is a refusal with the HTTP status the spec prescribes.
type Error struct {
	Code int
	Msg  string
	// Size is the size of the latest cosigned checkpoint, for a 409.
	Size uint64
}

func (e *Error) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Code, http.StatusText(e.Code), e.Msg)
}

func errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// ParseRequest parses an add-checkpoint request body: "old N", up to 63
// base64 proof lines, an empty line, then a signed checkpoint. Every line
// ends in a newline; numbers have no leading zeros. Errors are 400s that
// name the line.
func ParseRequest(body []byte) (*Request, error) {
	if len(body) > MaxRequestSize {
		return nil, errorf(http.StatusRequestEntityTooLarge, "request is %d bytes, over the limit of %d", len(body), MaxRequestSize)
	}
	rest := body
	line := 0
	next := func() (string, bool) {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			return "", false
		}
		l := string(rest[:i])
		rest = rest[i+1:]
		line++
		return l, true
	}
	l, ok := next()
	if !ok {
		return nil, errorf(http.StatusBadRequest, "line 1: missing \"old <size>\" line")
	}
	v, isOld := strings.CutPrefix(l, "old ")
	if !isOld {
		return nil, errorf(http.StatusBadRequest, "line 1: want \"old <size>\"")
	}
	old, err := untrusted.ParseDecimal(v)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "line 1: old size: %v", err)
	}
	r := &Request{Old: old}
	for {
		l, ok = next()
		if !ok {
			return nil, errorf(http.StatusBadRequest, "line %d: missing the empty line before the checkpoint", line+1)
		}
		if l == "" {
			break
		}
		if len(r.Proof) == MaxProofLines {
			return nil, errorf(http.StatusBadRequest, "line %d: more than %d consistency proof lines", line, MaxProofLines)
		}
		h, err := checkpoint.ParseHash(l)
		if err != nil {
			return nil, errorf(http.StatusBadRequest, "line %d: consistency proof hash: %v", line, err)
		}
		r.Proof = append(r.Proof, h)
	}
	if len(rest) == 0 {
		return nil, errorf(http.StatusBadRequest, "line %d: missing the checkpoint after the empty line", line+1)
	}
	// The checkpoint is parsed once, when opened with the log's key.
	r.Checkpoint = rest
	return r, nil
}

// Marshal returns the request body.
func (r *Request) Marshal() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", r.Old)
	for _, h := range r.Proof {
		b.WriteString(encodeHash(h) + "\n")
	}
	b.WriteString("\n")
	b.Write(r.Checkpoint)
	return b.Bytes()
}

func encodeHash(h checkpoint.Hash) string {
	return checkpoint.Checkpoint{Hash: h}.HashString()
}
