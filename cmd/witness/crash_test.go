//go:build crash

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"treelog/checkpoint"
	"treelog/internal/testkit/proc"
	"treelog/internal/testkit/testlog"
	"treelog/note"
)

// TestCrash kills the witness with SIGKILL under load from several logs,
// restarts it on the same database, and checks that it never lost a
// cosigned checkpoint and never cosigns one inconsistent with what it
// cosigned before the crash. Run by scripts/heavy (go test -tags crash).
func TestCrash(t *testing.T) {
	dir := t.TempDir()
	bin, err := proc.Build("treelog/cmd/witness", dir)
	if err != nil {
		t.Fatal(err)
	}
	sk, vk, _ := note.GenerateKey(nil, "witness.example/crash", note.TypeCosignatureV1)
	os.WriteFile(filepath.Join(dir, "w.key"), []byte(sk+"\n"), 0o600)
	wv, _ := note.NewCosignatureVerifier(vk)
	const nlogs = 8
	logs := make([]*testlog.Log, nlogs)
	var cfg strings.Builder
	for i := range logs {
		logs[i], _ = testlog.New(fmt.Sprintf("example.org/log%d", i))
		logs[i].Grow(1)
		fmt.Fprintf(&cfg, "log %s\n", logs[i].VKey)
	}
	os.WriteFile(filepath.Join(dir, "logs"), []byte(cfg.String()), 0o644)
	args := []string{"serve", "--key", filepath.Join(dir, "w.key"), "--logs", filepath.Join(dir, "logs"), "--db", filepath.Join(dir, "w.db"), "--listen", "127.0.0.1:0"}

	// acked[i] is the largest size whose cosignature a client received.
	acked := make([]uint64, nlogs)
	client := &http.Client{Timeout: 5 * time.Second}
	const rounds = 5
	for round := range rounds + 1 {
		p, err := proc.Start(bin, args...)
		if err != nil {
			t.Fatal(err)
		}
		// Durability: the witness restarted knows at least what it acked.
		for i, l := range logs {
			size := witnessSize(t, client, p.URL(), l)
			if size < acked[i] {
				t.Fatalf("round %d: log %d: witness is at size %d after the crash, but cosigned %d before it", round, i, size, acked[i])
			}
			if size > 0 {
				// Never inconsistent: a fork of the log is refused.
				fork := l.Fork()
				fork.Grow(int(size) + 3)
				if code, _ := postBody(client, p.URL(), fork.WitnessRequest(size, size+3)); code != 422 {
					t.Fatalf("round %d: log %d: fork grown from the cosigned size: %d, want 422", round, i, code)
				}
				if code, _ := postBody(client, p.URL(), forkAtSize(l, fork, size)); code != 422 {
					t.Fatalf("round %d: log %d: same size, other root: %d, want 422", round, i, code)
				}
				// Its checkpoint is one of ours: same root at that size.
				cp := monitorCheckpoint(t, client, p.URL(), l)
				c, _ := checkpoint.ParseText(cp.Text)
				if c.Hash != l.Root(c.Size) {
					t.Fatalf("round %d: log %d: stored root at size %d is not the log's", round, i, c.Size)
				}
			}
		}
		if round == rounds {
			p.Stop(context.Background())
			break
		}
		// Load: every log grows and asks for cosignatures until the kill.
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i, l := range logs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(round), uint64(i)))
				old := witnessSize(t, client, p.URL(), l)
				for ctx.Err() == nil {
					if l.Size() < old+5 {
						l.Grow(5)
					}
					size := old + uint64(r.IntN(5))
					code, body := postBody(client, p.URL(), l.WitnessRequest(old, size))
					switch code {
					case 200:
						n, err := note.Open(append(l.Checkpoint(size), body...), wv)
						if err != nil || len(n.Sigs) != 1 {
							t.Errorf("invalid cosignature %q: %v", body, err)
							return
						}
						mu.Lock()
						acked[i] = max(acked[i], size)
						mu.Unlock()
						old = size
					case 409:
						old, _ = strconv.ParseUint(strings.TrimSpace(body), 10, 64)
					case 0:
						time.Sleep(10 * time.Millisecond) // being killed
					default:
						t.Errorf("log %d: %d %s", i, code, body)
						return
					}
				}
			}()
		}
		time.Sleep(time.Duration(300+rand.IntN(700)) * time.Millisecond)
		p.Kill()
		cancel()
		wg.Wait()
		t.Logf("round %d: killed; acked sizes %v", round, acked)
	}
}

func postBody(c *http.Client, base string, body []byte) (int, string) {
	resp, err := c.Post(base+"/add-checkpoint", "text/plain", bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// witnessSize learns the witness's size for a log with an old=0 probe.
func witnessSize(t *testing.T, c *http.Client, base string, l *testlog.Log) uint64 {
	t.Helper()
	code, body := postBody(c, base, l.WitnessRequest(0, 0))
	switch code {
	case 409:
		n, err := strconv.ParseUint(strings.TrimSpace(body), 10, 64)
		if err != nil {
			t.Fatalf("409 body %q", body)
		}
		return n
	case 200:
		return 0
	}
	t.Fatalf("probe: %d %s", code, body)
	return 0
}

func forkAtSize(l, fork *testlog.Log, size uint64) []byte {
	cp, _ := checkpoint.Sign(checkpoint.Checkpoint{Origin: l.Signer.Name(), Size: size, Hash: fork.Root(size)}, l.Signer)
	return append(fmt.Appendf(nil, "old %d\n\n", size), cp...)
}

func monitorCheckpoint(t *testing.T, c *http.Client, base string, l *testlog.Log) *note.Note {
	t.Helper()
	resp, err := c.Get(fmt.Sprintf("%s/%x/checkpoint", base, checkpoint.OriginHash(l.Signer.Name())))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	lv, _ := note.NewVerifier(l.VKey)
	n, err := note.Open(b, lv)
	if err != nil {
		t.Fatalf("monitoring checkpoint: %v\n%s", err, b)
	}
	return n
}
