package index_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"treelog/checkpoint"
	"treelog/index"
	"treelog/internal/testkit/testlog"
	"treelog/manifest"
	"treelog/metamanifest"
	"treelog/note"
	"treelog/policy"
)

// files is an index file store in memory: a Fetcher and the place
// chunks and nodes are written to.
type files map[index.Hash][]byte

func (f files) Node(_ context.Context, h index.Hash) ([]byte, error) {
	if b, ok := f[h]; ok {
		return b, nil
	}
	return nil, errors.New("no such node")
}

func (f files) Chunk(ctx context.Context, h index.Hash) ([]byte, error) { return f.Node(ctx, h) }

func (f files) put(h index.Hash, data []byte) error {
	if index.HashOf(data) != h {
		return fmt.Errorf("file %s stored under the wrong hash", h)
	}
	f[h] = data
	return nil
}

var publisher = func() note.Signer {
	sk, _, _ := note.GenerateKey(nil, "publisher.example", note.TypeEd25519)
	s, _ := note.NewSigner(sk)
	return s
}()

var start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func mm(t testing.TB, origin string, ts time.Time) []byte {
	t.Helper()
	m := &metamanifest.MetaManifest{Origin: origin, Timestamp: ts, ManifestSize: 1, ManifestHashes: manifest.HashBytes([]byte(origin+ts.String()), metamanifest.Hashes)}
	b, err := metamanifest.Sign(m, publisher)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testLog is a log being written: its entries, and a replayer that
// follows it writing the index files, as a log server does.
type testLog struct {
	t       testing.TB
	entries [][]byte
	r       *index.Replayer
	files   files
}

func newTestLog(t testing.TB) *testLog {
	l := &testLog{t: t, files: files{}}
	l.r = index.NewReplayer(index.KeepChunks())
	return l
}

func (l *testLog) add(e []byte) uint64 {
	l.t.Helper()
	i := uint64(len(l.entries))
	l.entries = append(l.entries, e)
	v, err := l.r.Apply(i, e)
	if err != nil {
		l.t.Fatal(err)
	}
	for _, c := range l.r.TakeChunks() {
		l.files.put(c.Hash, c.Data)
	}
	if v != nil && v.Err != nil {
		l.t.Fatalf("index entry %d: %v", i, v.Err)
	}
	return i
}

// version appends an index entry saying what the replayer wants, with a
// checkpoint of the log of that size.
func (l *testLog) version() *index.Entry {
	l.t.Helper()
	w := l.r.Want()
	if err := l.r.Trie().Emit(l.files.put); err != nil {
		l.t.Fatal(err)
	}
	e := &index.Entry{Size: w.Size, Root: w.Root, Origins: w.Origins}
	if w.Size > 0 {
		e.Checkpoint = []byte(fmt.Sprintf("log.example\n%d\n%s\n\n— log.example AAAAAAAA\n", w.Size, strings.Repeat("A", 43)+"="))
	}
	l.add(e.Marshal())
	return e
}

func TestTrieShapeAndLookup(t *testing.T) {
	ctx := context.Background()
	var keys []string
	for i := range 300 {
		keys = append(keys, fmt.Sprintf("origin.example/%d", i))
	}
	val := func(o string) index.Hash { return index.HashOf([]byte("value of " + o)) }
	a, b := index.NewTrie(), index.NewTrie()
	for _, k := range keys {
		a.Set(index.KeyOf(k), index.HashOf([]byte("old")))
		a.Set(index.KeyOf(k), val(k))
	}
	for _, i := range rand.Perm(len(keys)) {
		b.Set(index.KeyOf(keys[i]), val(keys[i]))
	}
	if a.Root() != b.Root() || a.Len() != len(keys) {
		t.Fatalf("the root depends on the order of insertion (%x, %x) or Len is %d", a.Root(), b.Root(), a.Len())
	}
	if index.NewTrie().Root() != index.EmptyRoot {
		t.Fatal("the empty trie's root is not EmptyRoot")
	}
	// Every node written, lookups agree with Get, from the files alone.
	f := files{}
	if err := a.Emit(f.put); err != nil {
		t.Fatal(err)
	}
	// Chunks: the value is the hash of a chunk; store one per key.
	c := files{}
	for _, k := range keys {
		ch := &index.Chunk{Origin: k, Records: []index.Record{{Seq: 1, Index: 7, Timestamp: start}}}
		data := ch.Marshal()
		c.put(index.HashOf(data), data)
	}
	t2 := index.NewTrie()
	for h := range c {
		ch, _ := index.ParseChunk(c[h])
		t2.Set(index.KeyOf(ch.Origin), h)
	}
	if err := t2.Emit(c.put); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys[:20] {
		ch, p, err := index.Lookup(ctx, c, t2.Root(), k)
		if err != nil || ch == nil || ch.Origin != k {
			t.Fatalf("Lookup(%s) = %v, %v", k, ch, err)
		}
		if len(p.Nodes) == 0 || len(p.Nodes) > 4 {
			t.Errorf("Lookup(%s) read %d nodes; a trie of 300 keys is 2 to 4 deep", k, len(p.Nodes))
		}
	}
	ch, _, err := index.Lookup(ctx, c, t2.Root(), "absent.example/x")
	if err != nil || ch != nil {
		t.Fatalf("Lookup of an absent origin = %v, %v", ch, err)
	}
	// A second Emit writes nothing; a change writes only its path.
	n := 0
	a.Emit(func(index.Hash, []byte) error { n++; return nil })
	if n != 0 {
		t.Errorf("a second Emit wrote %d nodes", n)
	}
	a.Set(index.KeyOf(keys[0]), index.HashOf([]byte("new")))
	a.Emit(func(index.Hash, []byte) error { n++; return nil })
	if n < 2 || n > 4 {
		t.Errorf("one change made %d nodes to write, want its path", n)
	}
}

func TestLookupRefusesWrongBytes(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t)
	l.version()
	l.add(mm(t, "a.example/t", start))
	e := l.version()
	// A mirror serves another node under the root's hash.
	bad := files{}
	for h, b := range l.files {
		bad[h] = b
	}
	bad[e.Root] = append([]byte(nil), bad[e.Root]...)
	bad[e.Root][len(bad[e.Root])-1] ^= 1
	if _, _, err := index.Lookup(ctx, bad, e.Root, "a.example/t"); !errors.Is(err, index.ErrMismatch) {
		t.Fatalf("Lookup through a changed node: %v, want ErrMismatch", err)
	}
}

func TestReplayerVersionsAndHistory(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t)
	first := l.version()
	if first.Size != 0 || first.Root != index.EmptyRoot {
		t.Fatalf("first version %+v, want the empty index of size 0", first)
	}
	var mine []uint64
	for i := range 40 {
		ts := start.Add(time.Duration(i) * time.Minute)
		mine = append(mine, l.add(mm(t, "a.example/t", ts)))
		l.add(mm(t, "b.example/t", ts))
		if i%7 == 6 {
			l.version()
		}
	}
	// An index entry covers the log up to the index entry before it.
	l.version()
	e := l.version()
	if e.Origins != 2 {
		t.Fatalf("%d origins, want 2", e.Origins)
	}
	ch, _, err := index.Lookup(ctx, l.files, e.Root, "a.example/t")
	if err != nil || ch == nil {
		t.Fatal(ch, err)
	}
	// The whole history, newest first, every record as logged.
	h := index.NewHistory(l.files, ch, nil)
	for i := len(mine) - 1; i >= 0; i-- {
		r, ok, err := h.Next(ctx)
		if err != nil || !ok {
			t.Fatalf("record %d: %v, %v", i+1, ok, err)
		}
		want := index.Record{Seq: uint64(i + 1), Index: mine[i], Timestamp: start.Add(time.Duration(i) * time.Minute), LeafHash: index.Hash(checkpoint.LeafHash(l.entries[mine[i]]))}
		if r != want {
			t.Fatalf("record %+v, want %+v", r, want)
		}
	}
	if _, ok, _ := h.Next(ctx); ok {
		t.Fatal("a record before the first")
	}
	if len(h.Chunks) < 3 {
		t.Errorf("40 records in %d chunks", len(h.Chunks))
	}
}

func TestReplayerFindsWrongEntries(t *testing.T) {
	l := newTestLog(t)
	l.version()
	l.add(mm(t, "a.example/t", start))
	l.add(mm(t, "a.example/t", start.Add(time.Hour)))
	w := l.r.Want()
	for name, e := range map[string]*index.Entry{
		"size":    {Size: w.Size + 1, Root: w.Root, Origins: w.Origins},
		"origins": {Size: w.Size, Root: w.Root, Origins: w.Origins + 1},
		"root":    {Size: w.Size, Root: index.HashOf([]byte("x")), Origins: w.Origins},
	} {
		r, _ := index.Resume(l.r.State())
		e.Checkpoint = []byte(fmt.Sprintf("log.example\n%d\n%s\n\n— log.example AAAAAAAA\n", e.Size, strings.Repeat("A", 43)+"="))
		v, err := r.Apply(r.Next(), e.Marshal())
		if err != nil || v == nil || v.Err == nil {
			t.Errorf("%s: an index entry with a wrong %s passed: %v, %v", name, name, v, err)
		}
	}
	r, _ := index.Resume(l.r.State())
	v, _ := r.Apply(r.Next(), []byte(index.Header+"\nnonsense\n"))
	if v == nil || !errors.Is(v.Err, index.ErrMalformed) {
		t.Errorf("a malformed index entry: %v", v)
	}
}

func TestResumeAndRestore(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t)
	l.version()
	for i := range 30 {
		l.add(mm(t, fmt.Sprintf("o%d.example/t", i%5), start.Add(time.Duration(i)*time.Minute)))
		if i == 12 {
			l.version()
		}
	}
	// Saved as JSON mid-version and resumed, or restored from the files of
	// the last version and replayed: the same index as replaying it all.
	b, err := json.Marshal(l.r.State())
	if err != nil {
		t.Fatal(err)
	}
	var st index.ReplayState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	resumed, err := index.Resume(&st)
	if err != nil {
		t.Fatal(err)
	}
	var lastEntry *index.Entry
	for i, e := range l.entries {
		if bytes.HasPrefix(e, []byte(index.Header+"\n")) {
			lastEntry, _ = index.ParseEntry(l.entries[i])
		}
	}
	restored, err := index.Restore(ctx, l.files, lastEntry)
	if err != nil {
		t.Fatal(err)
	}
	for i := restored.Next(); i < uint64(len(l.entries)); i++ {
		if v, err := restored.Apply(i, l.entries[i]); err != nil || (v != nil && v.Err != nil) {
			t.Fatalf("restored replayer at entry %d: %v %v", i, v, err)
		}
	}
	final := l.version()
	for name, r := range map[string]*index.Replayer{"resumed": resumed, "restored": restored} {
		v, err := r.Apply(r.Next(), l.entries[len(l.entries)-1])
		if err != nil || v == nil || v.Err != nil {
			t.Errorf("%s replayer refuses the final version %+v: %v %v", name, final, v, err)
		}
	}
}

func TestDiff(t *testing.T) {
	ctx := context.Background()
	mine, theirs := index.NewTrie(), index.NewTrie()
	for i := range 200 {
		k, v := index.KeyOf(fmt.Sprint(i)), index.HashOf([]byte{byte(i)})
		mine.Set(k, v)
		switch i {
		case 7: // they say another value
			theirs.Set(k, index.HashOf([]byte("other")))
		case 8: // they omit it
		default:
			theirs.Set(k, v)
		}
	}
	theirs.Set(index.KeyOf("extra"), index.HashOf(nil)) // they add one
	f := files{}
	theirs.Emit(f.put)
	d, err := mine.Clone().Diff(ctx, f, theirs.Root(), 0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[index.Hash]index.Difference{}
	for _, x := range d {
		got[x.Key] = x
	}
	if len(d) != 3 || got[index.KeyOf("7")].Theirs == nil || got[index.KeyOf("8")].Theirs != nil || got[index.KeyOf("extra")].Mine != nil {
		t.Fatalf("Diff = %+v, want keys 7 (changed), 8 (omitted) and extra (added)", d)
	}
	if d, _ := mine.Diff(ctx, f, mine.Root(), 0); len(d) != 0 {
		t.Fatalf("a trie differs from itself: %+v", d)
	}
}

// TestDiffOfHostileTrie: a lying log's trie whose nodes all point to the
// same subnode at every level (41 files, 16^40 paths) is refused after a
// few reads, not read without end; so is one with more distinct nodes
// than a trie of the log's keys could have.
func TestDiffOfHostileTrie(t *testing.T) {
	ctx := context.Background()
	mine := index.NewTrie()
	for i := range 20 {
		mine.Set(index.KeyOf(fmt.Sprint(i)), index.HashOf([]byte{byte(i)}))
	}
	counting := &countingFiles{files: files{}}
	put := func(n *index.Node) index.Hash {
		b := n.Marshal()
		h := index.HashOf(b)
		counting.files[h] = b
		return h
	}
	// Shared subtrees: every child of each level is the level below.
	below := put(&index.Node{})
	for range 40 {
		var n index.Node
		for i := range n.Children {
			n.Children[i] = index.Child{Kind: index.ChildNode, Node: below}
		}
		below = put(&n)
	}
	_, err := mine.Diff(ctx, counting, below, 0)
	if !errors.Is(err, index.ErrMalformed) || !strings.Contains(err.Error(), "appears twice") {
		t.Fatalf("Diff of a trie with shared subtrees: %v, want a malformed index", err)
	}
	if counting.n > 64 {
		t.Errorf("%d nodes read before refusing it", counting.n)
	}
	// Distinct nodes, many more than 20 keys need: a chain of 16-wide
	// levels whose other children are distinct empty-ish nodes.
	counting.n = 0
	leafless := func(i, j int) index.Hash {
		var n index.Node
		n.Children[i%16] = index.Child{Kind: index.ChildLeaf, Key: index.KeyOf(fmt.Sprint("x", i, j)), Value: index.HashOf(nil)}
		return put(&n)
	}
	var level []index.Hash
	for j := range 16 * 16 * 16 {
		level = append(level, leafless(j, 0))
	}
	for len(level) > 1 {
		var up []index.Hash
		for k := 0; k < len(level); k += 16 {
			var n index.Node
			for i := range 16 {
				n.Children[i] = index.Child{Kind: index.ChildNode, Node: level[k+i]}
			}
			up = append(up, put(&n))
		}
		level = up
	}
	small := index.NewTrie()
	small.Set(index.KeyOf("only"), index.HashOf(nil))
	_, err = small.Diff(ctx, counting, level[0], 0)
	if !errors.Is(err, index.ErrMalformed) || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("Diff of a trie far larger than the log's: %v, want a malformed index", err)
	}
}

type countingFiles struct {
	files
	n int
}

func (c *countingFiles) Node(ctx context.Context, h index.Hash) ([]byte, error) {
	c.n++
	return c.files.Node(ctx, h)
}

// TestVerifyCarried: the checkpoint an index entry carries bounds when
// the entries after it entered the log only if this party's quorum
// cosigned it. One without that quorum is no lie (the log may be
// witnessed under another policy): it is set aside, and the party reads
// those entries itself. Another log's checkpoint is an error.
func TestVerifyCarried(t *testing.T) {
	lg, err := testlog.New("log.example")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := testlog.New("other.example")
	lg.Grow(5)
	other.Grow(5)
	_, wvk, _ := note.GenerateKey(nil, "w.example", note.TypeCosignatureV1)
	witnessed, err := policy.Parse([]byte("log " + lg.VKey + "\nwitness w " + wvk + "\nquorum w\n"))
	if err != nil {
		t.Fatal(err)
	}
	unwitnessed, _ := policy.Parse([]byte("log " + lg.VKey + "\nquorum none\n"))
	e := &index.Entry{Size: 5, Checkpoint: lg.Checkpoint(3)}
	if r, err := index.VerifyCarried(witnessed, e); r != nil || err != nil {
		t.Fatalf("a carried checkpoint without the quorum: %v, %v; want it set aside", r, err)
	}
	if r, err := index.VerifyCarried(unwitnessed, e); err != nil || r == nil || r.Checkpoint.Size != 3 {
		t.Fatalf("a carried checkpoint under a policy it meets: %v, %v", r, err)
	}
	if r, err := index.VerifyCarried(witnessed, &index.Entry{Size: 5, Checkpoint: other.Checkpoint(3)}); err == nil {
		t.Fatalf("another log's checkpoint accepted: %v", r)
	}
	if r, err := index.VerifyCarried(witnessed, &index.Entry{Size: 0}); r != nil || err != nil {
		t.Fatalf("no carried checkpoint: %v, %v", r, err)
	}
}
