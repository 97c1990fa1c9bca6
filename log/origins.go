package log

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	"treelog/metamanifest"
	"treelog/tiles"
	"treelog/trust"
)

// Latest is what the log holds for one origin: its newest MetaManifest.
type Latest struct {
	Found     bool
	Timestamp time.Time
	Hash      [32]byte // SHA-256 of the MetaManifest as logged
	Index     uint64
	// Pending means the entry was reserved but its index is not known yet:
	// it is being sequenced, or the server that reserved it stopped.
	Pending bool
	// Busy means another server process holds a live reservation for the
	// origin: its entry is being sequenced right now.
	Busy bool
}

// ErrContended is returned by Reserve when another server process changed
// the origin between Lock and Reserve: try again.
var ErrContended = errors.New("another submission for this origin is being sequenced")

// An OriginIndex keeps, per origin, the newest MetaManifest in the log, and
// the index of every logged MetaManifest by hash. It is what the TIMESTAMP
// rule and deduplication need, shared by every server process writing the
// log.
type OriginIndex interface {
	// Lock serializes submissions for origin across every server process
	// and returns the origin's latest entry. unlock releases the lock.
	Lock(ctx context.Context, origin string) (l Latest, unlock func(), err error)
	// Reserve durably records next as the origin's latest entry, before it
	// is sequenced, so that no later submission with an older TIMESTAMP can
	// get in even if this process dies now; cur is what Lock returned, and
	// the reservation fails with ErrContended if the origin changed since.
	// Called with the lock held; also used to undo a reservation.
	Reserve(ctx context.Context, origin string, cur, next Latest) error
	// Observe records a logged entry: from the add path once sequenced, and
	// from the follower that reads the log. An entry older than the
	// origin's latest does not replace it.
	Observe(ctx context.Context, origin string, ts time.Time, hash [32]byte, index uint64) error
	// Lookup returns the index of the logged entry with this hash.
	Lookup(ctx context.Context, hash [32]byte) (uint64, bool, error)
	// Scanned returns how many log entries the index has observed;
	// SetScanned records progress of the follower.
	Scanned(ctx context.Context) (uint64, error)
	SetScanned(ctx context.Context, n uint64) error
	Close() error
}

// memoryIndex is the OriginIndex of a single server process (POSIX
// storage): rebuilt from the log at start, kept in memory.
type memoryIndex struct {
	locks   originLocks
	mu      sync.Mutex
	latest  map[string]Latest
	byHash  map[[32]byte]uint64
	scanned uint64
}

func newMemoryIndex() *memoryIndex {
	return &memoryIndex{latest: map[string]Latest{}, byHash: map[[32]byte]uint64{}}
}

// originLocks hands out one mutex per origin, so that the submissions of
// an origin are checked and appended one at a time while other origins
// go ahead.
type originLocks struct {
	mu sync.Mutex
	m  map[string]*sync.Mutex
}

// lock locks origin and returns the function that unlocks it.
func (o *originLocks) lock(origin string) (unlock func()) {
	o.mu.Lock()
	l, ok := o.m[origin]
	if !ok {
		if o.m == nil {
			o.m = map[string]*sync.Mutex{}
		}
		l = &sync.Mutex{}
		o.m[origin] = l
	}
	o.mu.Unlock()
	l.Lock()
	return l.Unlock
}

func (m *memoryIndex) Lock(_ context.Context, origin string) (Latest, func(), error) {
	unlock := m.locks.lock(origin)
	m.mu.Lock()
	cur := m.latest[origin]
	m.mu.Unlock()
	return cur, unlock, nil
}

func (m *memoryIndex) Reserve(_ context.Context, origin string, _, l Latest) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l.Found {
		m.latest[origin] = l
	} else {
		delete(m.latest, origin)
	}
	return nil
}

func (m *memoryIndex) Observe(_ context.Context, origin string, ts time.Time, hash [32]byte, index uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.byHash[hash]; !ok {
		m.byHash[hash] = index
	}
	cur := m.latest[origin]
	if !cur.Found || ts.After(cur.Timestamp) || (cur.Hash == hash && cur.Pending) {
		m.latest[origin] = Latest{Found: true, Timestamp: ts, Hash: hash, Index: index}
	}
	return nil
}

func (m *memoryIndex) Lookup(_ context.Context, hash [32]byte) (uint64, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, ok := m.byHash[hash]
	return i, ok, nil
}

func (m *memoryIndex) Scanned(context.Context) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.scanned, nil
}

func (m *memoryIndex) SetScanned(_ context.Context, n uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.scanned = max(m.scanned, n)
	return nil
}

func (m *memoryIndex) Close() error { return nil }

// entryKey returns the origin index's key of an entry and its order
// there: a MetaManifest's origin and TIMESTAMP, a trust-root version's
// root key and version number.
func entryKey(e []byte) (string, time.Time, bool) {
	if trust.KindOf(e) == trust.KindTrustRoot {
		d, err := trust.Parse(e)
		if err != nil {
			return "", time.Time{}, false
		}
		return rootKey(d.Name), time.Unix(int64(d.Version), 0), true
	}
	if trust.KindOf(e) != trust.KindMetaManifest {
		return "", time.Time{}, false // an index entry: not a submission
	}
	m, _, err := metamanifest.Parse(e)
	if err != nil {
		return "", time.Time{}, false
	}
	return m.Origin, m.Timestamp, true
}

// scan reads log entries [from, to) and observes each MetaManifest and
// trust-root version. The log only holds entries the server validated (or
// wrote itself, such as index entries), so a parse suffices; an entry that
// does not parse (which a correct log never holds) is skipped.
func scan(ctx context.Context, r tiles.Reader, idx OriginIndex, from, to uint64) error {
	err := forEachEntry(ctx, r, from, to, func(index uint64, e []byte) error {
		key, order, ok := entryKey(e)
		if !ok {
			return nil
		}
		return idx.Observe(ctx, key, order, sha256.Sum256(e), index)
	})
	if err != nil {
		return err
	}
	return idx.SetScanned(ctx, to)
}

// forEachEntry calls fn with each of the log's entries [from, to), in
// order, read from the log's own storage.
func forEachEntry(ctx context.Context, r tiles.Reader, from, to uint64, fn func(index uint64, e []byte) error) error {
	for bundle := from / tiles.TileWidth; bundle*tiles.TileWidth < to; bundle++ {
		w, _ := tiles.BundleWidth(bundle, to)
		n := tiles.TileWidth
		if w > 0 {
			n = int(w)
		}
		data, err := r.ReadEntryBundle(ctx, bundle, w)
		if err != nil {
			return fmt.Errorf("reading entry bundle %d: %w", bundle, err)
		}
		entries, err := tiles.ParseEntryBundle(data, n)
		if err != nil {
			return fmt.Errorf("entry bundle %d: %w", bundle, err)
		}
		for i, e := range entries {
			index := bundle*tiles.TileWidth + uint64(i)
			if index < from {
				continue
			}
			if err := fn(index, e); err != nil {
				return err
			}
		}
	}
	return nil
}
