package client_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"treelog/client"
	"treelog/demo/network"
	"treelog/demo/treegen"
	"treelog/internal/testkit/roots"
	"treelog/policy"
	"treelog/trust"
)

// rootWorld is a network whose log serves a 3-of-5 trust root for
// overlays.example/*, and a tree to publish.
type rootWorld struct {
	n        *network.Network
	pol      *policy.Policy
	h        []roots.Key
	versions [][]byte
	pin      *trust.Signed
	src      string
	dir      string
	snaps    int
}

func newRootWorld(t *testing.T) *rootWorld {
	dir := t.TempDir()
	n, err := network.Start(ctx, filepath.Join(dir, "net"), network.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	w := &rootWorld{n: n, h: roots.NewKeys(t, "root", 5), dir: dir, src: filepath.Join(dir, "src")}
	w.pol, _ = policy.Parse(mustRead(n.PolicyFile))
	v1 := roots.Sign(t, roots.First("example.org/trust", 3, w.h[:5], "overlays.example/*"), w.h[0], w.h[1], w.h[2])
	if w.pin, err = trust.Open(v1); err != nil {
		t.Fatal(err)
	}
	if err := n.AddTrustRoot(v1); err != nil {
		t.Fatal(err)
	}
	w.submit(t, v1)
	if _, err := treegen.Generate(w.src, treegen.Options{Seed: 1, Packages: 4}); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *rootWorld) submit(t *testing.T, v []byte) {
	t.Helper()
	// Wait for the witnessed checkpoint that covers it: from then on
	// every client sees it.
	resp, err := http.Post(w.n.LogURL+"/add?wait=20s", "text/plain", bytes.NewReader(v))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("submitting a version: %s: %s", resp.Status, b)
	}
	w.versions = append(w.versions, v)
}

// next makes, signs (by holders) and submits the next version.
func (w *rootWorld) next(t *testing.T, f func(*trust.Root), holders ...roots.Key) {
	t.Helper()
	w.submit(t, roots.Sign(t, roots.After(t, w.versions[len(w.versions)-1], f), holders...))
}

// publish publishes the tree as a snapshot of origin at ts, signed by k.
func (w *rootWorld) publish(t *testing.T, origin string, ts time.Time, k roots.Key) network.Snapshot {
	t.Helper()
	w.snaps++
	if _, err := treegen.Evolve(w.src, uint64(w.snaps), 1); err != nil {
		t.Fatal(err)
	}
	s, err := w.n.PublishTree(ctx, w.src, filepath.Join(w.dir, fmt.Sprintf("snap%d", w.snaps)), origin, ts, k.Signer)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (w *rootWorld) cfg(state string) client.Config {
	return client.Config{Policy: w.pol, TrustRoots: []*trust.Signed{w.pin}, StateDir: state, MaxAge: 24 * time.Hour}
}

// A client pinned to version 1 follows five rotations of the root keys
// to the version in force, and keeps them: the next run reads none again.
func TestFollowRotations(t *testing.T) {
	w := newRootWorld(t)
	alice := roots.NewKey(t, "alice")
	now := time.Now().UTC()
	holders := w.h
	for i := range 5 {
		// Each rotation replaces two of the five root keys.
		nu := append(append([]roots.Key(nil), holders[2:]...), roots.NewKeys(t, fmt.Sprintf("root-r%d", i+1), 2)...)
		w.next(t, func(r *trust.Root) {
			r.Keys = roots.Keys(nu...)
			if i == 2 {
				r.Delegations = []trust.Delegation{roots.Delegate("overlays.example/*", alice, now.Add(-time.Hour), now.AddDate(0, 1, 0))}
			}
		}, holders[0], holders[1], holders[2], nu[3], nu[4], nu[0])
		holders = nu
	}
	s := w.publish(t, "overlays.example/guru", now.Add(-time.Minute), alice)
	state := t.TempDir()
	res, err := client.Verify(ctx, s.Dir, w.cfg(state))
	if err != nil {
		t.Fatal(err)
	}
	if res.TrustRoot != "example.org/trust version 6" {
		t.Fatalf("trust root in force: %q", res.TrustRoot)
	}
	st, err := client.LoadRoots(state)
	if err != nil || len(st.Roots["example.org/trust"].Entries) != 6 {
		t.Fatalf("kept versions: %v %+v", err, st)
	}
	first := res.BytesFetched
	res, err = client.Verify(ctx, s.Dir, w.cfg(state))
	if err != nil {
		t.Fatal(err)
	}
	if res.BytesFetched >= first {
		t.Errorf("the second run fetched %d bytes, the first %d: the versions were read again", res.BytesFetched, first)
	}
}

// A key compromised at some time: its snapshots logged before the
// revocation and made before that time still verify (old media keep
// working); its snapshot made after it is refused, although logged; the
// log refuses its next one; the new key publishes.
func TestCompromisedKey(t *testing.T) {
	w := newRootWorld(t)
	alice, bob := roots.NewKey(t, "alice"), roots.NewKey(t, "bob")
	now := time.Now().UTC().Truncate(time.Second)
	w.next(t, func(r *trust.Root) {
		r.Delegations = []trust.Delegation{roots.Delegate("overlays.example/*", alice, now.AddDate(0, 0, -1), now.AddDate(1, 0, 0))}
	}, w.h[0], w.h[1], w.h[2])
	good := w.publish(t, "overlays.example/a", now.Add(-3*time.Hour), alice)
	stolen := w.publish(t, "overlays.example/b", now.Add(-1*time.Hour), alice)
	lastGood := w.publish(t, "overlays.example/c", now.Add(-3*time.Hour), alice)
	w.publish(t, "overlays.example/c", now.Add(-90*time.Minute), alice) // the thief's
	state := t.TempDir()
	if _, err := client.Verify(ctx, stolen.Dir, w.cfg(state)); err != nil {
		t.Fatalf("before the revocation: %v", err)
	}
	// The root holders learn that alice's key was stolen two hours ago.
	w.next(t, func(r *trust.Root) {
		r.Delegations = []trust.Delegation{roots.Delegate("overlays.example/*", bob, now.AddDate(0, 0, -1), now.AddDate(1, 0, 0))}
		r.Revocations = []trust.Revocation{{Key: alice.Key, Time: now.Add(-2 * time.Hour)}}
	}, w.h[2], w.h[3], w.h[4])
	if _, err := client.Verify(ctx, good.Dir, w.cfg(state)); err != nil {
		t.Fatalf("a snapshot made and logged before the compromise: %v", err)
	}
	// The thief's newer snapshot of c does not make the genuine one a
	// replay: the root in force no longer allows it.
	if _, err := client.Verify(ctx, lastGood.Dir, w.cfg(state)); err != nil {
		t.Fatalf("the last genuine snapshot, after the thief's: %v", err)
	}
	f := refused(t, stolen.Dir, w.cfg(state), client.CheckTrustRoot, "rule revoked")
	if len(f.Evidence) != 2 {
		t.Errorf("evidence: %d objects", len(f.Evidence))
	}
	// The log refuses alice from now on; bob publishes.
	if _, err := w.n.PublishTree(ctx, w.src, filepath.Join(w.dir, "thief"), "overlays.example/b", now, alice.Signer); err == nil || !strings.Contains(err.Error(), "rule revoked") {
		t.Fatalf("the log took the revoked key: %v", err)
	}
	fresh := w.publish(t, "overlays.example/b", now, bob)
	if res, err := client.Verify(ctx, fresh.Dir, w.cfg(state)); err != nil || res.TrustRoot != "example.org/trust version 3" {
		t.Fatalf("the new key: %v %v", res, err)
	}
	// Offline, by the pinned version alone (which delegates nothing).
	cfg := w.cfg("")
	cfg.Offline = true
	refused(t, fresh.Dir, cfg, client.CheckTrustRoot, "rule delegated")
	pin3, _ := trust.Open(w.versions[2])
	cfg.TrustRoots = []*trust.Signed{pin3}
	if _, err := client.Verify(ctx, fresh.Dir, cfg); err != nil {
		t.Fatalf("offline with version 3 pinned: %v", err)
	}
}

// A log that hides a revocation from its versions listing is caught when
// the revoking version is logged after the snapshot: the replay check
// reads those entries anyway.
func TestHiddenRevocation(t *testing.T) {
	w := newRootWorld(t)
	alice := roots.NewKey(t, "alice")
	now := time.Now().UTC().Truncate(time.Second)
	w.next(t, func(r *trust.Root) {
		r.Delegations = []trust.Delegation{roots.Delegate("overlays.example/*", alice, now.AddDate(0, 0, -1), now.AddDate(1, 0, 0))}
	}, w.h[0], w.h[1], w.h[2])
	s := w.publish(t, "overlays.example/a", now.Add(-time.Hour), alice)
	w.next(t, func(r *trust.Root) {
		r.Delegations = nil
		r.Revocations = []trust.Revocation{{Key: alice.Key, Time: now.Add(-2 * time.Hour)}}
	}, w.h[0], w.h[1], w.h[2])
	// A log mirror that serves everything, but lists only versions 1 and 2.
	srv := roots.HidingLog(t, w.n.LogURL, func(v uint64) bool { return v == 3 })
	cfg := w.cfg(t.TempDir())
	cfg.LogURLs = []string{srv.URL}
	refused(t, s.Dir, cfg, client.CheckTrustRoot, "the log hides a trust-root version")
	// The honest log: the revocation (as of before the snapshot) applies.
	refused(t, s.Dir, w.cfg(t.TempDir()), client.CheckTrustRoot, "rule revoked")
}

// Old installation media: a snapshot years old, accepted only with
// AcceptOld, which says when it was published.
func TestAcceptOld(t *testing.T) {
	w := newRootWorld(t)
	alice := roots.NewKey(t, "alice")
	then := time.Date(2024, 3, 2, 18, 0, 0, 0, time.UTC)
	w.next(t, func(r *trust.Root) {
		r.Delegations = []trust.Delegation{roots.Delegate("overlays.example/*", alice, then.AddDate(0, 0, -1), time.Now().AddDate(1, 0, 0))}
	}, w.h[0], w.h[1], w.h[2])
	old := w.publish(t, "overlays.example/a", then, alice)
	w.publish(t, "overlays.example/a", time.Now().Add(-time.Minute), alice)
	// Without it: the newer snapshot was logged a minute ago, within the
	// lag a mirror is allowed, so it is the snapshot's age that refuses it.
	refused(t, old.Dir, w.cfg(t.TempDir()), client.CheckFreshness, "days ago (max 24 hours)")
	cfg := w.cfg(t.TempDir())
	cfg.AcceptOld = true
	res, err := client.Verify(ctx, old.Dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.OldSnapshot, "this snapshot was published at 18:00 UTC on 2 March 2024, approximately ") || !strings.HasSuffix(res.OldSnapshot, " years ago") {
		t.Fatalf("old snapshot: %q", res.OldSnapshot)
	}
	cfg.Offline = true
	pin2, _ := trust.Open(w.versions[1])
	cfg.TrustRoots = []*trust.Signed{pin2}
	if _, err := client.Verify(ctx, old.Dir, cfg); err != nil {
		t.Fatalf("offline: %v", err)
	}
	var f *client.Failure
	cfg.AcceptOld = false
	if _, err := client.Verify(ctx, old.Dir, cfg); !errors.As(err, &f) || f.Check != client.CheckFreshness {
		t.Fatalf("offline without --accept-old: %v", err)
	}
}
