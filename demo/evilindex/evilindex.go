// Package evilindex makes a demo network's log lie in its index, as an
// attacker holding the log's key would: with the log server stopped, it
// appends to the log's storage (tessera's POSIX driver, the witnesses
// cosigning as they cosign any consistent checkpoint) an index entry
// whose trie says what the attacker wants, writes that trie's files and
// the index/latest that serves it. The demo and the tests then serve the
// directory as the log and show that users refuse it and auditors report
// it.
package evilindex

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"

	"treelog/checkpoint"
	"treelog/demo/network"
	"treelog/index"
	"treelog/internal/atomicfile"
	"treelog/tiles"
)

// An Index is the honest index of the log, for a Lie to change.
type Index struct {
	// Newest maps every origin to its newest chunk, as the honest index
	// says; a Lie changes it.
	Newest map[string]index.Hash
	dir    string
}

// Records returns an origin's records in the honest index, oldest first.
func (x *Index) Records(ctx context.Context, origin string) ([]index.Record, error) {
	h, ok := x.Newest[origin]
	if !ok {
		return nil, fmt.Errorf("no origin %q", origin)
	}
	f := dirFetcher(x.dir)
	c, data, err := index.FetchChunk(ctx, f, h)
	if err != nil {
		return nil, err
	}
	hist := index.NewHistory(f, c, data)
	var out []index.Record
	for {
		r, ok, err := hist.Next(ctx)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		out = append([]index.Record{r}, out...)
	}
	return out, nil
}

// Chain writes a chunk chain of the origin's records (at most
// index.MaxChunkRecords), and returns its newest chunk: what a Lie puts in
// Newest to make the index say these records are all there is.
func (x *Index) Chain(origin string, records []index.Record) (index.Hash, error) {
	c := &index.Chunk{Origin: origin, Records: records}
	data := c.Marshal()
	if _, err := index.ParseChunk(data); err != nil {
		return index.Hash{}, err
	}
	h := index.HashOf(data)
	return h, write(x.dir, index.ChunkPath(h), data)
}

// A Lie changes the honest index into the one the log publishes.
type Lie func(ctx context.Context, x *Index) error

// Options say how the lie is published.
type Options struct {
	// Unwitnessed appends the index entry without the witnesses: the
	// index/latest served proves it only under a checkpoint the log alone
	// signed. The log's /checkpoint stays the witnessed one it was.
	Unwitnessed bool
	// WrongSize appends an entry whose size does not follow the index
	// entry before it (one less): what a second index writer that missed
	// the first one's last entry would append. Its trie is honest.
	WrongSize bool
}

// Publish stops the network's log server and appends a lying index entry
// to its storage; n.Dir/log is then the log as the attacker serves it. It
// returns the lying entry's index in the log.
func Publish(ctx context.Context, n *network.Network, o Options, lie Lie) (uint64, error) {
	if err := n.StopLog(ctx); err != nil {
		return 0, err
	}
	dir := filepath.Join(n.Dir, "log")
	witnessed, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d, err := posix.New(ctx, posix.Config{Path: dir})
	if err != nil {
		return 0, err
	}
	opts := tessera.NewAppendOptions().WithCheckpointSigner(n.LogSigner).WithCheckpointInterval(100*time.Millisecond).
		WithBatching(1, 10*time.Millisecond)
	if !o.Unwitnessed {
		wp, err := os.ReadFile(n.WitnessPolicyFile)
		if err != nil {
			return 0, err
		}
		g, err := tessera.NewWitnessGroupFromPolicy(wp)
		if err != nil {
			return 0, err
		}
		opts = opts.WithWitnesses(g, nil)
	}
	app, shutdown, reader, err := tessera.NewAppender(ctx, d, opts)
	if err != nil {
		return 0, err
	}
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		return shutdown(context.WithoutCancel(ctx))
	}
	defer stop()
	a := &appender{app: app, reader: reader, dir: dir}
	if o.Unwitnessed {
		a.carry = witnessed
	}

	// The honest index, brought up to every MetaManifest in the log: an
	// honest index entry first if some came after the last one.
	rp, err := a.replay(ctx)
	if err != nil {
		return 0, err
	}
	if rp.Want().Size != a.size {
		if _, err := a.append(ctx, rp, nil); err != nil {
			return 0, err
		}
		if rp, err = a.replay(ctx); err != nil {
			return 0, err
		}
	}
	x := &Index{Newest: map[string]index.Hash{}, dir: dir}
	for o, st := range rp.State().Origins {
		if st.InTrie {
			x.Newest[o] = st.Committed
		}
	}
	if err := lie(ctx, x); err != nil {
		return 0, err
	}
	t := index.NewTrie()
	for o, h := range x.Newest {
		t.Set(index.KeyOf(o), h)
	}
	a.wrongSize = o.WrongSize
	pos, err := a.append(ctx, rp, t)
	if err != nil {
		return 0, err
	}
	if o.Unwitnessed {
		// The witnessed checkpoint stays what /checkpoint serves.
		if err := stop(); err != nil {
			return 0, err
		}
		if err := write(dir, "checkpoint", witnessed); err != nil {
			return 0, err
		}
	}
	return pos, nil
}

type appender struct {
	app    *tessera.Appender
	reader tessera.LogReader
	dir    string
	size   uint64 // the log's size when last replayed
	carry  []byte // the checkpoint index entries carry (default: the latest)
	// wrongSize makes the next entry's size one less than it must be.
	wrongSize bool
}

// replay replays the whole log and writes the honest chunks.
func (a *appender) replay(ctx context.Context) (*index.Replayer, error) {
	raw, err := a.reader.ReadCheckpoint(ctx)
	if err != nil {
		return nil, err
	}
	c, err := checkpoint.ParseText(textOf(raw))
	if err != nil {
		return nil, err
	}
	rp := index.NewReplayer(index.KeepChunks())
	p := tiles.NewProver(a.reader, 64)
	for b := uint64(0); b*tiles.TileWidth < c.Size; b++ {
		es, err := tiles.VerifiedEntries(ctx, a.reader, p, c, b)
		if err != nil {
			return nil, err
		}
		for i, e := range es {
			if _, err := rp.Apply(b*tiles.TileWidth+uint64(i), e); err != nil {
				return nil, err
			}
		}
	}
	for _, m := range rp.TakeChunks() {
		if err := write(a.dir, index.ChunkPath(m.Hash), m.Data); err != nil {
			return nil, err
		}
	}
	a.size = c.Size
	return rp, nil
}

// append appends an index entry of the trie t (nil: the honest one),
// waits for a published checkpoint covering it, and writes index/latest.
func (a *appender) append(ctx context.Context, rp *index.Replayer, t *index.Trie) (uint64, error) {
	if t == nil {
		t = rp.Trie()
	}
	if err := t.Emit(func(h index.Hash, data []byte) error { return write(a.dir, index.NodePath(h), data) }); err != nil {
		return 0, err
	}
	w := rp.Want()
	if a.wrongSize && w.Size > 0 {
		w.Size--
	}
	e := &index.Entry{Size: w.Size, Root: t.Root(), Origins: uint64(t.Len())}
	carry := a.carry
	if carry == nil {
		carry, _ = a.reader.ReadCheckpoint(ctx)
	}
	if c, err := checkpoint.ParseText(textOf(carry)); err == nil && c.Size <= w.Size && w.Size > 0 {
		e.Checkpoint = carry
	}
	idx, err := a.app.Add(ctx, tessera.NewEntry(e.Marshal()))()
	if err != nil {
		return 0, err
	}
	var raw []byte
	var cp checkpoint.Checkpoint
	for {
		raw, err = a.reader.ReadCheckpoint(ctx)
		if err == nil {
			if cp, err = checkpoint.ParseText(textOf(raw)); err == nil && cp.Size > idx.Index {
				break
			}
		}
		select {
		case <-ctx.Done():
			return 0, errors.Join(ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	path, err := tiles.NewProver(a.reader, 0).InclusionProof(ctx, cp, idx.Index)
	if err != nil {
		return 0, err
	}
	proof := &checkpoint.Proof{Extra: e.Marshal(), Index: idx.Index, Inclusion: path, Checkpoint: raw}
	return idx.Index, write(a.dir, index.LatestPath, proof.Marshal())
}

func textOf(signed []byte) string {
	for i := 0; i+1 < len(signed); i++ {
		if signed[i] == '\n' && signed[i+1] == '\n' {
			return string(signed[:i+1])
		}
	}
	return string(signed)
}

func write(dir, p string, data []byte) error {
	full := filepath.Join(dir, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(full, data, 0o644)
}

type dirFetcher string

func (d dirFetcher) Node(_ context.Context, h index.Hash) ([]byte, error) {
	return os.ReadFile(filepath.Join(string(d), filepath.FromSlash(index.NodePath(h))))
}

func (d dirFetcher) Chunk(_ context.Context, h index.Hash) ([]byte, error) {
	return os.ReadFile(filepath.Join(string(d), filepath.FromSlash(index.ChunkPath(h))))
}

// Omit makes the index forget an origin: it has no record of it at all.
func Omit(origin string) Lie {
	return func(_ context.Context, x *Index) error {
		if _, ok := x.Newest[origin]; !ok {
			return fmt.Errorf("no origin %q to omit", origin)
		}
		delete(x.Newest, origin)
		return nil
	}
}

// Older makes the index name the snapshot before an origin's newest as
// its newest: the newest is left out.
func Older(origin string) Lie {
	return func(ctx context.Context, x *Index) error {
		rs, err := x.Records(ctx, origin)
		if err != nil {
			return err
		}
		if len(rs) < 2 || len(rs) > index.MaxChunkRecords+1 {
			return fmt.Errorf("origin %q has %d records; Older needs 2 to %d", origin, len(rs), index.MaxChunkRecords+1)
		}
		x.Newest[origin], err = x.Chain(origin, rs[:len(rs)-1])
		return err
	}
}

// Disagree makes the index's newest record of an origin disagree with the
// entry it names: another TIMESTAMP (a day later) and another leaf hash.
func Disagree(origin string) Lie {
	return func(ctx context.Context, x *Index) error {
		rs, err := x.Records(ctx, origin)
		if err != nil {
			return err
		}
		if len(rs) > index.MaxChunkRecords {
			return fmt.Errorf("origin %q has %d records; Disagree needs at most %d", origin, len(rs), index.MaxChunkRecords)
		}
		last := &rs[len(rs)-1]
		last.Timestamp = last.Timestamp.Add(24 * time.Hour)
		last.LeafHash = index.HashOf([]byte("not the entry"))
		x.Newest[origin], err = x.Chain(origin, rs)
		return err
	}
}

// Truth changes nothing: the index entry is honest (with Unwitnessed, an
// honest index served under a checkpoint the witnesses never saw).
func Truth() Lie { return func(context.Context, *Index) error { return nil } }
