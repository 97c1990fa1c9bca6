package client_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"treelog/checkpoint"
	"treelog/client"
	"treelog/metamanifest"
	"treelog/policy"
)

// TestConcurrentVerifies runs two verifications at once against one state
// directory: one sees the log as it is, the other through a stale copy of
// the log that still serves an old (but witnessed) checkpoint. Whichever
// saves last, the state must keep the newer checkpoint: without the state
// lock, the stale run could roll it back.
func TestConcurrentVerifies(t *testing.T) {
	w := newWorld(t)
	_, proof0 := metamanifest.Paths(w.snapshots[0])
	pf, err := checkpoint.ParseProof(read(t, proof0))
	if err != nil {
		t.Fatal(err)
	}
	logFiles := http.FileServer(http.Dir(filepath.Join(w.n.Dir, "log")))
	stale := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/checkpoint" {
			rw.Write(pf.Checkpoint)
			return
		}
		logFiles.ServeHTTP(rw, r)
	}))
	defer stale.Close()
	pol, _ := policy.Parse(mustRead(w.n.PolicyFile))
	latest, err := pol.Verify(read(t, filepath.Join(w.n.Dir, "log", "checkpoint")))
	if err != nil {
		t.Fatal(err)
	}

	for round := range 10 {
		state := t.TempDir()
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, run := range []struct {
			dir string
			url string
		}{{w.snapshots[2], w.n.LogURL}, {w.snapshots[0], stale.URL}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cfg := w.cfg(state)
				cfg.LogURLs = []string{run.url}
				_, errs[i] = client.Verify(ctx, run.dir, cfg)
			}()
		}
		wg.Wait()
		if errs[0] != nil {
			t.Fatalf("round %d, the up-to-date run: %v", round, errs[0])
		}
		// The stale run verifies an older snapshot: if the other run saved
		// first, that is a rollback for this client, and refused as one.
		var f *client.Failure
		if errs[1] != nil && !(errors.As(errs[1], &f) && f.Check == client.CheckReplay && strings.Contains(f.Msg, "rollback")) {
			t.Fatalf("round %d, the stale run: %v", round, errs[1])
		}
		st, err := client.LoadState(state)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := checkpoint.Open(st.Logs[w.n.LogSigner.Name()].Checkpoint, w.pol.Logs[0].Verifier())
		if err != nil {
			t.Fatal(err)
		}
		if cp.Size < latest.Checkpoint.Size {
			t.Fatalf("round %d: the stored checkpoint rolled back to size %d (the log's is %d)", round, cp.Size, latest.Checkpoint.Size)
		}
		if ts := st.Trees[w.n.Opts.TreeOrigin]; !ts.Timestamp.Equal(w.times[2]) {
			t.Fatalf("round %d: the stored snapshot is %v, not the newest %v", round, ts.Timestamp, w.times[2])
		}
	}
}
