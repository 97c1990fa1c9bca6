package log_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	tclient "github.com/transparency-dev/tessera/client"

	"treelog/checkpoint"
	"treelog/demo/network"
	"treelog/log"
	"treelog/manifest"
	"treelog/metamanifest"
	"treelog/note"
	"treelog/policy"
	"treelog/tiles"
	"treelog/trust"
	"treelog/witness"
)

var ctx = context.Background()

// start starts a network whose log keeps no index, unless opts say
// otherwise: these tests count entries (index_test.go tests the index).
func start(t *testing.T, opts ...network.Options) *network.Network {
	t.Helper()
	o := network.Options{IndexInterval: -1}
	if len(opts) > 0 {
		o = opts[0]
	}
	n, err := network.Start(ctx, t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

var base = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func mmF(t testing.TB, n *network.Network, days int) []byte {
	return mm(t, n.Publisher, "example.org/tree", days)
}

// mm signs a MetaManifest for origin at base+days with signer.
func mm(t testing.TB, s note.Signer, origin string, days int) []byte {
	t.Helper()
	m := &metamanifest.MetaManifest{Origin: origin, Timestamp: base.Add(time.Duration(days) * 24 * time.Hour),
		ManifestSize: 100, ManifestHashes: manifest.HashBytes([]byte(fmt.Sprint(origin, days)), metamanifest.Hashes)}
	b, err := metamanifest.Sign(m, s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func post(t *testing.T, u string, body []byte) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Post(u, "text/plain", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestAddAndProof(t *testing.T) {
	n := start(t)
	pol, err := policy.Parse(readFile(t, n.PolicyFile))
	if err != nil {
		t.Fatal(err)
	}
	var entries [][]byte
	for day := range 5 {
		e := mm(t, n.Publisher, "example.org/tree", day)
		entries = append(entries, e)
		code, body, hdr := post(t, n.LogURL+"/add?wait=20s", e)
		if code != 200 || hdr.Get("Content-Type") != "text/x.tlog-proof" {
			t.Fatalf("day %d: %d %s", day, code, body)
		}
		r, err := pol.VerifyProof([]byte(body), e)
		if err != nil {
			t.Fatalf("day %d: proof does not verify: %v\n%s", day, err, body)
		}
		if r.Index() != uint64(day) || hdr.Get("Treelog-Index") != strconv.Itoa(day) {
			t.Errorf("day %d: index %d", day, r.Index())
		}
		if !r.QuorumMet || len(r.Cosigned) < 2 {
			t.Errorf("day %d: %s", day, r.Summary())
		}
	}
	// Proofs by index later, against the newest checkpoint; checked with
	// tessera's client and transparency-dev/merkle too.
	resp, err := http.Get(n.LogURL + "/proof/1")
	if err != nil {
		t.Fatal(err)
	}
	pb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	pr, err := checkpoint.ParseProof(pb)
	if err != nil {
		t.Fatal(err)
	}
	lv, _ := note.NewVerifier(n.LogVKey)
	cp, err := checkpoint.Open(pr.Checkpoint, lv)
	if err != nil || cp.Size != 5 {
		t.Fatalf("proof checkpoint: %v %+v", err, cp)
	}
	hashes := make([][]byte, len(pr.Inclusion))
	for i := range pr.Inclusion {
		hashes[i] = pr.Inclusion[i][:]
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, 1, 5, rfc6962.DefaultHasher.HashLeaf(entries[1]), hashes, cp.Hash[:]); err != nil {
		t.Errorf("merkle/proof rejects our inclusion proof: %v", err)
	}
	u, _ := url.Parse(n.LogURL + "/")
	f, err := tclient.NewHTTPFetcher(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	pbld, err := tclient.NewProofBuilder(ctx, cp.Size, f.ReadTile)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := pbld.InclusionProof(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range tp {
		if !bytes.Equal(tp[i], hashes[i]) {
			t.Fatalf("tessera's proof differs from ours at %d", i)
		}
	}
	// tessera's client reads our entry bundles through our read API.
	bundle, err := tclient.GetEntryBundle(ctx, f.ReadEntryBundle, 0, cp.Size)
	if err != nil || len(bundle.Entries) != 5 || !bytes.Equal(bundle.Entries[3], entries[3]) {
		t.Errorf("tessera's client reading entries: %v", err)
	}
	// A proof for an entry not covered yet is a 404.
	resp, _ = http.Get(n.LogURL + "/proof/99")
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("/proof/99: %d", resp.StatusCode)
	}
}

func TestRejections(t *testing.T) {
	n := start(t)
	e0 := mm(t, n.Publisher, "example.org/tree", 5)
	if code, body, _ := post(t, n.LogURL+"/add?wait=20s", e0); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	other, _ := note.NewSigner(mustKey(t, "someone.else/key"))
	huge := append(mm(t, n.Publisher, "example.org/tree", 9), bytes.Repeat([]byte("x"), metamanifest.MaxSize)...)
	for _, tc := range []struct {
		name string
		body []byte
		code int
		want string
	}{
		{"malformed", []byte("hello\n"), 400, "malformed"},
		{"unknown key", mm(t, other, "example.org/tree", 6), 403, "not signed by a key allowed to publish"},
		{"origin nobody may publish", mm(t, n.Publisher, "other.org/tree", 6), 403, "no publisher key"},
		{"same TIMESTAMP", mm(t, n.Publisher, "example.org/tree", 5)[:0:0], 400, ""},
		{"older TIMESTAMP", mm(t, n.Publisher, "example.org/tree", 4), 409, "is not newer than 2026-11-06T00:00:00Z, already logged at index 0"},
		{"future TIMESTAMP", futureMM(t, n), 422, "in the future"},
		{"too large", huge, 413, "over"},
	} {
		if tc.name == "same TIMESTAMP" {
			// Another MetaManifest with the same TIMESTAMP (other content).
			m := &metamanifest.MetaManifest{Origin: "example.org/tree", Timestamp: base.Add(5 * 24 * time.Hour), ManifestSize: 1, ManifestHashes: manifest.HashBytes([]byte("x"), metamanifest.Hashes)}
			tc.body, _ = metamanifest.Sign(m, n.Publisher)
			tc.code, tc.want = 409, "is not newer than"
		}
		code, body, _ := post(t, n.LogURL+"/add", tc.body)
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %q, want %d containing %q", tc.name, code, body, tc.code, tc.want)
		}
	}
	// Nothing was appended: the next entry gets index 1.
	code, body, _ := post(t, n.LogURL+"/add", mm(t, n.Publisher, "example.org/tree", 6))
	if code != 200 || body != "index 1\n" {
		t.Errorf("after rejections: %d %q", code, body)
	}
}

func futureMM(t *testing.T, n *network.Network) []byte {
	m := &metamanifest.MetaManifest{Origin: "example.org/tree", Timestamp: time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second),
		ManifestSize: 1, ManifestHashes: manifest.HashBytes([]byte("f"), metamanifest.Hashes)}
	b, _ := metamanifest.Sign(m, n.Publisher)
	return b
}

func mustKey(t *testing.T, name string) string {
	sk, _, err := note.GenerateKey(nil, name, note.TypeEd25519)
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

func TestDedupAndRestart(t *testing.T) {
	n := start(t)
	e := mm(t, n.Publisher, "example.org/tree", 1)
	e2 := mm(t, n.Publisher, "example.org/tree", 2)
	for _, b := range [][]byte{e, e, e2, e} {
		post(t, n.LogURL+"/add", b)
	}
	code, body, _ := post(t, n.LogURL+"/add", e)
	if code != 200 || body != "index 0\nduplicate\n" {
		t.Errorf("duplicate: %d %q", code, body)
	}
	// After a restart, the TIMESTAMP rule and deduplication still hold:
	// the state is rebuilt from the log.
	if err := n.StopLog(ctx); err != nil {
		t.Fatal(err)
	}
	if err := n.StartLog(ctx); err != nil {
		t.Fatal(err)
	}
	if code, body, _ := post(t, n.LogURL+"/add", e2); code != 200 || body != "index 1\nduplicate\n" {
		t.Errorf("duplicate after restart: %d %q", code, body)
	}
	if code, body, _ := post(t, n.LogURL+"/add", mm(t, n.Publisher, "example.org/tree", 1)[:0:0]); code != 400 {
		t.Errorf("empty body: %d %q", code, body)
	}
	stale := &metamanifest.MetaManifest{Origin: "example.org/tree", Timestamp: base.Add(36 * time.Hour), ManifestSize: 1, ManifestHashes: manifest.HashBytes([]byte("s"), metamanifest.Hashes)}
	sb, _ := metamanifest.Sign(stale, n.Publisher)
	if code, body, _ := post(t, n.LogURL+"/add", sb); code != 409 {
		t.Errorf("stale after restart: %d %q", code, body)
	}
	if code, body, _ := post(t, n.LogURL+"/add?wait=20s", mm(t, n.Publisher, "example.org/tree", 3)); code != 200 || !strings.Contains(body, "index 2\n") {
		t.Errorf("new entry after restart: %d %q", code, body)
	}
}

func TestReadAPI(t *testing.T) {
	n := start(t)
	for day := range 3 {
		post(t, n.LogURL+"/add?wait=20s", mm(t, n.Publisher, "example.org/tree", day))
	}
	get := func(p string, hdr map[string]string) (*http.Response, []byte) {
		req, _ := http.NewRequest("GET", n.LogURL+p, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, cp := get("/checkpoint", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-cache" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("/checkpoint: %d %v", resp.StatusCode, resp.Header)
	}
	if !bytes.HasPrefix(cp, []byte("log.treelog.example\n3\n")) {
		t.Errorf("checkpoint:\n%s", cp)
	}
	resp, tile := get("/tile/0/000.p/3", nil)
	if resp.StatusCode != 200 || len(tile) != 96 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("tile: %d %d %v", resp.StatusCode, len(tile), resp.Header)
	}
	resp, _ = get("/tile/entries/000.p/3", map[string]string{"Accept-Encoding": "gzip"})
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("entries: %d %v", resp.StatusCode, resp.Header)
	}
	for _, p := range []string{"/tile/0/000", "/tile/0/0.p/3", "/.state/treeState", "/tile/entries/001"} {
		if resp, _ := get(p, nil); resp.StatusCode != 404 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
	// Our own tiles reader verifies the entries against the checkpoint.
	r, _ := tiles.NewHTTPReader([]string{n.LogURL})
	lv, _ := note.NewVerifier(n.LogVKey)
	c, _ := checkpoint.Open(cp, lv)
	hs, err := tiles.NewProver(r, 0).LeafHashes(ctx, c.Checkpoint, 0)
	if err != nil || len(hs) != 3 {
		t.Errorf("leaf hashes: %v", err)
	}
}

func TestWaitTimesOutWithoutQuorum(t *testing.T) {
	n := start(t, network.Options{ShutdownTimeout: time.Second, IndexInterval: -1})
	post(t, n.LogURL+"/add?wait=20s", mm(t, n.Publisher, "example.org/tree", 0))
	// With two of three witnesses down the quorum cannot be met: the entry
	// is logged but no checkpoint covering it is published.
	n.StopWitness(0)
	n.StopWitness(1)
	code, body, hdr := post(t, n.LogURL+"/add?wait=2s", mm(t, n.Publisher, "example.org/tree", 1))
	if code != 202 || body != "index 1\n" || hdr.Get("Location") != "/proof/1" {
		t.Errorf("wait without quorum: %d %q %v", code, body, hdr)
	}
	resp, _ := http.Get(n.LogURL + "/proof/1")
	resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("/proof/1 without quorum: %d", resp.StatusCode)
	}
}

func readFile(t testing.TB, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNewLogBeforeWitnesses: a new log whose witnesses are not up yet
// (they start after it at boot) starts anyway, and publishes witnessed
// checkpoints once they answer.
func TestNewLogBeforeWitnesses(t *testing.T) {
	dir := t.TempDir()
	logSK, logVK, _ := note.GenerateKey(nil, "log.example/early", note.TypeEd25519)
	logSigner, _ := note.NewSigner(logSK)
	pubSK, pubVK, _ := note.GenerateKey(nil, "publisher.example", note.TypeEd25519)
	pub, _ := note.NewSigner(pubSK)
	wSK, wVK, _ := note.GenerateKey(nil, "witness.example/w1", note.TypeCosignatureV1)
	wSigner, _ := note.NewSigner(wSK)
	// A port for the witness, free now, not listened on yet.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wAddr := ln.Addr().String()
	ln.Close()

	pubs, _ := trust.ParsePublishers([]byte("publisher example.org/tree " + pubVK + "\n"))
	st, err := log.OpenPOSIX(ctx, filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	lg, err := log.New(ctx, st, log.Config{
		Signer: logSigner, Publishers: pubs, CheckpointInterval: 200 * time.Millisecond, ShutdownTimeout: time.Second,
		WitnessPolicy: []byte(fmt.Sprintf("witness w1 %s http://%s\nquorum w1\n", wVK, wAddr)),
	})
	if err != nil {
		t.Fatalf("starting a new log before its witness: %v", err)
	}
	defer lg.Close(ctx)
	logURL := httptest.NewServer(lg.Handler())
	defer logURL.Close()

	store, err := witness.OpenStore(filepath.Join(dir, "w1.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	keys, _ := policy.ParseLogList([]byte("log " + logVK + "\n"))
	if _, _, err := store.AddLogs(keys); err != nil {
		t.Fatal(err)
	}
	w, err := witness.New(wSigner, store)
	if err != nil {
		t.Fatal(err)
	}
	if ln, err = net.Listen("tcp", wAddr); err != nil {
		t.Fatalf("the witness's port was taken meanwhile: %v", err)
	}
	wsrv := &http.Server{Handler: w.Handler()}
	go wsrv.Serve(ln)
	defer wsrv.Close()

	code, body, _ := post(t, logURL.URL+"/add?wait=20s", mm(t, pub, "example.org/tree", 0))
	if code != 200 || !strings.HasPrefix(body, "c2sp.org/tlog-proof@v1\n") {
		t.Fatalf("adding once the witness is up: %d %q", code, body)
	}
	pol, err := policy.Parse([]byte(fmt.Sprintf("log %s\nwitness w1 %s\nquorum w1\n", logVK, wVK)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pol.VerifyProof([]byte(body), mm(t, pub, "example.org/tree", 0)); err != nil {
		t.Errorf("the proof does not verify under the witness: %v", err)
	}
}
