package witness

import (
	"bytes"
	"sync"

	"treelog/note"
)

// memoVerifier remembers the last log signature it verified: a log asks
// its witnesses again for the same checkpoint at every republish (so that
// they re-cosign it with a fresh timestamp), and the same bytes need no
// second Ed25519 verification. The verdict cannot change: verification is
// a function of the bytes.
type memoVerifier struct {
	note.Verifier
	mu       sync.Mutex
	msg, sig []byte
}

func (m *memoVerifier) Verify(msg, sig []byte) bool {
	m.mu.Lock()
	hit := m.msg != nil && bytes.Equal(msg, m.msg) && bytes.Equal(sig, m.sig)
	m.mu.Unlock()
	if hit {
		return true
	}
	if !m.Verifier.Verify(msg, sig) {
		return false
	}
	m.mu.Lock()
	m.msg, m.sig = bytes.Clone(msg), bytes.Clone(sig)
	m.mu.Unlock()
	return true
}
