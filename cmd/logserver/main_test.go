package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"treelog/index"
	"treelog/internal/testkit/proc"
	"treelog/manifest"
	"treelog/metamanifest"
	"treelog/note"
	"treelog/tiles"
)

type keys struct {
	logSK, logVK, pubSK, pubVK string
	pub                        note.Signer
}

func newKeys(t testing.TB) keys {
	var k keys
	k.logSK, k.logVK, _ = note.GenerateKey(nil, "log.example", note.TypeEd25519)
	k.pubSK, k.pubVK, _ = note.GenerateKey(nil, "publisher.example/k", note.TypeEd25519)
	k.pub, _ = note.NewSigner(k.pubSK)
	return k
}

// writeFiles writes dir/log.key and dir/publishers, where k's publisher
// key may publish example.org/o0 ... o<n-1>, and returns the flags that
// name them.
func (k keys) writeFiles(t testing.TB, dir string, n int) []string {
	var pubs strings.Builder
	for i := range n {
		fmt.Fprintf(&pubs, "publisher example.org/o%d %s\n", i, k.pubVK)
	}
	keyPath, pubsPath := filepath.Join(dir, "log.key"), filepath.Join(dir, "publishers")
	if err := os.WriteFile(keyPath, []byte(k.logSK), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pubsPath, []byte(pubs.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"--key", keyPath, "--publishers", pubsPath}
}

func metaManifest(t testing.TB, s note.Signer, origin string, ts time.Time) []byte {
	m := &metamanifest.MetaManifest{Origin: origin, Timestamp: ts.UTC().Truncate(time.Second), ManifestSize: 1,
		ManifestHashes: manifest.HashBytes([]byte(origin+ts.String()), metamanifest.Hashes)}
	b, err := metamanifest.Sign(m, s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func postMM(t testing.TB, base string, body []byte) (int, string) {
	resp, err := http.Post(base+"/add", "text/plain", bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The daemon as an operator runs it: a --config file, publishers reloaded
// on SIGHUP, /metrics, a graceful SIGTERM.
func TestDaemon(t *testing.T) {
	dir := t.TempDir()
	bin, err := proc.Build("treelog/cmd/logserver", dir)
	if err != nil {
		t.Fatal(err)
	}
	k := newKeys(t)
	os.WriteFile(filepath.Join(dir, "log.key"), []byte(k.logSK), 0o600)
	os.WriteFile(filepath.Join(dir, "publishers"), []byte("publisher example.org/a "+k.pubVK+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "log.conf"), []byte(fmt.Sprintf("key %s\npublishers %s\nstorage %s\ncheckpoint-interval 200ms\n",
		filepath.Join(dir, "log.key"), filepath.Join(dir, "publishers"), filepath.Join(dir, "storage"))), 0o644)
	p, err := proc.Start(bin, "--config", filepath.Join(dir, "log.conf"), "--listen", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	now := time.Now()
	first := metaManifest(t, k.pub, "example.org/a", now)
	code, body := postMM(t, p.URL(), first)
	var firstIdx uint64
	if _, err := fmt.Sscanf(body, "index %d\n", &firstIdx); code != 200 || err != nil || firstIdx > 1 {
		// The log's first index entry may come first.
		t.Fatalf("add: %d %q", code, body)
	}
	if code, _ := postMM(t, p.URL(), metaManifest(t, k.pub, "example.org/b", now)); code != 403 {
		t.Fatalf("origin b before reload: %d", code)
	}
	os.WriteFile(filepath.Join(dir, "publishers"), []byte("publisher example.org/a "+k.pubVK+"\npublisher example.org/b "+k.pubVK+"\n"), 0o644)
	p.Cmd.Process.Signal(syscall.SIGHUP)
	ok := false
	for range 100 {
		if code, _ := postMM(t, p.URL(), metaManifest(t, k.pub, "example.org/b", now)); code == 200 {
			ok = true
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !ok {
		t.Fatal("origin b not accepted after SIGHUP")
	}
	resp, err := http.Get(p.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"treelog_log_entries_accepted_total 2", `treelog_log_entries_rejected_total{reason="unauthorized"}`, "treelog_log_checkpoint_size"} {
		if !bytes.Contains(m, []byte(want)) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// The entries are the MetaManifests acknowledged, under a checkpoint
	// the log signed, TIMESTAMPs increasing per origin.
	lv, _ := note.NewVerifier(k.logVK)
	r, _ := tiles.NewHTTPReader([]string{p.URL()})
	checkLog(t, r, waitCheckpoint(t, r, lv, 2), map[uint64][]byte{firstIdx: first})
	// The log's first index entry is served once a checkpoint covers it.
	for i := 0; ; i++ {
		if _, err := index.ReadLatest(context.Background(), r); err == nil {
			break
		} else if i == 200 {
			t.Fatalf("no index/latest after 10s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Stop(ctx); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, p.Logs())
	}
	if !strings.Contains(p.Logs(), "msg=stopped") {
		t.Errorf("no graceful stop:\n%s", p.Logs())
	}
	// The storage directory is the static tlog-tiles tree, with the index.
	if b, err := os.ReadFile(filepath.Join(dir, "storage", "checkpoint")); err != nil || !bytes.HasPrefix(b, []byte("log.example\n")) {
		t.Errorf("static checkpoint: %v\n%s", err, b)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "storage", "index", "latest")); err != nil || !bytes.HasPrefix(b, []byte("c2sp.org/tlog-proof@v1\nextra ")) {
		t.Errorf("static index/latest: %v\n%s", err, b)
	}
}

// TestUsage: configuration mistakes are usage errors naming the flag or
// file, found before the port is taken and before any storage is created.
func TestUsage(t *testing.T) {
	dir := t.TempDir()
	k := newKeys(t)
	flags := k.writeFiles(t, dir, 1)
	wsk, _, _ := note.GenerateKey(nil, "witness.example/w1", note.TypeCosignatureV1)
	os.WriteFile(filepath.Join(dir, "witness.key"), []byte(wsk), 0o600)
	os.WriteFile(filepath.Join(dir, "empty"), []byte("# publishers to come\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "nowitness"), []byte("group g any\nquorum g\n"), 0o644)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	storage := filepath.Join(dir, "storage")
	f := func(name string) string { return filepath.Join(dir, name) }
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--help"}, 0, "POST /add"},
		{nil, 2, "--key and --publishers are required"},
		{[]string{"--key", "k", "--publishers", "p"}, 2, "give either --storage DIR"},
		{[]string{"--key", "k", "--publishers", "p", "--storage", "d", "--mysql-dsn", "x"}, 2, "give either"},
		{[]string{"--bogus"}, 2, "unknown flag"},
		{[]string{"--key", f("nokey"), "--publishers", flags[3], "--storage", storage}, 2, "logserver: --key: open " + f("nokey")},
		{[]string{"--key", f("witness.key"), "--publishers", flags[3], "--storage", storage}, 2,
			"logserver: --key " + f("witness.key") + ": key witness.example/w1 is of type 0x04 (a witness's cosignature/v1 key?), not a log's Ed25519 (0x01) key"},
		{[]string{"--key", flags[1], "--publishers", f("empty"), "--storage", storage}, 2, "logserver: --publishers: publishers file " + f("empty") + " lists no publisher"},
		{[]string{"--key", flags[1], "--publishers", flags[3], "--witness-policy", f("nowitness"), "--storage", storage}, 2, "--witness-policy"},
		{[]string{"--key", flags[1], "--publishers", flags[3], "--storage", storage, "--listen", busy.Addr().String()}, 2, "logserver: --listen: listen tcp " + busy.Addr().String()},
	} {
		var out bytes.Buffer
		code := run(tc.args, &out, &out, nil)
		if code != tc.code || !strings.Contains(out.String(), tc.want) {
			t.Errorf("logserver %v: %d %q", tc.args, code, out.String())
		}
		if _, err := os.Stat(storage); err == nil {
			t.Fatalf("logserver %v created its storage before failing", tc.args)
		}
	}
	var out bytes.Buffer
	run([]string{"--help"}, &out, &out, nil)
	if strings.Contains(out.String(), "embedded") || !strings.Contains(out.String(), "--storage string") {
		t.Errorf("--storage help:\n%s", out.String())
	}
}
