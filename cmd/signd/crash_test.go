//go:build crash

package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"treelog/internal/testkit/proc"
	"treelog/signd"
	"treelog/signer"
)

// TestCrash kills the daemon with SIGKILL while several origins ask for
// signatures, restarts it, and checks that it lost nothing it answered:
// every signature a caller received is in the journal, the journal parses,
// and no TIMESTAMP at or below one answered is signed again. Run by
// scripts/heavy (go test -tags crash).
func TestCrash(t *testing.T) {
	origins := []string{"example.org/a", "example.org/b", "example.org/c", "example.org/d"}
	s := newSetup(t, origins...)
	bin, err := proc.Build("treelog/cmd/signd", s.dir)
	if err != nil {
		t.Fatal(err)
	}
	// acked[i] holds every signature a caller received for origin i.
	acked := make([]map[string]time.Time, len(origins))
	for i := range acked {
		acked[i] = map[string]time.Time{}
	}
	last := make([]time.Time, len(origins)) // the newest TIMESTAMP answered
	var mu sync.Mutex
	const rounds = 5
	for round := range rounds + 1 {
		p, err := proc.Start(bin, s.args...)
		if err != nil {
			t.Fatal(err)
		}
		if out, rc := runCmd("unlock", "--admin-socket", s.admin, "--passphrase-file", s.passFile); rc != 0 {
			t.Fatalf("round %d: unlock: %s", round, out)
		}
		recs, _, err := signd.ReadJournal(s.journal)
		if err != nil {
			t.Fatalf("round %d: the journal after a crash: %v", round, err)
		}
		inJournal := map[string]bool{}
		for _, r := range recs {
			inJournal[string(r.MetaManifest)] = true
		}
		for i := range origins {
			for sig := range acked[i] {
				if !inJournal[sig] {
					t.Fatalf("round %d: a signature answered for %s is not in the journal:\n%s", round, origins[i], sig)
				}
			}
			if !last[i].IsZero() {
				// The newest answered TIMESTAMP is never signed again.
				s.makeTree(t, i, last[i])
				if _, err := s.sign(s.request(t, i)); !refusedWith(err, signer.CodeStale) {
					t.Fatalf("round %d: %s at its last answered TIMESTAMP %s after a crash: %v", round, origins[i], last[i], err)
				}
			}
		}
		if round == rounds {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			p.Stop(ctx)
			cancel()
			break
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for i := range origins {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ts := last[i]
				if ts.IsZero() {
					ts = time.Now().Add(-time.Hour).Truncate(time.Second)
				}
				for ctx.Err() == nil {
					ts = ts.Add(time.Second)
					s.makeTree(t, i, ts)
					msg, err := s.sign(s.request(t, i))
					switch {
					case err == nil:
						mu.Lock()
						acked[i][string(msg)] = ts
						last[i] = ts
						mu.Unlock()
					case refusedWith(err, signer.CodeStale):
						// Signed before a crash but never answered: the
						// TIMESTAMP is used up; go on with the next.
					case errors.Is(err, signer.ErrUnavailable):
						time.Sleep(10 * time.Millisecond) // being killed
					default:
						t.Errorf("%s: %v", origins[i], err)
						return
					}
				}
			}()
		}
		time.Sleep(time.Duration(300+rand.IntN(700)) * time.Millisecond)
		p.Kill()
		cancel()
		wg.Wait()
		n := 0
		for i := range acked {
			n += len(acked[i])
		}
		t.Logf("round %d: killed; %d signatures answered so far", round, n)
	}
}
