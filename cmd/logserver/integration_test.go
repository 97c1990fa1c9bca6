//go:build integration

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"treelog/checkpoint"
	"treelog/index"
	"treelog/internal/testkit/proc"
	"treelog/internal/testkit/services"
	"treelog/metamanifest"
	"treelog/note"
	"treelog/policy"
	"treelog/tiles"
	"treelog/witness"
)

// scaleOut starts MariaDB and MinIO (with a bucket) for the test, builds
// logserver, and returns it with the storage flags that put a log there.
func scaleOut(t *testing.T, dir string) (bin string, storage []string) {
	t.Helper()
	db, err := services.StartMariaDB(filepath.Join(dir, "mariadb"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Stop() })
	s3, err := services.StartMinIO(filepath.Join(dir, "minio"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s3.Stop() })
	if err := s3.CreateBucket(context.Background(), "treelog"); err != nil {
		t.Fatal(err)
	}
	if bin, err = proc.Build("treelog/cmd/logserver", dir); err != nil {
		t.Fatal(err)
	}
	return bin, []string{"--s3-bucket", "treelog", "--s3-endpoint", s3.Endpoint, "--s3-access-key", s3.AccessKey,
		"--s3-secret-key", s3.SecretKey, "--mysql-dsn", db.DSN}
}

// TestIntegrationScaleOut runs two logserver processes on one log in S3 (MinIO) and
// MySQL (MariaDB), with three witnesses, and submits to both at once —
// the same origins through both, and the same bytes twice. Every entry
// acknowledged is in the log exactly once, TIMESTAMPs strictly increase
// per origin across processes, and every proof from either process
// verifies. Run by scripts/heavy (go test -tags integration).
func TestIntegrationScaleOut(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bin, storage := scaleOut(t, dir)
	k := newKeys(t)
	const norigins = 6
	files := k.writeFiles(t, dir, norigins)

	// Three witnesses (in this process), 2 of 3.
	var wpol strings.Builder
	fmt.Fprintf(&wpol, "log %s\n", k.logVK)
	for i := range 3 {
		st, err := witness.OpenStore(filepath.Join(dir, fmt.Sprintf("w%d.db", i)))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		keys, _ := policy.ParseLogList([]byte("log " + k.logVK + "\n"))
		st.AddLogs(keys)
		sk, vk, _ := note.GenerateKey(nil, fmt.Sprintf("w%d.example", i), note.TypeCosignatureV1)
		s, _ := note.NewSigner(sk)
		w, _ := witness.New(s, st, witness.WithLogger(slog.New(slog.DiscardHandler)))
		srv := httptest.NewServer(w.Handler())
		defer srv.Close()
		fmt.Fprintf(&wpol, "witness w%d %s %s\n", i, vk, srv.URL)
	}
	wpol.WriteString("group q 2 w0 w1 w2\nquorum q\n")
	os.WriteFile(filepath.Join(dir, "witness-policy"), []byte(wpol.String()), 0o644)
	pol, err := policy.Parse([]byte(wpol.String()))
	if err != nil {
		t.Fatal(err)
	}

	args := append(append(files, storage...),
		"--witness-policy", filepath.Join(dir, "witness-policy"), "--checkpoint-interval", "1s", "--batch-max-age", "50ms", "--listen", "127.0.0.1:0", "--index-interval", "1s")
	var servers []*proc.Proc
	for range 2 {
		p, err := proc.Start(bin, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Kill()
		servers = append(servers, p)
	}

	// Each origin has one TIMESTAMP counter shared by two submitters, one
	// per server: they race for the same origin across processes.
	type acked struct {
		body []byte
		ts   time.Time
	}
	var mu sync.Mutex
	got := map[uint64]acked{}
	next := make([]time.Time, norigins)
	for i := range next {
		next[i] = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	var wg sync.WaitGroup
	deadline := time.Now().Add(6 * time.Second)
	for o := range norigins {
		for _, p := range servers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					mu.Lock()
					next[o] = next[o].Add(time.Minute)
					ts := next[o]
					mu.Unlock()
					body := metaManifest(t, k.pub, fmt.Sprintf("example.org/o%d", o), ts)
					code, resp := postMM(t, p.URL(), body)
					switch code {
					case 200:
						idx, err := strconv.ParseUint(strings.TrimPrefix(strings.SplitN(resp, "\n", 2)[0], "index "), 10, 64)
						if err != nil {
							t.Errorf("answer %q", resp)
							return
						}
						mu.Lock()
						if prev, dup := got[idx]; dup && string(prev.body) != string(body) {
							t.Errorf("index %d acknowledged for two different entries", idx)
						}
						got[idx] = acked{body, ts}
						mu.Unlock()
						// The same bytes through the other server: same index.
						other := servers[0]
						if other == p {
							other = servers[1]
						}
						if code, resp2 := postMM(t, other.URL(), body); code != 200 || !strings.HasPrefix(resp2, fmt.Sprintf("index %d\n", idx)) {
							t.Errorf("duplicate through the other server: %d %q, want index %d", code, resp2, idx)
						}
					case 409, 503:
						// The other process logged a newer TIMESTAMP first,
						// or is logging one of this origin right now.
					default:
						t.Errorf("%s: %d %s", p.URL(), code, resp)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	if len(got) < 20 {
		t.Fatalf("only %d entries acknowledged", len(got))
	}
	t.Logf("%d entries acknowledged by two processes", len(got))
	var maxAcked uint64
	for idx := range got {
		maxAcked = max(maxAcked, idx)
	}

	// Read the whole log through one server's read API, once it covers
	// every acknowledged entry (index entries are among them too).
	lv, _ := note.NewVerifier(k.logVK)
	r, _ := tiles.NewHTTPReader([]string{servers[0].URL(), servers[1].URL()})
	var cp *checkpoint.Signed
	for range 300 {
		if raw, err := r.ReadCheckpoint(ctx); err == nil {
			if c, err := checkpoint.Open(raw, lv); err == nil && c.Size > maxAcked {
				cp = c
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if cp == nil {
		t.Fatal("no checkpoint covering the acknowledged entries")
	}
	checkLog(t, r, cp, func() map[uint64][]byte {
		m := map[uint64][]byte{}
		for i, a := range got {
			m[i] = a.body
		}
		return m
	}())
	seen := map[string]uint64{}
	for b := uint64(0); b*tiles.TileWidth < cp.Size; b++ {
		w, _ := tiles.BundleWidth(b, cp.Size)
		data, _ := r.ReadEntryBundle(ctx, b, w)
		n := tiles.TileWidth
		if w > 0 {
			n = int(w)
		}
		es, _ := tiles.ParseEntryBundle(data, n)
		for i, e := range es {
			if prev, dup := seen[string(e)]; dup {
				t.Fatalf("entry at %d is also at %d", b*tiles.TileWidth+uint64(i), prev)
			}
			seen[string(e)] = b*tiles.TileWidth + uint64(i)
		}
	}
	// The index: one process writes it (the MySQL lease), both serve it
	// from the bucket; it covers every acknowledged entry, and names each
	// origin's newest one.
	newest := map[string]uint64{}
	for idx, a := range got {
		m, _, _ := metamanifest.Parse(a.body)
		if i, ok := newest[m.Origin]; !ok || idx > i {
			newest[m.Origin] = idx
		}
	}
	for _, p := range servers {
		pr, _ := tiles.NewHTTPReader([]string{p.URL()})
		var l *index.Latest
		for range 600 {
			data, err := index.ReadLatest(ctx, pr)
			if err == nil {
				if l, err = index.VerifyLatest(pol, data); err != nil {
					t.Fatalf("index/latest from %s: %v", p.URL(), err)
				}
				if l.Entry.Size > maxAcked {
					break
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		if l == nil || l.Entry.Size <= maxAcked {
			t.Fatalf("no index from %s covering the acknowledged entries", p.URL())
		}
		for origin, idx := range newest {
			ch, _, err := index.Lookup(ctx, index.Files(pr), l.Entry.Root, origin)
			if err != nil || ch == nil || ch.Last().Index != idx {
				t.Fatalf("index from %s: newest snapshot of %s is %v (%v), want entry %d", p.URL(), origin, ch, err, idx)
			}
		}
	}
	checkLog(t, r, waitCheckpoint(t, r, lv, cp.Size+1), nil) // every index entry is what the log's entries give

	// Every proof, from either process, verifies under the witness policy.
	n := 0
	for idx, a := range got {
		p := servers[n%2]
		n++
		resp, err := http.Get(fmt.Sprintf("%s/proof/%d?wait=30s", p.URL(), idx))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if _, err := pol.VerifyProof(b, a.body); err != nil {
			t.Fatalf("proof of %d from %s: %v\n%s", idx, p.URL(), err, b)
		}
	}
}
