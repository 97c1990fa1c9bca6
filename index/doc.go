// Package index is treelog's verifiable index of the newest snapshot of
// every tree in a log, so that a user can learn "the newest snapshot of
// origin O, as of log size N, is entry i", and when the snapshots after
// its own entered the log, in a few KiB, however busy the log is.
//
// The index is a function of the log's bytes alone. Every MetaManifest
// entry becomes a record (its log index, TIMESTAMP and leaf hash, and the
// origin's sequence number); an origin's records form a hash chain of
// chunks (each chunk names the previous one); a 16-ary Merkle trie keyed
// by SHA-256(origin) maps each origin to its newest chunk. Index versions
// are committed in the log itself: an index entry ("treelog-index/v1")
// names the trie root as of log size N, where N is one past the previous
// index entry, and carries a witnessed checkpoint no larger than N, whose
// cosignature times bound when any later entry can have entered the log.
//
// Trie nodes and chunks are immutable, content-addressed files (NodePath,
// ChunkPath) that any static mirror can serve; LatestPath is a
// c2sp.org/tlog-proof of the newest index entry (carried as its extra
// data) under the log's latest checkpoint. A Replayer recomputes the index
// from the log in order — the log server builds it so, auditors check each
// index entry with it — and Lookup and History read it as a client does.
// docs/formats.md specifies the formats, docs/design.md the design.
package index
