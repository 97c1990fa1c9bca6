package log

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/transparency-dev/tessera"

	"treelog/checkpoint"
	"treelog/index"
	"treelog/tiles"
)

// indexer builds the log's index (package index) as the log grows: it
// replays the log's entries, writes the chunks and trie nodes, appends an
// index entry at most every interval (and at least every refresh), and
// keeps index/latest, the newest index entry's proof under the latest
// published checkpoint, up to date. Only the process holding the lease
// does any of it.
type indexer struct {
	s                 *Server
	stop              context.CancelFunc
	stopped           chan struct{} // closed when run returns
	files             IndexFiles
	lease             IndexLease
	interval, refresh time.Duration

	r          *index.Replayer // nil until this process holds the lease
	restoredAt *uint64         // the entry a restored replayer must find right
	unwritten  []index.MadeChunk
	last       *index.Version // the newest index entry in the log
	pending    *uint64        // an index entry appended, not yet replayed
	built      time.Time      // when this process last appended one
	// sequenced is the log's next index when this replayer started: no
	// index entry is built before all of the log below it is integrated,
	// so that one another process appended before this one took over
	// the index is replayed first, not followed by a second of the same
	// size.
	sequenced uint64
	// rebuild is set when the newest index entry does not follow from
	// the log: the next start replays the log from its start rather than
	// restoring from that entry's files again.
	rebuild bool
	recent  [][]byte // checkpoints published lately, oldest first
	latest  []byte   // index/latest as last written
}

// maxRecent bounds the published checkpoints kept to choose from.
const maxRecent = 64

// run builds the index until ctx is done.
func (ix *indexer) run(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if err := ix.step(ctx); err != nil && ctx.Err() == nil {
			ix.s.cfg.Log.Warn("building the index", "err", err)
			ix.s.metrics.indexErrors.Inc()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (ix *indexer) step(ctx context.Context) error {
	held, err := ix.lease.Hold(ctx)
	if err != nil || !held {
		ix.r = nil // another process writes the index; start afresh if this one takes over
		return err
	}
	raw, cp, ok := ix.s.Published()
	if !ok {
		return nil
	}
	ix.remember(raw, cp)
	if ix.r == nil {
		if err := ix.start(ctx); err != nil {
			return err
		}
	}
	size, err := ix.s.reader.IntegratedSize(ctx)
	if err != nil {
		return fmt.Errorf("reading the log's size: %w", err)
	}
	if err := ix.replay(ctx, size); err != nil {
		ix.r = nil // resume from the files next time
		return err
	}
	if err := ix.write(ctx); err != nil {
		return err
	}
	if err := ix.writeLatest(ctx, raw, cp); err != nil {
		return err
	}
	return ix.build(ctx, size)
}

// remember keeps a published checkpoint, to put in a later index entry.
func (ix *indexer) remember(raw []byte, cp checkpoint.Checkpoint) {
	if n := len(ix.recent); n > 0 {
		if bytes.Equal(ix.recent[n-1], raw) {
			return
		}
		if prev, err := checkpoint.ParseText(textOf(ix.recent[n-1])); err == nil && prev.Size == cp.Size {
			ix.recent[n-1] = raw // the same tree, cosigned again later
			return
		}
	}
	ix.recent = append(ix.recent, raw)
	if len(ix.recent) > maxRecent {
		ix.recent = ix.recent[1:]
	}
}

// textOf returns a signed note's text (up to the blank line).
func textOf(signed []byte) string {
	text, _, _ := bytes.Cut(signed, []byte("\n\n"))
	return string(text) + "\n"
}

// start makes the replayer: from the files of the newest index entry when
// they are there and whole, else from the start of the log.
func (ix *indexer) start(ctx context.Context) error {
	opts := []index.ReplayOption{index.KeepChunks(), index.OnVersion(ix.onVersion)}
	ix.last, ix.pending, ix.restoredAt, ix.unwritten = nil, nil, nil, nil
	next, err := ix.s.reader.NextIndex(ctx)
	if err != nil {
		return fmt.Errorf("reading the log's next index: %w", err)
	}
	ix.sequenced = next
	if ix.rebuild {
		ix.rebuild = false
		ix.r = index.NewReplayer(opts...)
		ix.s.cfg.Log.Warn("rebuilding the index from the start of the log: its newest entry does not follow from the log")
		return nil
	}
	data, err := ix.files.Read(ctx, index.LatestPath)
	if err == nil {
		r, at, rerr := ix.restore(ctx, data, opts)
		if rerr == nil {
			ix.r, ix.restoredAt = r, &at
			ix.s.cfg.Log.Info("resuming the index", "from", r.Next())
			return nil
		}
		ix.s.cfg.Log.Warn("the index's files are not whole; rebuilding it from the log", "err", rerr)
	} else if !errors.Is(err, tiles.ErrNotFound) {
		return fmt.Errorf("reading %s: %w", index.LatestPath, err)
	}
	ix.r = index.NewReplayer(opts...)
	ix.s.cfg.Log.Info("building the index from the start of the log")
	return nil
}

func (ix *indexer) restore(ctx context.Context, latest []byte, opts []index.ReplayOption) (*index.Replayer, uint64, error) {
	pf, err := checkpoint.ParseProof(latest)
	if err != nil {
		return nil, 0, err
	}
	e, err := index.ParseEntry(pf.Extra)
	if err != nil {
		return nil, 0, err
	}
	r, err := index.Restore(ctx, filesFetcher{ix.files}, e, opts...)
	return r, pf.Index, err
}

// onVersion sees every index entry the replayer meets.
func (ix *indexer) onVersion(v *index.Version, _ *index.Trie) error {
	if ix.restoredAt != nil && v.Position == *ix.restoredAt {
		ix.restoredAt = nil
		if v.Err != nil {
			ix.rebuild = true
			return fmt.Errorf("the index entry %d it resumed from does not follow from the log (%v); rebuilding the index from the log's start", v.Position, v.Err)
		}
	}
	if v.Err != nil {
		// The log holds a wrong index entry (a bug, or a second writer):
		// auditors will report it; the next entry is built right.
		ix.s.cfg.Log.Error("the log holds a wrong index entry", "index", v.Position, "err", v.Err)
		ix.s.metrics.indexErrors.Inc()
	}
	ix.last = v
	if ix.pending != nil && *ix.pending == v.Position {
		ix.pending = nil
	}
	if v.Entry != nil {
		ix.s.metrics.indexSize.Set(float64(v.Entry.Size))
		ix.s.metrics.indexOrigins.Set(float64(v.Entry.Origins))
	}
	return nil
}

// replay applies the log's entries up to size.
func (ix *indexer) replay(ctx context.Context, size uint64) error {
	from := ix.r.Next()
	if from >= size {
		return nil
	}
	if ix.restoredAt == nil && ix.last == nil && from == 0 && size > 0 {
		ix.s.cfg.Log.Info("indexing the log", "entries", size)
	}
	return forEachEntry(ctx, ix.s.reader, from, size, func(i uint64, e []byte) error {
		if _, err := ix.r.Apply(i, e); err != nil {
			return err
		}
		ix.unwritten = append(ix.unwritten, ix.r.TakeChunks()...)
		if len(ix.unwritten) >= 1024 {
			return ix.write(ctx)
		}
		return nil
	})
}

// write writes the chunks made so far.
func (ix *indexer) write(ctx context.Context) error {
	for len(ix.unwritten) > 0 {
		c := ix.unwritten[0]
		if err := ix.files.Write(ctx, index.ChunkPath(c.Hash), c.Data); err != nil {
			return err
		}
		ix.unwritten = ix.unwritten[1:]
	}
	return nil
}

// writeLatest writes index/latest: the newest index entry with its
// inclusion proof under the latest published checkpoint.
func (ix *indexer) writeLatest(ctx context.Context, raw []byte, cp checkpoint.Checkpoint) error {
	if ix.last == nil || ix.last.Position >= cp.Size || ix.restoredAt != nil {
		return nil
	}
	path, err := ix.s.prover.InclusionProof(ctx, cp, ix.last.Position)
	if err != nil {
		return err
	}
	data := (&checkpoint.Proof{Extra: ix.last.Raw, Index: ix.last.Position, Inclusion: path, Checkpoint: raw}).Marshal()
	if bytes.Equal(data, ix.latest) {
		return nil
	}
	if err := ix.files.Write(ctx, index.LatestPath, data); err != nil {
		return err
	}
	ix.latest = data
	return nil
}

// build appends an index entry if it is time: none is in flight, the
// replayer has read the whole log, the last one is interval old, and the
// index changed since or snapshots came after it (which only the entry
// after this one can hold), or refresh passed, so that the witnessed
// checkpoint it carries stays recent.
func (ix *indexer) build(ctx context.Context, size uint64) error {
	if ix.pending != nil || ix.r.Next() < size || size < ix.sequenced || ix.restoredAt != nil || len(ix.unwritten) > 0 {
		return nil
	}
	now := ix.s.cfg.Now()
	w := ix.r.Want()
	if ix.last == nil && ix.r.Origins() == 0 {
		return nil // an empty log needs no index yet
	}
	if ix.last != nil {
		age := now.Sub(ix.built)
		if age < ix.interval {
			return nil
		}
		same := ix.last.Entry != nil && ix.last.Entry.Root == w.Root && ix.last.Entry.Origins == w.Origins && !ix.r.Pending()
		if same && age < ix.refresh {
			return nil
		}
	}
	if err := ix.r.Trie().Emit(func(h index.Hash, data []byte) error {
		return ix.files.Write(ctx, index.NodePath(h), data)
	}); err != nil {
		return err
	}
	e := &index.Entry{Size: w.Size, Root: w.Root, Origins: w.Origins}
	if w.Size > 0 {
		e.Checkpoint = ix.checkpointFor(w.Size)
		if e.Checkpoint == nil {
			ix.s.cfg.Log.Warn("no witnessed checkpoint at or below the index's size to put in its entry; users will read the log after it instead", "size", w.Size)
		}
	}
	actx, cancel := context.WithTimeout(ctx, addTimeout)
	defer cancel()
	fut := ix.s.appender.Add(actx, tessera.NewEntry(e.Marshal()))
	// tessera's future waits for its batch whatever the context; if the
	// log stops under it (its storage context ended first), do not hang
	// Close: the entry, if it is ever sequenced, is replayed at the next
	// start. A timeout alone does not give up: a second entry of the same
	// size would follow this one if it is sequenced late.
	type added struct {
		idx tessera.Index
		err error
	}
	done := make(chan added, 1)
	go func() {
		idx, err := fut()
		done <- added{idx, err}
	}()
	var idx tessera.Index
	select {
	case a := <-done:
		if a.err != nil {
			return fmt.Errorf("appending an index entry: %w", a.err)
		}
		idx = a.idx
	case <-ctx.Done():
		return fmt.Errorf("appending an index entry: %w", ctx.Err())
	}
	ix.pending, ix.built = &idx.Index, now
	ix.s.metrics.indexVersions.Inc()
	ix.s.cfg.Log.Info("index entry appended", "index", idx.Index, "size", w.Size, "origins", w.Origins)
	return nil
}

// checkpointFor returns the newest published checkpoint of at most size
// entries this process saw, or else the one in the last index entry.
func (ix *indexer) checkpointFor(size uint64) []byte {
	for i := len(ix.recent) - 1; i >= 0; i-- {
		if c, err := checkpoint.ParseText(textOf(ix.recent[i])); err == nil && c.Size <= size {
			return ix.recent[i]
		}
	}
	if ix.last != nil && ix.last.Entry != nil {
		return ix.last.Entry.Checkpoint
	}
	return nil
}

// filesFetcher reads index files for index.Lookup and index.Restore.
type filesFetcher struct{ f IndexFiles }

func (f filesFetcher) Node(ctx context.Context, h index.Hash) ([]byte, error) {
	return f.f.Read(ctx, index.NodePath(h))
}

func (f filesFetcher) Chunk(ctx context.Context, h index.Hash) ([]byte, error) {
	return f.f.Read(ctx, index.ChunkPath(h))
}
