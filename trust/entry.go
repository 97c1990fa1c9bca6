package trust

import (
	"bytes"

	"treelog/metamanifest"
)

// The kinds of log entries: an entry's first line says which it is.
// This is the one place that lists them: every party that reads a log's
// entries asks KindOf.
const (
	KindMetaManifest = metamanifest.Header
	KindTrustRoot    = Header
	// KindIndex is an index entry of the newest snapshot per origin
	// (package index, which takes its Header from here).
	KindIndex = "treelog-index/v1"
)

// MaxEntrySize bounds an entry of either kind.
const MaxEntrySize = max(metamanifest.MaxSize, MaxSize)

// KindOf returns an entry's first line: KindMetaManifest, KindTrustRoot,
// or something no party accepts.
func KindOf(entry []byte) string {
	line, _, _ := bytes.Cut(entry, []byte("\n"))
	return string(line)
}
