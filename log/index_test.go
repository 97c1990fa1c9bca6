package log_test

import (
	"errors"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"treelog/checkpoint"
	"treelog/demo/evilindex"
	"treelog/demo/network"
	"treelog/index"
	"treelog/policy"
	"treelog/tiles"
	"treelog/trust"
)

// indexedNetwork starts a network whose log keeps an index, appending a
// version every 200ms when something changed, and lets its publisher
// publish a second origin.
func indexedNetwork(t *testing.T) (*network.Network, *policy.Policy) {
	n := start(t, network.Options{IndexInterval: 200 * time.Millisecond, IndexRefresh: time.Second})
	pubs, _ := os.ReadFile(n.PublishersFile)
	pubs = append(pubs, []byte("publisher other.example/tree "+n.PublisherVKey+"\n")...)
	if err := os.WriteFile(n.PublishersFile, pubs, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := trust.ParsePublishers(pubs)
	if err != nil {
		t.Fatal(err)
	}
	n.Log.SetPublishers(p)
	polText, _ := os.ReadFile(n.PolicyFile)
	pol, err := policy.Parse(polText)
	if err != nil {
		t.Fatal(err)
	}
	return n, pol
}

// waitIndex waits until index/latest covers the log up to at least size,
// and returns it verified.
func waitIndex(t *testing.T, pol *policy.Policy, r *tiles.HTTPReader, size uint64) *index.Latest {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		data, err := index.ReadLatest(ctx, r)
		if err == nil {
			l, err := index.VerifyLatest(pol, data)
			if err != nil {
				t.Fatalf("index/latest does not verify: %v", err)
			}
			if l.Entry.Size >= size {
				return l
			}
		} else if !errors.Is(err, tiles.ErrNotFound) {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no index covering size %d after 20s", size)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// replayAll replays the whole log through its tiles, failing on any index
// entry that is not what the log's entries give; it returns how many
// index entries there are.
func replayAll(t *testing.T, r *tiles.HTTPReader, pol *policy.Policy) int {
	t.Helper()
	raw, err := r.ReadCheckpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := pol.Verify(raw)
	if err != nil {
		t.Fatal(err)
	}
	cp := res.Checkpoint.Checkpoint
	rp := index.NewReplayer()
	p := tiles.NewProver(r, 64)
	versions := 0
	for b := uint64(0); b*tiles.TileWidth < cp.Size; b++ {
		entries, err := tiles.VerifiedEntries(ctx, r, p, cp, b)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range entries {
			v, err := rp.Apply(b*tiles.TileWidth+uint64(i), e)
			if err != nil {
				t.Fatal(err)
			}
			if v != nil {
				versions++
				if v.Err != nil {
					t.Errorf("index entry %d: %v", v.Position, v.Err)
				}
			}
		}
	}
	return versions
}

// publishDays submits MetaManifests of origin for the given days and
// returns the index of the last.
func publishDays(t *testing.T, n *network.Network, origin string, days ...int) uint64 {
	t.Helper()
	var idx uint64
	for _, d := range days {
		code, body, h := post(t, n.LogURL+"/add", mm(t, n.Publisher, origin, d))
		if code != 200 {
			t.Fatalf("%s day %d: %d %s", origin, d, code, body)
		}
		idx, _ = strconv.ParseUint(h.Get("Treelog-Index"), 10, 64)
		time.Sleep(30 * time.Millisecond)
	}
	return idx
}

func checkNewest(t *testing.T, r *tiles.HTTPReader, l *index.Latest, origin string, index_ uint64, seq uint64) {
	t.Helper()
	ch, path, err := index.Lookup(ctx, index.Files(r), l.Entry.Root, origin)
	if err != nil || ch == nil {
		t.Fatalf("Lookup(%s): %v %v", origin, ch, err)
	}
	if got := ch.Last(); got.Index != index_ || got.Seq != seq {
		t.Fatalf("the index's newest snapshot of %s is %+v, want entry %d, number %d", origin, got, index_, seq)
	}
	if len(path.Nodes) == 0 {
		t.Error("a lookup read no node")
	}
}

// startLog starts the network's stopped log again, with the publishers
// indexedNetwork added, and returns the users' policy (the log's URL
// changed) and a reader of the log.
func startLog(t *testing.T, n *network.Network) (*policy.Policy, *tiles.HTTPReader) {
	t.Helper()
	if err := n.StartLog(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := trust.ParsePublishers(mustReadFile(t, n.PublishersFile))
	if err != nil {
		t.Fatal(err)
	}
	n.Log.SetPublishers(p)
	pol, err := policy.Parse(mustReadFile(t, n.PolicyFile))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := tiles.NewHTTPReader([]string{n.LogURL})
	return pol, r
}

// TestIndexBuiltAndServed: the log keeps an index of the newest snapshot
// per origin, serves it with its files, every index entry is what the
// log's entries give, and a restarted log resumes from its files.
func TestIndexBuiltAndServed(t *testing.T) {
	n, pol := indexedNetwork(t)
	r, _ := tiles.NewHTTPReader([]string{n.LogURL})
	a := publishDays(t, n, "example.org/tree", 0, 1, 2, 3, 4, 5)
	b := publishDays(t, n, "other.example/tree", 0, 1)
	// An index covers the log up to the index entry before it.
	l := waitIndex(t, pol, r, max(a, b)+1)
	if l.Checkpoint == nil || l.Checkpoint.Checkpoint.Size > l.Entry.Size {
		t.Fatalf("the index entry carries no witnessed checkpoint at or below its size %d", l.Entry.Size)
	}
	if l.Entry.Origins != 2 {
		t.Errorf("%d origins, want 2", l.Entry.Origins)
	}
	checkNewest(t, r, l, "example.org/tree", a, 6)
	checkNewest(t, r, l, "other.example/tree", b, 2)
	if absent, _, err := index.Lookup(ctx, index.Files(r), l.Entry.Root, "never.example/t"); absent != nil || err != nil {
		t.Fatalf("an origin never logged: %v %v", absent, err)
	}
	if v := replayAll(t, r, pol); v < 2 {
		t.Fatalf("%d index entries, want several", v)
	}

	// Restarted, the log resumes from its files and goes on.
	if err := n.StopLog(ctx); err != nil {
		t.Fatal(err)
	}
	pol, r = startLog(t, n)
	c := publishDays(t, n, "example.org/tree", 6, 7)
	l = waitIndex(t, pol, r, c+1)
	checkNewest(t, r, l, "example.org/tree", c, 8)
	checkNewest(t, r, l, "other.example/tree", b, 2)
	replayAll(t, r, pol)

	// The files are served, named by their hash, and nothing else is.
	for path, want := range map[string]int{
		index.NodePath(l.Entry.Root):                  200,
		"index/node/00/" + index.HashOf(nil).String(): 404,
		"index/state.json":                            404,
		"index/node/" + l.Entry.Root.String():         404,
	} {
		resp, err := http.Get(n.LogURL + "/" + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET /%s: %d, want %d", path, resp.StatusCode, want)
		}
		if want == 200 && resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Errorf("GET /%s: Cache-Control %q", path, resp.Header.Get("Cache-Control"))
		}
	}
}

// TestConsistencyEndpoint: the log serves a compact consistency proof
// between any two sizes it published, which verifies against the two
// checkpoints.
func TestConsistencyEndpoint(t *testing.T) {
	n := start(t)
	pol, _ := policy.Parse(mustReadFile(t, n.PolicyFile))
	r, _ := tiles.NewHTTPReader([]string{n.LogURL})
	var cps []*checkpoint.Signed
	for day := range 5 {
		post(t, n.LogURL+"/add?wait=1", mmF(t, n, day))
		raw, _, _ := n.Log.Published()
		res, err := pol.Verify(raw)
		if err != nil {
			t.Fatal(err)
		}
		cps = append(cps, res.Checkpoint)
	}
	for i := range cps {
		for j := i; j < len(cps); j++ {
			proof, err := r.ReadConsistencyProof(ctx, cps[i].Size, cps[j].Size)
			if err != nil {
				t.Fatal(err)
			}
			if err := checkpoint.VerifyConsistency(cps[i].Checkpoint, cps[j].Checkpoint, proof); err != nil {
				t.Errorf("%d to %d: %v", cps[i].Size, cps[j].Size, err)
			}
		}
	}
	for path, want := range map[string]int{"2/1": 400, "1/1000": 404, "01/2": 400, "x/2": 400} {
		resp, err := http.Get(n.LogURL + "/proof/consistency/" + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("/proof/consistency/%s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}

func mustReadFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestIndexRebuiltAfterWrongEntry: when the newest index entry in the log
// does not follow from the log (here its size is one short, as a second
// index writer's could be), a restarted log does not resume from it
// forever: it rebuilds the index from the log's start and goes on
// appending right entries.
func TestIndexRebuiltAfterWrongEntry(t *testing.T) {
	n, pol := indexedNetwork(t)
	r, _ := tiles.NewHTTPReader([]string{n.LogURL})
	a := publishDays(t, n, "example.org/tree", 0, 1, 2)
	waitIndex(t, pol, r, a+1)
	wrong, err := evilindex.Publish(ctx, n, evilindex.Options{WrongSize: true}, evilindex.Truth())
	if err != nil {
		t.Fatal(err)
	}
	pol, r = startLog(t, n)
	c := publishDays(t, n, "example.org/tree", 3)
	l := waitIndex(t, pol, r, c+1)
	if l.Position() <= wrong {
		t.Fatalf("index/latest is entry %d, not after the wrong entry %d", l.Position(), wrong)
	}
	checkNewest(t, r, l, "example.org/tree", c, 4)
}
