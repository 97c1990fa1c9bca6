package main

import (
	"context"
	"testing"
	"time"

	"treelog/checkpoint"
	"treelog/index"
	"treelog/metamanifest"
	"treelog/note"
	"treelog/tiles"
)

func waitCheckpoint(t *testing.T, r *tiles.HTTPReader, lv note.Verifier, atLeast uint64) *checkpoint.Signed {
	t.Helper()
	for range 200 {
		if raw, err := r.ReadCheckpoint(context.Background()); err == nil {
			if c, err := checkpoint.Open(raw, lv); err == nil && c.Size >= atLeast {
				return c
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no checkpoint of size >= %d", atLeast)
	return nil
}

// checkLog reads every entry and checks acknowledged ones and the per-origin
// TIMESTAMP order.
func checkLog(t *testing.T, r *tiles.HTTPReader, cp *checkpoint.Signed, acked map[uint64][]byte) {
	t.Helper()
	ctx := context.Background()
	prover := tiles.NewProver(r, 0)
	last := map[string]time.Time{}
	rp := index.NewReplayer()
	for b := uint64(0); b*tiles.TileWidth < cp.Size; b++ {
		w, _ := tiles.BundleWidth(b, cp.Size)
		data, err := r.ReadEntryBundle(ctx, b, w)
		if err != nil {
			t.Fatal(err)
		}
		n := tiles.TileWidth
		if w > 0 {
			n = int(w)
		}
		entries, err := tiles.ParseEntryBundle(data, n)
		if err != nil {
			t.Fatal(err)
		}
		leaves, err := prover.LeafHashes(ctx, cp.Checkpoint, b)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range entries {
			idx := b*tiles.TileWidth + uint64(i)
			if checkpoint.LeafHash(e) != leaves[i] {
				t.Fatalf("entry %d does not match its leaf hash", idx)
			}
			if want, ok := acked[idx]; ok && string(want) != string(e) {
				t.Fatalf("entry %d is not the one acknowledged", idx)
			}
			v, err := rp.Apply(idx, e)
			if err != nil {
				t.Fatal(err)
			}
			if v != nil {
				if v.Err != nil {
					t.Fatalf("index entry %d: %v", idx, v.Err)
				}
				continue
			}
			m, _, err := metamanifest.Parse(e)
			if err != nil {
				t.Fatalf("entry %d: %v", idx, err)
			}
			if prev, ok := last[m.Origin]; ok && !m.Timestamp.After(prev) {
				t.Fatalf("entry %d: TIMESTAMP %s of %s is not after %s", idx, m.Timestamp, m.Origin, prev)
			}
			last[m.Origin] = m.Timestamp
		}
	}
	for idx := range acked {
		if idx >= cp.Size {
			t.Fatalf("acknowledged index %d is missing (log size %d)", idx, cp.Size)
		}
	}
}
