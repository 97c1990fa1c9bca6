package audit_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"treelog/audit"
	"treelog/demo/network"
	"treelog/internal/testkit/roots"
	"treelog/internal/testkit/synthlog"
	"treelog/note"
	"treelog/policy"
	"treelog/trust"
)

// A log that accepted what the trust roots forbid: a fork of the root's
// history, a snapshot by a key the root in force did not delegate, one by
// a revoked key. The auditor follows the root, alerts on every change, and
// on each misbehavior with evidence; what the root allowed is fine.
func TestTrustRootAudit(t *testing.T) {
	w := shared
	h := roots.NewKeys(t, "root", 3)
	alice, bob := roots.NewKey(t, "alice"), roots.NewKey(t, "bob")
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	v1 := roots.Sign(t, roots.First("example.org/trust", 2, h, "overlays.example/*"), h[0], h[1])
	v2 := roots.Sign(t, roots.After(t, v1, func(r *trust.Root) {
		r.Delegations = []trust.Delegation{roots.Delegate("overlays.example/*", alice, t0, t0.AddDate(1, 0, 0))}
	}), h[0], h[2])
	fork := roots.Sign(t, roots.After(t, v1, func(r *trust.Root) {
		r.Delegations = []trust.Delegation{roots.Delegate("overlays.example/*", bob, t0, t0.AddDate(1, 0, 0))}
	}), h[1], h[2])
	v3 := roots.Sign(t, roots.After(t, v2, func(r *trust.Root) {
		r.Delegations = nil
		r.Revocations = []trust.Revocation{{Key: alice.Key, Time: t0.Add(10 * time.Hour)}}
	}), h[0], h[1])
	entries := [][]byte{
		v1, // 0
		roots.MetaManifest(t, "overlays.example/a", t0.Add(time.Hour), alice), // 1 not delegated by version 1
		v2, // 2
		roots.MetaManifest(t, "overlays.example/a", t0.Add(2*time.Hour), alice), // 3 fine
		fork, // 4 another version 2
		roots.MetaManifest(t, "overlays.example/b", t0.Add(3*time.Hour), bob), // 5 bob: only the fork delegates him
		v3, // 6 revokes alice
		roots.MetaManifest(t, "overlays.example/a", t0.Add(4*time.Hour), alice),         // 7 after the revocation
		roots.MetaManifest(t, "example.org/tree", t0, roots.Key{Signer: w.n.Publisher}), // 8 the publishers file's origin: fine
	}
	dir := t.TempDir()
	sk, vk, _ := note.GenerateKey(nil, "evil.log.example", note.TypeEd25519)
	logSigner, _ := note.NewSigner(sk)
	if err := synthlog.Append(ctx, dir, logSigner, entries); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	pin, err := trust.Open(v1)
	if err != nil {
		t.Fatal(err)
	}
	a := w.auditor(t, fmt.Sprintf("log %s %s\nquorum none\n", vk, srv.URL), func(c *audit.Config) {
		c.Mirrors = nil
		c.TrustRoots = []*trust.Signed{pin}
	})
	pass(t, a)
	got := map[string]audit.Alert{}
	for _, al := range a.Alerts() {
		got[al.Kind+" "+al.Subject] = al
	}
	for key, want := range map[string]string{
		"trust-root-change example.org/trust version 1": "new trust root example.org/trust: 2 of 3 root keys",
		"trust-root-change example.org/trust version 2": "delegated overlays.example/* to alice+",
		"trust-root-change example.org/trust version 3": "revoked alice+",
		"bad-entry entry 1":                             "rule delegated",
		"trust-root-fork example.org/trust version 2":   "the log already holds another version 2 at index 2",
		"bad-entry entry 5":                             "rule delegated",
		"bad-entry entry 7":                             "rule revoked",
	} {
		al, ok := got[key]
		if !ok || !strings.Contains(al.Message, want) {
			t.Errorf("%s: %q, want %q", key, al.Message, want)
		}
		delete(got, key)
	}
	for k, al := range got {
		t.Errorf("unexpected alert %s: %s", k, al.Message)
	}
	if fork := findAlert(a, "trust-root-fork"); fork == nil || len(fork.Evidence) != 3 {
		t.Fatalf("fork evidence: %+v", fork)
	}
	// Changes are news once: the next pass resolves them; the evidence of
	// misbehavior stays open.
	pass(t, a)
	if got := kinds(a); strings.Contains(got, "trust-root-change") || strings.Count(got, "bad-entry") != 3 || !strings.Contains(got, "trust-root-fork") {
		t.Fatalf("second pass: %s", got)
	}
}

func findAlert(a *audit.Auditor, kind string) *audit.Alert {
	for _, al := range a.Alerts() {
		if al.Kind == kind {
			return &al
		}
	}
	return nil
}

// A root pinned after entries were audited needs a new audit.
func TestTrustRootPinnedLate(t *testing.T) {
	w := shared
	a := w.auditor(t, "", func(c *audit.Config) { c.Mirrors = nil })
	pass(t, a)
	h := roots.NewKeys(t, "root", 1)
	pin, _ := trust.Open(roots.Sign(t, roots.First("example.org/trust", 1, h, "overlays.example/*"), h[0]))
	if err := a.SetTrustRoots([]*trust.Signed{pin}); err == nil || !strings.Contains(err.Error(), "audit from the start") {
		t.Fatalf("pinned late: %v", err)
	}
}

// A log whose versions listing leaves out the version it holds: the
// auditor, which replays every entry, says so.
func TestTrustRootHidden(t *testing.T) {
	n, err := network.Start(ctx, t.TempDir(), network.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	h := roots.NewKeys(t, "root", 1)
	v1 := roots.Sign(t, roots.First("example.org/trust", 1, h, "overlays.example/*"), h[0])
	v2 := roots.Sign(t, roots.After(t, v1, nil), h[0])
	if err := n.AddTrustRoot(v1); err != nil {
		t.Fatal(err)
	}
	var at []uint64
	for _, v := range [][]byte{v1, v2} {
		a, err := n.Log.Add(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		at = append(at, a.Index)
		wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		_, err = n.Log.Proof(wctx, a.Index)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	srv := roots.HidingLog(t, n.LogURL, func(v uint64) bool { return v == 2 })
	pol, _ := policy.Parse(read(n.PolicyFile))
	pin, _ := trust.Open(v1)
	a, err := audit.New(audit.Config{Policy: pol, TrustRoots: []*trust.Signed{pin}, LogURLs: []string{srv.URL}, StateDir: t.TempDir(), Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	pass(t, a)
	al := findAlert(a, audit.AlertTrustRootHidden)
	if al == nil || !strings.Contains(al.Message, fmt.Sprintf("does not show example.org/trust version 2, which the log holds at index %d", at[1])) {
		t.Fatalf("hidden version: %+v (alerts %s)", al, kinds(a))
	}
}
