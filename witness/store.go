package witness

import (
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the embedded, cgo-free SQLite driver

	"treelog/checkpoint"
	"treelog/note"
	"treelog/policy"
)

const schema = `
CREATE TABLE IF NOT EXISTS logs (
	origin      TEXT PRIMARY KEY,
	vkey        TEXT NOT NULL,
	url         TEXT NOT NULL DEFAULT '',
	disabled    INTEGER NOT NULL DEFAULT 0,
	size        INTEGER NOT NULL DEFAULT 0,
	root        BLOB,
	checkpoint  BLOB,
	cosigned_at INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS evidence (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	origin    TEXT NOT NULL,
	kind      TEXT NOT NULL,
	received  INTEGER NOT NULL,
	stored    BLOB NOT NULL,
	submitted BLOB NOT NULL,
	request   BLOB NOT NULL
);
`

// maxBatch bounds the writes committed in one transaction.
const maxBatch = 1024

// A Log is a log the witness knows: its pinned key and its state.
type Log struct {
	Origin   string
	VKey     string
	URL      string
	Disabled bool
	// Size, Root and Checkpoint are the latest cosigned checkpoint;
	// Checkpoint is nil if the witness never cosigned one for this log.
	Size       uint64
	Root       checkpoint.Hash
	Checkpoint []byte
	// CosignedAt is the timestamp of the latest cosignature (Unix seconds).
	CosignedAt int64

	verifier note.Verifier
}

// Evidence is a signed checkpoint that conflicts with the stored one: the
// log (or someone holding its key) showed two views of its history.
type Evidence struct {
	ID       int64
	Origin   string
	Kind     string // "same-size-different-root" or "consistency-proof-failed"
	Received time.Time
	// Stored is the checkpoint the witness had cosigned; Submitted the one
	// it refused; Request the whole add-checkpoint body.
	Stored, Submitted, Request []byte
}

// A Store keeps the witness's state in one SQLite file. Writes go through a
// single writer that commits whatever is queued in one transaction (group
// commit), so requests for many logs share one fsync.
type Store struct {
	db     *sql.DB
	update *sql.Stmt // prepared: parsing SQL for every cosignature shows in profiles
	mu     sync.RWMutex
	logs   map[string]*Log
	byHash map[[32]byte]string
	queue  chan *write
	closed chan struct{}
	close  sync.Once
	wg     sync.WaitGroup
	// OnCommit, if set, is told the size and duration of each batch.
	OnCommit func(n int, d time.Duration)
}

type write struct {
	apply func(*sql.Tx) error
	done  chan error
}

// OpenStore opens (creating if needed) the witness database at path. Its
// writes are durable (WAL, synchronous=FULL) before they are acknowledged.
func OpenStore(path string) (*Store, error) {
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening witness database %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening witness database %s: %w", path, err)
	}
	update, err := db.Prepare(`UPDATE logs SET size = ?, root = ?, checkpoint = ?, cosigned_at = ? WHERE origin = ?`)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("opening witness database %s: %w", path, err)
	}
	s := &Store{db: db, update: update, queue: make(chan *write, maxBatch), closed: make(chan struct{})}
	if err := s.Reload(); err != nil {
		db.Close()
		return nil, err
	}
	s.wg.Add(1)
	go s.writer()
	return s, nil
}

// Close stops the writer after the queued writes and closes the database.
func (s *Store) Close() error {
	err := errors.New("witness database already closed")
	s.close.Do(func() {
		close(s.closed)
		s.wg.Wait()
		s.update.Close()
		err = s.db.Close()
	})
	return err
}

// Reload reads the logs table again: operator commands (rekey, disable,
// remove) may have changed it from another process.
//
// The lock is held across the read and the swap: a state update committed
// meanwhile then lands in the new map (setState looks the log up under the
// same lock), so the cache never goes back to an older state.
func (s *Store) Reload() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows, err := s.db.Query(`SELECT origin, vkey, url, disabled, size, root, checkpoint, cosigned_at FROM logs`)
	if err != nil {
		return fmt.Errorf("reading logs: %w", err)
	}
	defer rows.Close()
	logs := map[string]*Log{}
	byHash := map[[32]byte]string{}
	for rows.Next() {
		l := &Log{}
		var root []byte
		if err := rows.Scan(&l.Origin, &l.VKey, &l.URL, &l.Disabled, &l.Size, &root, &l.Checkpoint, &l.CosignedAt); err != nil {
			return fmt.Errorf("reading logs: %w", err)
		}
		if root != nil {
			if len(root) != checkpoint.HashSize {
				return fmt.Errorf("witness database is corrupt: log %q has a %d-byte root", l.Origin, len(root))
			}
			copy(l.Root[:], root)
		}
		v, err := note.NewVerifier(l.VKey)
		if err != nil {
			return fmt.Errorf("witness database is corrupt: log %q: %w", l.Origin, err)
		}
		l.verifier = &memoVerifier{Verifier: v}
		logs[l.Origin] = l
		byHash[checkpoint.OriginHash(l.Origin)] = l.Origin
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading logs: %w", err)
	}
	s.logs, s.byHash = logs, byHash
	return nil
}

func (s *Store) writer() {
	defer s.wg.Done()
	last := 0 // the size of the previous batch
	for {
		var first *write
		select {
		case first = <-s.queue:
		case <-s.closed:
			// Drain what is queued, then stop.
			for {
				select {
				case w := <-s.queue:
					s.commit([]*write{w})
				default:
					return
				}
			}
		}
		batch := s.gather([]*write{first})
		// Under load (the previous commit held four writes or more), a moment
		// spent gathering more saves a commit and its fsync, which cost
		// more CPU than the writes themselves; alone, a write is not kept
		// waiting.
		if last >= 4 && len(batch) < maxBatch {
			time.Sleep(gatherWindow)
			batch = s.gather(batch)
		}
		last = len(batch)
		s.commit(batch)
	}
}

// gatherWindow is how long the writer waits, under load, for more writes
// to commit together.
const gatherWindow = time.Millisecond

// gather adds what is queued to batch, up to maxBatch.
func (s *Store) gather(batch []*write) []*write {
	for len(batch) < maxBatch {
		select {
		case w := <-s.queue:
			batch = append(batch, w)
		default:
			return batch
		}
	}
	return batch
}

func (s *Store) commit(batch []*write) {
	start := time.Now()
	err := func() error {
		tx, err := s.db.Begin()
		if err != nil {
			return err
		}
		for _, w := range batch {
			if err := w.apply(tx); err != nil {
				tx.Rollback()
				return err
			}
		}
		return tx.Commit()
	}()
	if err != nil {
		err = fmt.Errorf("committing to the witness database: %w", err)
	}
	if s.OnCommit != nil && err == nil {
		s.OnCommit(len(batch), time.Since(start))
	}
	for _, w := range batch {
		w.done <- err
	}
}

// do queues a write and waits until it is durable.
func (s *Store) do(apply func(*sql.Tx) error) error {
	w := &write{apply: apply, done: make(chan error, 1)}
	select {
	case s.queue <- w:
	case <-s.closed:
		return errors.New("witness database is closed")
	}
	return <-w.done
}

// Log returns a copy of the named log.
func (s *Store) Log(origin string) (Log, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	l, ok := s.logs[origin]
	if !ok {
		return Log{}, false
	}
	return *l, true
}

// CheckpointByHash returns the latest cosigned checkpoint of the log whose
// origin hashes (SHA-256) to h.
func (s *Store) CheckpointByHash(h [32]byte) ([]byte, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o, ok := s.byHash[h]
	if !ok || s.logs[o].Checkpoint == nil {
		return nil, false
	}
	return s.logs[o].Checkpoint, true
}

// Logs returns every log, sorted by origin.
func (s *Store) Logs() []Log {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Log, 0, len(s.logs))
	for _, l := range s.logs {
		out = append(out, *l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Origin < out[j].Origin })
	return out
}

// setState durably records a newly cosigned checkpoint, then updates the
// in-memory copy. The caller holds the log's lock.
func (s *Store) setState(origin string, size uint64, root checkpoint.Hash, cp []byte, at int64) error {
	err := s.do(func(tx *sql.Tx) error {
		res, err := tx.Stmt(s.update).Exec(size, root[:], cp, at, origin)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("log %q is no longer configured", origin)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	if l, ok := s.logs[origin]; ok {
		l.Size, l.Root, l.Checkpoint, l.CosignedAt = size, root, cp, at
	}
	s.mu.Unlock()
	return nil
}

// addEvidence durably records a conflicting checkpoint.
func (s *Store) addEvidence(e Evidence) error {
	return s.do(func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO evidence (origin, kind, received, stored, submitted, request) VALUES (?, ?, ?, ?, ?, ?)`,
			e.Origin, e.Kind, e.Received.Unix(), e.Stored, e.Submitted, e.Request)
		return err
	})
}

// Evidence returns the kept evidence, oldest first ("" for every log).
func (s *Store) Evidence(origin string) ([]Evidence, error) {
	rows, err := s.db.Query(`SELECT id, origin, kind, received, stored, submitted, request FROM evidence WHERE ? = '' OR origin = ? ORDER BY id`, origin, origin)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Evidence
	for rows.Next() {
		var e Evidence
		var at int64
		if err := rows.Scan(&e.ID, &e.Origin, &e.Kind, &at, &e.Stored, &e.Submitted, &e.Request); err != nil {
			return nil, err
		}
		e.Received = time.Unix(at, 0)
		out = append(out, e)
	}
	return out, rows.Err()
}

// ErrKeyChanged is returned when the configuration gives a log another key
// than the pinned one.
var ErrKeyChanged = errors.New("key differs from the pinned key")

// AddLogs adds the logs of a configuration file. A log already known keeps
// its pinned key: a different key in the file is reported, not applied
// (use Rekey). Logs missing from the file stay known (use Disable or
// Remove). URLs are updated.
func (s *Store) AddLogs(keys []policy.LogKey) (added []string, conflicts []error, err error) {
	for _, k := range keys {
		origin, vkey := k.Key.Name, k.Key.String()
		cur, known := s.Log(origin)
		switch {
		case !known:
			err = s.do(func(tx *sql.Tx) error {
				_, err := tx.Exec(`INSERT INTO logs (origin, vkey, url) VALUES (?, ?, ?)`, origin, vkey, k.URL)
				return err
			})
			added = append(added, origin)
		case cur.VKey != vkey:
			conflicts = append(conflicts, fmt.Errorf("log %q: the configuration's key %s %w %s; not applied (to change it: witness logs rekey)", origin, vkey, ErrKeyChanged, cur.VKey))
			continue
		case cur.URL != k.URL:
			err = s.do(func(tx *sql.Tx) error {
				_, err := tx.Exec(`UPDATE logs SET url = ? WHERE origin = ?`, k.URL, origin)
				return err
			})
		}
		if err != nil {
			return added, conflicts, err
		}
	}
	return added, conflicts, s.Reload()
}

// Rekey replaces a log's pinned key (an operator's decision, after the log
// announced a rotation). Its state is kept.
func (s *Store) Rekey(origin, vkey string) error {
	k, err := note.ParseVerifierKey(vkey)
	if err != nil {
		return err
	}
	if k.Name != origin || k.Type != note.TypeEd25519 {
		return fmt.Errorf("key %q is not an Ed25519 key named %q", vkey, origin)
	}
	return s.exec1(origin, `UPDATE logs SET vkey = ? WHERE origin = ?`, vkey, origin)
}

// SetDisabled disables (404 to its requests) or enables a log, keeping its
// state either way.
func (s *Store) SetDisabled(origin string, disabled bool) error {
	return s.exec1(origin, `UPDATE logs SET disabled = ? WHERE origin = ?`, disabled, origin)
}

// Remove forgets a log and its state. Re-adding it later makes the witness
// trust whatever the log says next, so this is for logs that are gone.
func (s *Store) Remove(origin string) error {
	return s.exec1(origin, `DELETE FROM logs WHERE origin = ?`, origin)
}

func (s *Store) exec1(origin, query string, args ...any) error {
	var n int64
	err := s.do(func(tx *sql.Tx) error {
		res, err := tx.Exec(query, args...)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("log %q is not known", origin)
	}
	return s.Reload()
}
