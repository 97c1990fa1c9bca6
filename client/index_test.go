package client_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"treelog/checkpoint"
	"treelog/client"
	"treelog/demo/evilindex"
	"treelog/demo/network"
	"treelog/index"
	"treelog/policy"
	"treelog/tiles"
	"treelog/trust"
)

// indexWorld is a log that keeps an index, with three snapshots of a tree
// an hour apart (the last 30 minutes ago), each index entry covering them.
type indexWorld struct {
	n     *network.Network
	snaps []network.Snapshot
	pol   *policy.Policy
	pubs  *trust.Publishers
}

func newIndexWorld(t *testing.T) *indexWorld {
	t.Helper()
	dir := t.TempDir()
	n, err := network.Start(ctx, filepath.Join(dir, "net"), network.Options{IndexInterval: 100 * time.Millisecond, IndexRefresh: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	w := &indexWorld{n: n}
	if w.snaps, err = n.PublishHistory(ctx, dir, 10, 3, time.Now().Add(-30*time.Minute), time.Hour); err != nil {
		t.Fatal(err)
	}
	w.pol, _ = policy.Parse(mustRead(n.PolicyFile))
	w.pubs, _ = trust.ParsePublishers(mustRead(n.PublishersFile))
	// Wait until an index entry covers the newest snapshot.
	r, _ := tiles.NewHTTPReader([]string{n.LogURL})
	for i := 0; ; i++ {
		if data, err := index.ReadLatest(ctx, r); err == nil {
			if l, err := index.VerifyLatest(w.pol, data); err == nil && l.Entry.Size > w.snaps[2].Index {
				break
			}
		}
		if i == 400 {
			t.Fatal("no index covering the newest snapshot after 20s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return w
}

func (w *indexWorld) cfg(t *testing.T, url string) client.Config {
	c := client.Config{Policy: w.pol, Publishers: w.pubs, StateDir: t.TempDir()}
	if url != "" {
		c.LogURLs = []string{url}
	}
	return c
}

// TestIndexUsed: the user's check reads the log's index, not its entries:
// the newest snapshot verifies, an older one is refused as a replay once
// the newer ones have been logged longer than the lag (with the index or
// without), and a mirror of the log without the index's files, or
// --no-index, reads the entries instead, with the same verdicts.
func TestIndexUsed(t *testing.T) {
	w := newIndexWorld(t)
	res, err := client.Verify(ctx, w.snaps[2].Dir, w.cfg(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	if res.IndexSize <= w.snaps[2].Index {
		t.Fatalf("the index was not used (index size %d, snapshot at %d)", res.IndexSize, w.snaps[2].Index)
	}
	t.Logf("with the index: %d bytes, %d requests", res.BytesFetched, res.Requests)
	refused(t, w.snaps[0].Dir, w.later(t, ""), client.CheckReplay, "2 newer snapshots in the log")

	// --no-index reads the entries.
	cfg := w.cfg(t, "")
	cfg.NoIndex = true
	res, err = client.Verify(ctx, w.snaps[2].Dir, cfg)
	if err != nil || res.IndexSize != 0 {
		t.Fatalf("--no-index: %v (index size %d)", err, res.IndexSize)
	}
	t.Logf("with --no-index: %d bytes, %d requests", res.BytesFetched, res.Requests)
	cfg = w.later(t, "")
	cfg.NoIndex = true
	refused(t, w.snaps[0].Dir, cfg, client.CheckReplay, "2 newer snapshots in the log")

	// A static mirror of the log that copied the tiles and index/latest
	// but none of the index's other files.
	logDir := filepath.Join(w.n.Dir, "log")
	partial := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/index/") && r.URL.Path != "/"+index.LatestPath {
			http.NotFound(rw, r)
			return
		}
		http.FileServer(http.Dir(logDir)).ServeHTTP(rw, r)
	}))
	defer partial.Close()
	res, err = client.Verify(ctx, w.snaps[2].Dir, w.cfg(t, partial.URL))
	if err != nil || res.IndexSize != 0 {
		t.Fatalf("a mirror without the index's files: %v (index size %d)", err, res.IndexSize)
	}
	refused(t, w.snaps[0].Dir, w.later(t, partial.URL), client.CheckReplay, "2 newer snapshots in the log")
}

// later is cfg three hours from now: longer than the default lag after
// every snapshot of the world.
func (w *indexWorld) later(t *testing.T, url string) client.Config {
	c := w.cfg(t, url)
	c.Now = func() time.Time { return time.Now().Add(3 * time.Hour) }
	return c
}

// TestIndexLag: the mirror lag rule reaches the same verdict from the
// index as from the log's entries: one snapshot behind, the newer logged
// seconds ago, is accepted (and the entries after the index, which cannot
// change that, are not read); three hours later it is refused, naming the
// newer snapshot.
func TestIndexLag(t *testing.T) {
	w := newIndexWorld(t)
	for _, later := range []bool{false, true} {
		var got [2]*client.Result
		var errs [2]error
		for i, noIndex := range []bool{false, true} {
			cfg := w.cfg(t, "")
			if later {
				cfg = w.later(t, "")
			}
			cfg.NoIndex = noIndex
			got[i], errs[i] = client.Verify(ctx, w.snaps[1].Dir, cfg)
		}
		if (errs[0] == nil) != (errs[1] == nil) || (errs[0] == nil) == later {
			t.Fatalf("later %v: with the index %v, without %v", later, errs[0], errs[1])
		}
		a, b := got[0].Lag, got[1].Lag
		if a == nil || b == nil || a.Newer != b.Newer || a.Newest.Index != b.Newest.Index || a.OK != b.OK || a.Newest.Index != w.snaps[2].Index {
			t.Fatalf("later %v: the index's verdict %+v is not the scan's %+v", later, a, b)
		}
		if !got[0].UsedIndex || got[1].UsedIndex {
			t.Errorf("later %v: used the index %v / %v", later, got[0].UsedIndex, got[1].UsedIndex)
		}
		if later {
			var f *client.Failure
			if !errors.As(errs[0], &f) || !strings.Contains(f.Msg, "1 newer snapshot in the log") || !strings.HasPrefix(string(f.Evidence[0]), "c2sp.org/tlog-proof@v1\nextra ") {
				t.Errorf("refusal from the index: %v (evidence %q)", errs[0], f.Evidence)
			}
		}
	}
}

// TestIndexLies: a log that lies in its index, where the lie touches the
// user's own snapshot — it omits it, names an older snapshot as the
// newest, disagrees with the entry, or is served under a checkpoint no
// witness quorum cosigned — is refused, with the signed index entry as
// evidence; an honest index, served the same way, verifies.
func TestIndexLies(t *testing.T) {
	for _, c := range []struct {
		name string
		o    evilindex.Options
		lie  evilindex.Lie
		want string // in the refusal; "" for none
	}{
		{"honest", evilindex.Options{}, evilindex.Truth(), ""},
		{"omits", evilindex.Options{}, evilindex.Omit("example.org/tree"), "it has no snapshot of example.org/tree at all, but this snapshot"},
		{"older", evilindex.Options{}, evilindex.Older("example.org/tree"), "as the newest snapshot of example.org/tree, older than this one"},
		{"disagrees", evilindex.Options{}, evilindex.Disagree("example.org/tree"), "it disagrees with the log's entry"},
		{"unwitnessed", evilindex.Options{Unwitnessed: true}, evilindex.Truth(), "not witnessed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newIndexWorld(t)
			// The user verified the newest snapshot yesterday, with the
			// honest index.
			cfg := w.cfg(t, "")
			if _, err := client.Verify(ctx, w.snaps[2].Dir, cfg); err != nil {
				t.Fatal(err)
			}
			if _, err := evilindex.Publish(ctx, w.n, c.o, c.lie); err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(w.n.Dir, "log"))))
			defer srv.Close()
			cfg.LogURLs = []string{srv.URL}
			if c.want == "" {
				res, err := client.Verify(ctx, w.snaps[2].Dir, cfg)
				if err != nil || res.IndexSize == 0 {
					t.Fatalf("an honest index: %v (index size %d)", err, res.IndexSize)
				}
				return
			}
			f := refused(t, w.snaps[2].Dir, cfg, client.CheckReplay, c.want)
			if len(f.Evidence) == 0 || !strings.HasPrefix(string(f.Evidence[0]), "c2sp.org/tlog-proof@v1\nextra ") {
				t.Errorf("no signed index entry in the evidence: %q", f.Evidence)
			}
			t.Logf("refused: %s", f.Msg)
		})
	}
}

// TestStaleIndex: a log whose index stopped (or a mirror serving an old
// index entry under a fresh checkpoint) hides nothing: three hours later
// its witnessed checkpoint cannot vouch for the entries after it, which
// are read from the log, and a newer snapshot among them, logged longer
// ago than the lag, refuses the replay.
func TestStaleIndex(t *testing.T) {
	w := newIndexWorld(t)
	// The newest index entry that does not cover snapshot 2.
	r, _ := tiles.NewHTTPReader([]string{w.n.LogURL})
	raw, err := r.ReadCheckpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	latest, err := w.pol.Verify(raw)
	if err != nil {
		t.Fatal(err)
	}
	cp := latest.Checkpoint.Checkpoint
	p := tiles.NewProver(r, 64)
	var old []byte
	var oldPos, oldSize uint64
	for b := uint64(0); b*tiles.TileWidth < cp.Size; b++ {
		es, err := tiles.VerifiedEntries(ctx, r, p, cp, b)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range es {
			if x, err := index.ParseEntry(e); err == nil && x.Size <= w.snaps[2].Index {
				old, oldPos, oldSize = e, b*tiles.TileWidth+uint64(i), x.Size
			}
		}
	}
	if old == nil {
		t.Fatal("no index entry before snapshot 2")
	}
	path, err := p.InclusionProof(ctx, cp, oldPos)
	if err != nil {
		t.Fatal(err)
	}
	stale := (&checkpoint.Proof{Extra: old, Index: oldPos, Inclusion: path, Checkpoint: raw}).Marshal()
	logDir := filepath.Join(w.n.Dir, "log")
	mirror := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/"+index.LatestPath {
			rw.Write(stale)
			return
		}
		http.FileServer(http.Dir(logDir)).ServeHTTP(rw, r)
	}))
	defer mirror.Close()
	f := refused(t, w.snaps[1].Dir, w.later(t, mirror.URL), client.CheckReplay, "1 newer snapshot in the log")
	t.Logf("refused: %s", f.Msg)
	// The newest snapshot verifies through the same mirror, reading the
	// entries after the old index.
	res, err := client.Verify(ctx, w.snaps[2].Dir, w.later(t, mirror.URL))
	if err != nil || res.IndexSize != oldSize {
		t.Fatalf("the newest snapshot through a stale index: %v (index size %d, want %d)", err, res.IndexSize, oldSize)
	}
}
