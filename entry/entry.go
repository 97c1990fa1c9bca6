// Package entry says what kind a log entry is. A treelog log holds several
// kinds of entries — MetaManifests (tree snapshots), index versions (the
// newest snapshot per origin), trust roots — each a text whose first line
// names its kind and version. Every party (the log when it replays itself,
// the auditor, the user's fallback scan) asks this one place, so that an
// entry of one kind is never judged by another kind's rules.
package entry

import "bytes"

// The first lines that name each kind. Each kind's package defines its
// format; these must equal their Header constants (entry_test checks).
const (
	MetaManifestHeader = "treelog-metamanifest/v1"
	IndexHeader        = "treelog-index/v1"
	TrustRootHeader    = "treelog-trustroot/v1"
)

// A Kind is the kind of a log entry.
type Kind int

// Kinds of log entries.
const (
	// Unknown is an entry whose first line names no kind treelog knows: a
	// correct treelog log holds none.
	Unknown Kind = iota
	MetaManifest
	Index
	TrustRoot
)

func (k Kind) String() string {
	switch k {
	case MetaManifest:
		return "MetaManifest"
	case Index:
		return "index"
	case TrustRoot:
		return "trust root"
	}
	return "unknown"
}

// KindOf returns the kind of a log entry by its first line. It does not
// parse the rest: the kind's own parser does, and may still refuse it.
func KindOf(data []byte) Kind {
	line, _, ok := bytes.Cut(data, []byte("\n"))
	if !ok {
		return Unknown
	}
	switch string(line) {
	case MetaManifestHeader:
		return MetaManifest
	case IndexHeader:
		return Index
	case TrustRootHeader:
		return TrustRoot
	}
	return Unknown
}
