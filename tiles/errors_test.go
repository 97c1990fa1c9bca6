package tiles

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"treelog/checkpoint"
	"treelog/internal/testkit/script"
)

// TestErrorKinds: every failure is an outage (ErrUnavailable) or bad data,
// told apart by errors.Is on errors this package owns.
func TestErrorKinds(t *testing.T) {
	ctx := context.Background()
	m := newMemLog(300)
	var served []string
	good := httptest.NewServer(m.handler(300, &served))
	defer good.Close()
	busy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}))
	defer busy.Close()
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", MaxCheckpointSize+1)))
	}))
	defer huge.Close()
	// Announces 1000 bytes, sends 10, hangs up: the network failed, not
	// the data.
	cut := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.Write([]byte("0123456789"))
		w.(http.Flusher).Flush()
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	}))
	defer cut.Close()
	// Serves tiles with one bit flipped.
	flipped := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := ParsePath(strings.TrimPrefix(r.URL.Path, "/"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		d := m.tile(res.Level, res.Index, 300)
		if res.Width != 0 {
			d = d[:int(res.Width)*32]
		}
		d = append([]byte(nil), d...)
		d[0] ^= 1
		w.Write(d)
	}))
	defer flipped.Close()

	for _, tc := range []struct {
		name        string
		urls        []string
		unavailable bool
	}{
		{"connection refused", []string{script.DeadURL(t)}, true},
		{"503", []string{busy.URL}, true},
		{"404 everywhere", []string{good.URL + "/nothing"}, true},
		{"cut short", []string{cut.URL}, true},
		{"down, then 503", []string{script.DeadURL(t), busy.URL}, true},
		{"over the limit", []string{huge.URL}, false},
		// One URL served bad data: not an outage, whatever the others did.
		{"down, then over the limit", []string{script.DeadURL(t), huge.URL}, false},
	} {
		r, _ := NewHTTPReader(tc.urls)
		_, err := r.ReadCheckpoint(ctx)
		if err == nil || errors.Is(err, ErrUnavailable) != tc.unavailable {
			t.Errorf("%s: %v (unavailable: %v, want %v)", tc.name, err, errors.Is(err, ErrUnavailable), tc.unavailable)
		}
	}
	r, _ := NewHTTPReader([]string{good.URL + "/nothing"})
	if _, err := r.ReadCheckpoint(ctx); !errors.Is(err, ErrNotFound) {
		t.Errorf("404 everywhere is not ErrNotFound: %v", err)
	}

	// Proofs: tiles that do not hash to the checkpoint are ErrMismatch
	// (tlog's finding, not its text); an unreachable log is ErrUnavailable.
	r, _ = NewHTTPReader([]string{flipped.URL})
	if _, err := NewProver(r, 0).ConsistencyProof(ctx, 10, m.cp(300)); !errors.Is(err, ErrMismatch) || errors.Is(err, ErrUnavailable) {
		t.Errorf("flipped tiles: %v", err)
	}
	r, _ = NewHTTPReader([]string{script.DeadURL(t)})
	if _, err := NewProver(r, 0).InclusionProof(ctx, m.cp(300), 3); !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrMismatch) {
		t.Errorf("unreachable log: %v", err)
	}
}

// TestStoreProvesOffline: with the tiles of a checkpoint it verified kept
// (partial ones included), a party proves any smaller checkpoint
// consistent with it, or not, without the log; the store keeps one
// partial tile per position.
func TestStoreProvesOffline(t *testing.T) {
	ctx := context.Background()
	m := newMemLog(70000)
	var served []string
	srv := httptest.NewServer(m.handler(70000, &served))
	r, _ := NewHTTPReader([]string{srv.URL})
	st, err := NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st.MaxTiles = 1 << 20
	p := NewProver(r, 0).WithStore(st)
	for _, size := range []uint64{600, 70000} {
		for b := uint64(0); b*TileWidth < size; b++ {
			if _, err := p.LeafHashes(ctx, m.cp(size), b); err != nil {
				t.Fatal(err)
			}
		}
	}
	srv.Close() // the log is gone
	offline := NewProver(r, 0).WithStore(st)
	for _, old := range []uint64{1, 300, 65536, 69999} {
		pr, err := offline.ConsistencyProof(ctx, old, m.cp(70000))
		if err != nil {
			t.Fatalf("%d -> 70000 from the store: %v", old, err)
		}
		if err := checkVerify(m, old, 70000, pr); err != nil {
			t.Errorf("%d -> 70000: %v", old, err)
		}
	}
	// Only the widest partial of each position is kept.
	if _, ok := st.Get(0, 2, 88); ok {
		t.Error("the partial tile of size 600 was kept after a full one replaced it")
	}
	if _, ok := st.Get(0, 273, 112); !ok {
		t.Error("the partial level-0 tile of size 70000 was not kept")
	}
}

func checkVerify(m *memLog, old, size uint64, pr []checkpoint.Hash) error {
	return checkpoint.VerifyConsistency(m.cp(old), m.cp(size), pr)
}
