package signer

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"treelog/metamanifest"
)

// The signing daemon's protocol (docs/formats.md): one request a
// connection. The client writes RequestHeader, a newline and the text of
// the MetaManifest it wants signed, then closes its side; the daemon answers
// "ok\n" and the signed note, or "error <code> <message>\n".
const (
	RequestHeader = "treelog-signd/v1 sign"
	// MaxRequestSize bounds a request; a MetaManifest's text is a few
	// hundred bytes.
	MaxRequestSize = 4096
	// MaxResponseSize bounds an answer.
	MaxResponseSize = metamanifest.MaxSize + 1024
)

// Codes of the daemon's refusals.
const (
	CodeMalformed     = "malformed"      // the request is not one
	CodeDenied        = "denied"         // the caller may not ask
	CodeLocked        = "locked"         // no person has unlocked the keys
	CodeUnknownOrigin = "unknown-origin" // no tree is configured for the origin
	CodeStale         = "stale"          // the TIMESTAMP is not newer than the last signed
	CodeFuture        = "future"         // the TIMESTAMP is too far ahead of the daemon's clock
	CodeMismatch      = "mismatch"       // the tree on disk is not the one described
	CodeTreeInvalid   = "tree-invalid"   // the tree does not verify against its Manifests
	CodeTreeChanged   = "tree-changed"   // the tree changed while it was being checked
	CodeWrongPass     = "wrong-passphrase"
	CodeInternal      = "internal" // the daemon failed (disk, journal)
)

// A RefusedError is a refusal by the signing daemon: Code is one of the
// Code constants, Message says why in words.
type RefusedError struct {
	Code    string
	Message string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("the signing daemon refused (%s): %s", e.Code, e.Message)
}

// ErrUnavailable is wrapped when the signing daemon cannot be reached or
// does not answer: an outage, not a refusal.
var ErrUnavailable = errors.New("signing daemon unavailable")

// MarshalRequest returns the request to sign m.
func MarshalRequest(m *metamanifest.MetaManifest) []byte {
	return []byte(RequestHeader + "\n" + m.Text())
}

// ParseRequest parses a request with the MetaManifest parser everyone uses.
func ParseRequest(b []byte) (*metamanifest.MetaManifest, error) {
	if len(b) > MaxRequestSize {
		return nil, fmt.Errorf("request is over %d bytes", MaxRequestSize)
	}
	rest, ok := bytes.CutPrefix(b, []byte(RequestHeader+"\n"))
	if !ok {
		return nil, fmt.Errorf("request does not start with %q", RequestHeader)
	}
	m, err := metamanifest.ParseText(string(rest))
	if err != nil {
		return nil, fmt.Errorf("request: %w", err)
	}
	return m, nil
}

// MarshalOK returns an answer carrying body.
func MarshalOK(body []byte) []byte {
	return append([]byte("ok\n"), body...)
}

// MarshalRefusal returns an answer refusing with code and msg (one line:
// newlines in msg become spaces).
func MarshalRefusal(code, msg string) []byte {
	msg = strings.Join(strings.Fields(msg), " ")
	return []byte("error " + code + " " + msg + "\n")
}

// ParseResponse returns the body of an ok answer, or the refusal as a
// *RefusedError.
func ParseResponse(b []byte) ([]byte, error) {
	if len(b) > MaxResponseSize {
		return nil, fmt.Errorf("the signing daemon's answer is over %d bytes", MaxResponseSize)
	}
	if body, ok := bytes.CutPrefix(b, []byte("ok\n")); ok {
		return body, nil
	}
	line, ok := bytes.CutPrefix(b, []byte("error "))
	if !ok || !bytes.HasSuffix(line, []byte("\n")) || bytes.Count(line, []byte("\n")) != 1 {
		return nil, fmt.Errorf("the signing daemon's answer is malformed: %.80q", b)
	}
	code, msg, _ := strings.Cut(strings.TrimSuffix(string(line), "\n"), " ")
	if code == "" {
		return nil, fmt.Errorf("the signing daemon's answer is malformed: %.80q", b)
	}
	return nil, &RefusedError{Code: code, Message: msg}
}
