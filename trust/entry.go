package trust

import (
	"bytes"

	"treelog/metamanifest"
)

// The kinds of log entries: an entry's first line says which it is.
const (
	KindMetaManifest = metamanifest.Header
	KindTrustRoot    = Header
)

// MaxEntrySize bounds an entry of either kind.
const MaxEntrySize = max(metamanifest.MaxSize, MaxSize)

// KindOf returns an entry's first line: KindMetaManifest, KindTrustRoot,
// or something no party accepts.
func KindOf(entry []byte) string {
	line, _, _ := bytes.Cut(entry, []byte("\n"))
	return string(line)
}
