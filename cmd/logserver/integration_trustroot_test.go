//go:build integration

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"treelog/internal/testkit/proc"
	"treelog/internal/testkit/roots"
	"treelog/trust"
)

// TestIntegrationTrustRoots runs two logserver processes on one log in S3
// (MinIO) and MySQL (MariaDB), pinning one 3-of-5 trust root, and
// alternates between them: each must judge by the chain as logged,
// whichever process logged it. A version logged through one process
// makes a fork through the other a conflict, a delegation logged through
// one authorizes snapshots through the other, and a revocation logged
// through one refuses the revoked key's next snapshot through the other.
func TestIntegrationTrustRoots(t *testing.T) {
	dir := t.TempDir()
	bin, storage := scaleOut(t, dir)
	k := newKeys(t)
	h := roots.NewKeys(t, "root", 5)
	alice, bob := roots.NewKey(t, "alice"), roots.NewKey(t, "bob")
	now := time.Now().UTC().Truncate(time.Second)
	v1 := roots.Sign(t, roots.First("example.org/trust", 3, h, "overlays.example/*"), h[0], h[1], h[2])
	pin := filepath.Join(dir, "v1")
	os.WriteFile(pin, v1, 0o644)
	os.WriteFile(filepath.Join(dir, "log.key"), []byte(k.logSK), 0o600)
	os.WriteFile(filepath.Join(dir, "publishers"), nil, 0o644)
	var servers []string
	for range 2 {
		p, err := proc.Start(bin, append(storage, "--key", filepath.Join(dir, "log.key"), "--publishers", filepath.Join(dir, "publishers"), "--trust-root", pin,
			"--checkpoint-interval", "1s", "--batch-max-age", "50ms", "--listen", "127.0.0.1:0")...)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Kill()
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("%s logged:\n%s", p.URL(), p.Logs())
			}
		})
		servers = append(servers, p.URL())
	}
	a, b := servers[0], servers[1]
	post := func(server string, body []byte, code int, want string) string {
		t.Helper()
		got, msg := postMM(t, server, body)
		if got != code || !strings.Contains(msg, want) {
			t.Fatalf("POST %s/add: %d %q, want %d with %q", server, got, msg, code, want)
		}
		return msg
	}

	// Version 1 through A; the same bytes through B are a duplicate.
	first := post(a, v1, 200, "index ")
	if again := post(b, v1, 200, "index "); strings.SplitN(again, "\n", 2)[0] != strings.SplitN(first, "\n", 2)[0] {
		t.Fatalf("version 1 through B: %q, through A: %q", again, first)
	}
	// Version 2 through B delegates overlays.example/* to alice; a second
	// version 2 (to bob) through A is a fork of the chain B logged.
	v2 := roots.Sign(t, roots.After(t, v1, func(r *trust.Root) {
		r.Delegations = []trust.Delegation{roots.Delegate("overlays.example/*", alice, now.AddDate(0, 0, -30), now.AddDate(1, 0, 0))}
	}), h[0], h[1], h[2])
	post(b, v2, 200, "index ")
	fork := roots.Sign(t, roots.After(t, v1, func(r *trust.Root) {
		r.Delegations = []trust.Delegation{roots.Delegate("overlays.example/*", bob, now.AddDate(0, 0, -30), now.AddDate(1, 0, 0))}
	}), h[0], h[1], h[2])
	post(a, fork, 409, "fork")

	// alice's snapshots, authorized by version 2, through either process;
	// bob's (the fork's delegate), and alice's outside the scope, refused.
	post(a, roots.MetaManifest(t, "overlays.example/guru", now.Add(-2*time.Hour), alice), 200, "index ")
	post(b, roots.MetaManifest(t, "overlays.example/guru", now.Add(-time.Hour), alice), 200, "index ")
	post(b, roots.MetaManifest(t, "overlays.example/guru", now.Add(-time.Minute), bob), 403, "rule ")
	post(a, roots.MetaManifest(t, "elsewhere.example/tree", now.Add(-time.Hour), alice), 403, "not signed by a key allowed")

	// Version 3 through A revokes alice's key: her next snapshot through B
	// is refused by the rule that names the revocation.
	v3 := roots.Sign(t, roots.After(t, v2, func(r *trust.Root) {
		r.Delegations = nil
		r.Revocations = []trust.Revocation{{Key: alice.Key, Time: now.Add(-30 * time.Minute)}}
	}), h[0], h[1], h[2])
	post(a, v3, 200, "index ")
	msg := post(b, roots.MetaManifest(t, "overlays.example/guru", now.Add(-10*time.Minute), alice), 403, "rule revoked")
	t.Logf("alice after her revocation, through the other process: %s", strings.TrimSpace(msg))
	// And a version 3 fork through B, where A logged version 3.
	post(b, roots.Sign(t, roots.After(t, v2, func(r *trust.Root) {
		r.Delegations = []trust.Delegation{roots.Delegate("overlays.example/*", bob, now.AddDate(0, 0, -30), now.AddDate(1, 0, 0))}
	}), h[0], h[1], h[2]), 409, "fork")
}
