package tiles

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"

	"treelog/checkpoint"
)

func TestPaths(t *testing.T) {
	for _, tc := range []struct {
		r    Resource
		path string
	}{
		{Resource{Level: 0, Index: 0}, "tile/0/000"},
		{Resource{Level: 1, Index: 1234067}, "tile/1/x001/x234/067"},
		{Resource{Level: 2, Index: 5, Width: 17}, "tile/2/005.p/17"},
		{Resource{Entries: true, Index: 1000}, "tile/entries/x001/000"},
		{Resource{Entries: true, Index: 273, Width: 112}, "tile/entries/273.p/112"},
	} {
		if got := tc.r.Path(); got != tc.path {
			t.Errorf("%+v: %q, want %q", tc.r, got, tc.path)
		}
		r, err := ParsePath(tc.path)
		if err != nil || r != tc.r {
			t.Errorf("ParsePath(%q) = %+v, %v", tc.path, r, err)
		}
	}
	for _, bad := range []string{"tile/0/1", "tile/00/000", "tile/64/000", "tile/0/000.p/0", "tile/0/000.p/256", "tile/0/000.p/01", "tile/0/001/000", "tile/0/x000/001", "tile/entries", "checkpoint", "tile/0/../000", "tile/entries/000.p/1/x"} {
		if _, err := ParsePath(bad); err == nil {
			t.Errorf("ParsePath(%q) succeeded", bad)
		}
	}
}

func TestEntryBundle(t *testing.T) {
	es := [][]byte{[]byte("a"), {}, []byte("ccc")}
	b := MarshalEntryBundle(es)
	got, err := ParseEntryBundle(b, 3)
	if err != nil || len(got) != 3 || string(got[2]) != "ccc" {
		t.Fatalf("%v %q", err, got)
	}
	for _, tc := range []struct {
		data []byte
		want int
	}{{b, 2}, {b, 4}, {b[:len(b)-1], 3}, {append(b, 0), 3}} {
		if _, err := ParseEntryBundle(tc.data, tc.want); err == nil {
			t.Errorf("ParseEntryBundle(%x, %d) succeeded", tc.data, tc.want)
		}
	}
	for _, tc := range []struct {
		idx, size uint64
		w         uint8
		ok        bool
	}{{0, 0, 0, false}, {0, 1, 1, true}, {0, 256, 0, true}, {1, 256, 0, false}, {1, 300, 44, true}} {
		if w, ok := BundleWidth(tc.idx, tc.size); w != tc.w || ok != tc.ok {
			t.Errorf("BundleWidth(%d, %d) = %d %v", tc.idx, tc.size, w, ok)
		}
	}
}

// memLog serves a real tree as tiles over HTTP, as tessera would lay it out.
type memLog struct {
	tree *testonly.Tree
}

func newMemLog(n int) *memLog {
	m := &memLog{tree: testonly.New(rfc6962.DefaultHasher)}
	for i := range n {
		m.tree.AppendData([]byte(fmt.Sprintf("entry %d", i)))
	}
	return m
}

func (m *memLog) cp(size uint64) checkpoint.Checkpoint {
	return checkpoint.Checkpoint{Origin: "o", Size: size, Hash: checkpoint.Hash(m.tree.HashAt(size))}
}

// tile computes tile (level, index) of the tree at size.
func (m *memLog) tile(level, index, size uint64) []byte {
	var out []byte
	span := uint64(1) << (8 * level)
	for i := uint64(0); i < TileWidth; i++ {
		lo := (index*TileWidth + i) * span
		hi := lo + span
		if hi > size {
			break
		}
		out = append(out, m.subtree(lo, hi)...)
	}
	return out
}

// subtree hashes entries [lo, hi) (a perfect subtree).
func (m *memLog) subtree(lo, hi uint64) []byte {
	if hi-lo == 1 {
		return m.tree.LeafHash(lo)
	}
	mid := (lo + hi) / 2
	return rfc6962.DefaultHasher.HashChildren(m.subtree(lo, mid), m.subtree(mid, hi))
}

func (m *memLog) handler(size uint64, served *[]string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := ParsePath(strings.TrimPrefix(r.URL.Path, "/"))
		if err != nil || res.Entries {
			http.NotFound(w, r)
			return
		}
		*served = append(*served, res.Path())
		d := m.tile(res.Level, res.Index, size)
		if res.Width == 0 && len(d) != MaxTileSize || res.Width != 0 && len(d) < int(res.Width)*32 {
			http.NotFound(w, r)
			return
		}
		if res.Width != 0 {
			d = d[:int(res.Width)*32]
		}
		w.Write(d)
	})
}

func TestProver(t *testing.T) {
	m := newMemLog(70000)
	var served []string
	srv := httptest.NewServer(m.handler(70000, &served))
	defer srv.Close()
	r, err := NewHTTPReader([]string{"http://127.0.0.1:1/down", srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	p := NewProver(r, 64)
	ctx := context.Background()
	for _, size := range []uint64{1, 255, 256, 257, 65536, 70000} {
		cp := m.cp(size)
		for _, idx := range []uint64{0, size / 2, size - 1} {
			pr, err := p.InclusionProof(ctx, cp, idx)
			if err != nil {
				t.Fatalf("size %d index %d: %v", size, idx, err)
			}
			if err := checkpoint.VerifyInclusion(cp, idx, []byte(fmt.Sprintf("entry %d", idx)), pr); err != nil {
				t.Errorf("size %d index %d: %v", size, idx, err)
			}
		}
		for _, old := range []uint64{1, size / 3, size - 1} {
			if old == 0 {
				continue
			}
			pr, err := p.ConsistencyProof(ctx, old, cp)
			if err != nil {
				t.Fatalf("%d -> %d: %v", old, size, err)
			}
			if err := checkpoint.VerifyConsistency(m.cp(old), cp, pr); err != nil {
				t.Errorf("%d -> %d: %v", old, size, err)
			}
		}
	}
	hs, err := p.LeafHashes(ctx, m.cp(70000), 273)
	if err != nil || len(hs) != 112 || hs[0] != checkpoint.LeafHash([]byte("entry 69888")) {
		t.Errorf("LeafHashes: %d %v", len(hs), err)
	}
	// A tile that does not match the checkpoint is refused.
	bad := m.cp(70000)
	bad.Hash[0] ^= 1
	if _, err := NewProver(r, 0).InclusionProof(ctx, bad, 5); err == nil {
		t.Error("proof against a wrong root succeeded")
	}
}

func TestHTTPReaderBounds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/checkpoint":
			w.Write([]byte(strings.Repeat("x", MaxCheckpointSize+1)))
		case "/tile/0/000":
			w.Write(make([]byte, MaxTileSize+32))
		case "/tile/0/001.p/3":
			w.Write(make([]byte, 64))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	r, _ := NewHTTPReader([]string{srv.URL})
	ctx := context.Background()
	if _, err := r.ReadCheckpoint(ctx); err == nil || !strings.Contains(err.Error(), "over the limit") {
		t.Errorf("oversized checkpoint: %v", err)
	}
	if _, err := r.ReadTile(ctx, 0, 0, 0); err == nil {
		t.Error("oversized tile accepted")
	}
	if _, err := r.ReadTile(ctx, 0, 1, 3); err == nil {
		t.Error("short partial tile accepted")
	}
	if _, err := r.ReadEntryBundle(ctx, 0, 0); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing bundle: %v", err)
	}
	if _, err := NewHTTPReader([]string{"ftp://x"}); err == nil {
		t.Error("non-http URL accepted")
	}
}
