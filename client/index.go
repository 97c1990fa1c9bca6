package client

import (
	"errors"
	"fmt"
	"time"

	"treelog/checkpoint"
	"treelog/index"
	"treelog/metamanifest"
	"treelog/tiles"
)

// maxWalk bounds the records of one origin a verification reads back
// through the index; past it, the entries are read from the log instead.
const maxWalk = 4096

// maxWalkPastLag is how many newer snapshots a verification reads back
// through the index before it stops at one logged longer ago than the
// lag (which decides the verdict: the rest would change only the count).
const maxWalkPastLag = 16

// A newer is a snapshot of the user's origin that came after the user's
// in the log, as the index or the scan found it.
type newer struct {
	Index     uint64
	Timestamp time.Time
	// Entry is the MetaManifest as logged, when the scan read it.
	Entry []byte
}

// fromIndex is what the log's index says about the user's snapshot.
type fromIndex struct {
	latest *index.Latest
	raw    []byte // index/latest as served: signed evidence
	// newer are the snapshots after the user's in the index, newest
	// first, down to the user's own entry unless cut.
	newer []newer
	cut   bool
	// gap is where the entries the index does not cover start: the user
	// reads them itself unless they cannot matter.
	gap uint64
}

// errNoIndex means the log (or this mirror of it) has no index, or not
// all of it: the verification reads the log's entries instead.
var errNoIndex = errors.New("no index")

// readIndex reads and verifies index/latest. It returns errNoIndex when
// the log serves none, or what it serves proves nothing (unsigned bytes
// are no evidence: reading the log's entries decides instead); an index
// entry the log proved but that is wrong or not witnessed is refused.
func (r *run) readIndex() (*index.Latest, []byte, error) {
	data, err := index.ReadLatest(r.ctx, r.reader)
	switch {
	case errors.Is(err, tiles.ErrNotFound) || (err != nil && !errors.Is(err, tiles.ErrUnavailable)):
		return nil, nil, errNoIndex
	case err != nil:
		return nil, nil, r.failRead(CheckReplay, err, "reading the log's index")
	}
	l, err := index.VerifyLatest(r.cfg.Policy, data, r.vopts()...)
	if errors.Is(err, index.ErrUnproven) {
		return nil, nil, errNoIndex
	}
	if err != nil {
		return nil, data, r.fail(failf(CheckReplay, [][]byte{data}, "the log's index (%s): %v", index.LatestPath, err))
	}
	if l.Proof.Log != r.log {
		return nil, data, r.fail(failf(CheckReplay, [][]byte{data}, "the index at the log's URL is of %s, not %s", l.Proof.Log.Origin(), r.log.Origin()))
	}
	return l, data, nil
}

// lookIndex finds the snapshots of mm's origin after the user's entry
// (at myIndex) in the index of l. The user's own entry, when the index
// covers it, must be there as the user holds it: an index that lacks it,
// names an older snapshot as the newest, or disagrees with it is refused,
// with the signed index entry and the user's MetaManifest as evidence.
// The walk back stops at the first record for which stop says the rest
// cannot change the verdict. errNoIndex means this mirror lacks some of
// the index's files.
func (r *run) lookIndex(mm *metamanifest.Signed, mmBytes []byte, myIndex uint64, l *index.Latest, raw []byte, stop func(newer) bool) (*fromIndex, error) {
	out := &fromIndex{latest: l, raw: raw, gap: max(l.Entry.Size, myIndex+1)}
	f := index.Files(r.reader)
	ch, path, err := index.Lookup(r.ctx, f, l.Entry.Root, mm.Origin)
	if err != nil {
		return nil, r.indexReadError(err)
	}
	evidence := func(extra ...[]byte) [][]byte {
		ev := [][]byte{raw, mmBytes}
		ev = append(ev, path.Nodes...)
		if path.Chunk != nil {
			ev = append(ev, path.Chunk)
		}
		return append(ev, extra...)
	}
	covered := myIndex < l.Entry.Size
	lie := func(format string, args ...any) error {
		return r.fail(failf(CheckReplay, evidence(), "the log lies in its index (entry %d, as of size %d): %s",
			l.Position(), l.Entry.Size, fmt.Sprintf(format, args...)))
	}
	if ch == nil {
		if covered {
			return nil, lie("it has no snapshot of %s at all, but this snapshot, entry %d, is in the log before that size", mm.Origin, myIndex)
		}
		return out, nil
	}
	myLeaf := index.Hash(checkpoint.LeafHash(mmBytes))
	hist := index.NewHistory(f, ch, path.Chunk)
	for walked := 0; ; walked++ {
		if walked >= maxWalk {
			return nil, errNoIndex // a walk this long: reading the log costs less
		}
		rec, ok, err := hist.Next(r.ctx)
		if err != nil {
			return nil, r.indexReadError(err)
		}
		if !ok {
			if covered {
				return nil, lie("it does not hold this snapshot of %s, entry %d, which the log holds before that size", mm.Origin, myIndex)
			}
			return out, nil
		}
		if rec.Index >= l.Entry.Size {
			return nil, lie("it names entry %d of %s, which is not below its size", rec.Index, mm.Origin)
		}
		switch {
		case rec.Index == myIndex:
			if rec.LeafHash != myLeaf || !rec.Timestamp.Equal(mm.Timestamp) {
				return nil, lie("it disagrees with the log's entry %d, this snapshot of %s: it says TIMESTAMP %s and another entry",
					myIndex, mm.Origin, rec.Timestamp.Format(time.RFC3339))
			}
			return out, nil
		case rec.Index < myIndex && covered:
			if walked == 0 {
				return nil, lie("it names entry %d (TIMESTAMP %s) as the newest snapshot of %s, older than this one, entry %d, which the log holds before that size",
					rec.Index, rec.Timestamp.Format(time.RFC3339), mm.Origin, myIndex)
			}
			return nil, lie("it goes from entry %d to entry %d of %s, leaving out this snapshot, entry %d", out.newer[len(out.newer)-1].Index, rec.Index, mm.Origin, myIndex)
		case rec.Index < myIndex:
			return out, nil // the user's entry came after the index
		}
		if !rec.Timestamp.After(mm.Timestamp) {
			continue // not newer: a backdated entry, the auditors' business
		}
		n := newer{Index: rec.Index, Timestamp: rec.Timestamp}
		out.newer = append(out.newer, n)
		if stop(n) {
			out.cut = true
			return out, nil
		}
	}
}

// indexReadError turns an error reading the index's files into the
// outcome: a file the mirror does not have means reading the log
// instead; bytes that do not hash to what the index committed to, or do
// not parse, are bad data.
func (r *run) indexReadError(err error) error {
	if errors.Is(err, tiles.ErrNotFound) {
		return errNoIndex
	}
	if errors.Is(err, index.ErrMismatch) || errors.Is(err, index.ErrMalformed) {
		return r.fail(failf(CheckReplay, nil, "the log's index files: %v", err))
	}
	return r.failRead(CheckReplay, err, "reading the log's index")
}
