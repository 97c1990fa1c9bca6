//go:build crash

package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"treelog/checkpoint"
	"treelog/internal/testkit/proc"
	"treelog/note"
	"treelog/tiles"
)

// TestCrash kills the log server with SIGKILL during a stream of
// submissions, restarts it, and checks: every entry whose index was
// returned is in the log with those bytes, the log is consistent with the
// last checkpoint seen before the crash, and TIMESTAMPs still strictly
// increase per origin (the rule survives the restart). Run by scripts/heavy.
func TestCrash(t *testing.T) {
	dir := t.TempDir()
	bin, err := proc.Build("treelog/cmd/logserver", dir)
	if err != nil {
		t.Fatal(err)
	}
	k := newKeys(t)
	const norigins = 4
	files := k.writeFiles(t, dir, norigins)
	args := append(files,
		"--storage", filepath.Join(dir, "storage"), "--checkpoint-interval", "100ms", "--batch-max-age", "20ms", "--listen", "127.0.0.1:0",
		"--index-interval", "100ms") // index entries written all the time, crashes among them
	lv, _ := note.NewVerifier(k.logVK)

	acked := map[uint64][]byte{} // index -> bytes the log acknowledged
	var mu sync.Mutex
	next := make([]time.Time, norigins)    // next TIMESTAMP per origin
	ackedTS := make([]time.Time, norigins) // newest acknowledged TIMESTAMP per origin
	for i := range next {
		next[i] = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	var lastCP *checkpoint.Signed
	ctx := context.Background()
	for round := range 4 {
		p, err := proc.Start(bin, args...)
		if err != nil {
			t.Fatal(err)
		}
		r, _ := tiles.NewHTTPReader([]string{p.URL()})
		// After a restart: consistent with what we saw, and holding every
		// acknowledged entry.
		if round > 0 {
			cp := waitCheckpoint(t, r, lv, above(acked))
			if lastCP != nil {
				prf, err := tiles.NewProver(r, 0).ConsistencyProof(ctx, lastCP.Size, cp.Checkpoint)
				if err == nil {
					err = checkpoint.VerifyConsistency(lastCP.Checkpoint, cp.Checkpoint, prf)
				}
				if err != nil {
					t.Fatalf("round %d: log after the crash is not consistent with %d: %v", round, lastCP.Size, err)
				}
			}
			checkLog(t, r, cp, acked)
			// The TIMESTAMP rule survived: an older TIMESTAMP is refused.
			old := metaManifest(t, k.pub, "example.org/o0", ackedTS[0].Add(-30*time.Second))
			if code, body := postMM(t, p.URL(), old); code != 409 {
				t.Fatalf("round %d: stale TIMESTAMP after restart: %d %s", round, code, body)
			}
		}
		// A stream of submissions from several publishers, killed midway.
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for o := range norigins {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					mu.Lock()
					next[o] = next[o].Add(time.Minute)
					ts := next[o]
					mu.Unlock()
					body := metaManifest(t, k.pub, fmt.Sprintf("example.org/o%d", o), ts)
					code, resp := postMM(t, p.URL(), body)
					if code != 200 {
						continue // killed, or a refusal we check below
					}
					idx, err := strconv.ParseUint(strings.TrimPrefix(strings.SplitN(resp, "\n", 2)[0], "index "), 10, 64)
					if err != nil {
						t.Errorf("answer %q", resp)
						return
					}
					mu.Lock()
					acked[idx] = body
					ackedTS[o] = ts
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Duration(400+rand.IntN(800)) * time.Millisecond)
		if raw, err := r.ReadCheckpoint(ctx); err == nil {
			if c, err := checkpoint.Open(raw, lv); err == nil {
				lastCP = c
			}
		}
		p.Kill()
		close(stop)
		wg.Wait()
		t.Logf("round %d: killed with %d entries acknowledged", round, len(acked))
	}
	// A last start: everything acknowledged is there, timestamps increase.
	p, err := proc.Start(bin, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	r, _ := tiles.NewHTTPReader([]string{p.URL()})
	checkLog(t, r, waitCheckpoint(t, r, lv, above(acked)), acked)
}

// above returns one past the largest index acknowledged: the log holds
// index entries too, so more entries than were acknowledged.
func above(acked map[uint64][]byte) uint64 {
	var n uint64
	for i := range acked {
		n = max(n, i+1)
	}
	return n
}
