package log_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"treelog/checkpoint"
	"treelog/internal/testkit/roots"
	"treelog/note"
	"treelog/tiles"
	"treelog/trust"
)

// getVersions reads the log's listing of a root's versions and checks it
// against the listing's checkpoint.
func getVersions(t *testing.T, logURL, name string, from uint64, logVKey string) *trust.Versions {
	t.Helper()
	resp, err := http.Get(logURL + "/" + trust.VersionsPath(name, from))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("versions of %s: %s: %s", name, resp.Status, b)
	}
	v, err := trust.ParseVersions(b)
	if err != nil {
		t.Fatal(err)
	}
	lv, _ := note.NewVerifier(logVKey)
	cp, err := checkpoint.Open(v.Checkpoint, lv)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(cp.Checkpoint); err != nil {
		t.Fatal(err)
	}
	return v
}

// The log logs a pinned root's versions only in chain order, authorizes
// MetaManifests by the version in force, and refuses with the rule.
func TestTrustRootAdmission(t *testing.T) {
	h := roots.NewKeys(t, "root", 5)
	alice, bob := roots.NewKey(t, "alice"), roots.NewKey(t, "bob")
	v1 := roots.Sign(t, roots.First("example.org/trust", 3, h, "overlays.example/*"), h[0], h[1], h[2])
	n := start(t)
	if err := n.AddTrustRoot(v1); err != nil {
		t.Fatal(err)
	}
	add := func(body []byte) (int, string) {
		code, msg, _ := post(t, n.LogURL+"/add", body)
		return code, msg
	}
	// Nothing governs overlays.example/* until version 1 is logged: the
	// publishers file (which does not name it) decides.
	now := time.Now().UTC()
	if code, msg := add(roots.MetaManifest(t, "overlays.example/guru", now, alice)); code != 403 {
		t.Fatalf("before version 1: %d %s", code, msg)
	}
	// 3-of-5 with 2 signatures: refused, naming the rule.
	two := roots.Sign(t, roots.First("example.org/trust", 3, h, "overlays.example/*"), h[0], h[1])
	if code, msg := add(two); code != 403 || !strings.Contains(msg, "rule signed-by-own-root") {
		t.Fatalf("2 of 3-of-5: %d %s", code, msg)
	}
	if code, msg := add(v1); code != 200 || msg != "index 0\n" {
		t.Fatalf("version 1: %d %s", code, msg)
	}
	// The same version again, with other signatures: its index.
	if code, msg := add(roots.Sign(t, roots.First("example.org/trust", 3, h, "overlays.example/*"), h[4], h[3], h[2])); code != 200 || !strings.HasPrefix(msg, "index 0\n") {
		t.Fatalf("version 1 again: %d %s", code, msg)
	}
	// An unknown root.
	other := roots.Sign(t, roots.First("evil.example/trust", 1, h[:1], "overlays.example/*"), h[0])
	if code, msg := add(other); code != 403 || !strings.Contains(msg, "rule pinned") {
		t.Fatalf("unpinned root: %d %s", code, msg)
	}
	// Version 2 delegates overlays.example/* to alice; version 3 skipped.
	r2 := roots.After(t, v1, func(r *trust.Root) {
		r.Delegations = []trust.Delegation{roots.Delegate("overlays.example/*", alice, now.Add(-time.Hour), now.AddDate(1, 0, 0))}
	})
	v2 := roots.Sign(t, r2, h[0], h[1], h[2])
	v3 := roots.Sign(t, roots.After(t, v2, nil), h[0], h[1], h[2])
	if code, msg := add(v3); code != 409 || !strings.Contains(msg, "rule chains-from-latest") {
		t.Fatalf("version 3 before 2: %d %s", code, msg)
	}
	if code, msg := add(v2); code != 200 {
		t.Fatalf("version 2: %d %s", code, msg)
	}
	// A fork: another version 2.
	fork := roots.Sign(t, roots.After(t, v1, func(r *trust.Root) {
		r.Delegations = []trust.Delegation{roots.Delegate("overlays.example/*", bob, now.Add(-time.Hour), now.AddDate(1, 0, 0))}
	}), h[0], h[1], h[2])
	if code, msg := add(fork); code != 409 || !strings.Contains(msg, "fork") {
		t.Fatalf("fork: %d %s", code, msg)
	}
	// MetaManifests: exactly the delegation's pattern, key and validity.
	for _, tc := range []struct {
		mm   []byte
		code int
		rule string
	}{
		{roots.MetaManifest(t, "overlays.example/guru", now, alice), 200, ""},
		{roots.MetaManifest(t, "overlays.example/guru/sub", now, alice), 200, ""},
		{roots.MetaManifest(t, "overlays.example/gentoo", now, bob), 403, "rule delegated"},
		{roots.MetaManifest(t, "overlays.example.evil/x", now, alice), 403, "no publisher key"},
		{roots.MetaManifest(t, "overlays.example/old", now.Add(-2*time.Hour), alice), 403, "rule validity"},
	} {
		code, msg := add(tc.mm)
		if code != tc.code || !strings.Contains(msg, tc.rule) {
			m, _ := trust.ParseDraft(tc.mm)
			t.Errorf("%v: %d %s, want %d %s", m, code, msg, tc.code, tc.rule)
		}
	}
	// Version 3 revokes alice: her next snapshot is refused.
	v3 = roots.Sign(t, roots.After(t, v2, func(r *trust.Root) {
		r.Delegations = nil
		r.Revocations = []trust.Revocation{{Key: alice.Key, Time: now.Truncate(time.Second)}}
	}), h[1], h[3], h[4])
	if code, msg := add(v3); code != 200 {
		t.Fatalf("version 3: %d %s", code, msg)
	}
	if code, msg := add(roots.MetaManifest(t, "overlays.example/guru", now.Add(time.Minute), alice)); code != 403 || !strings.Contains(msg, "rule revoked") {
		t.Fatalf("revoked key: %d %s", code, msg)
	}

	// The listing: every version, with proofs, under a published checkpoint.
	var v *trust.Versions
	for range 100 {
		if v = getVersions(t, n.LogURL, "example.org/trust", 1, n.LogVKey); len(v.Entries) == 3 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(v.Entries) != 3 || v.Entries[2].Version != 3 || string(v.Entries[0].Entry) != string(v1) || v.Next != 0 {
		t.Fatalf("listing: %+v", v)
	}
	if v := getVersions(t, n.LogURL, "example.org/trust", 3, n.LogVKey); len(v.Entries) != 1 {
		t.Fatalf("listing from 3: %d versions", len(v.Entries))
	}

	// After a restart the chain is read back from the log.
	if err := n.StopLog(ctx); err != nil {
		t.Fatal(err)
	}
	if err := n.StartLog(ctx); err != nil {
		t.Fatal(err)
	}
	if code, msg := add(roots.MetaManifest(t, "overlays.example/guru", now.Add(2*time.Minute), alice)); code != 403 || !strings.Contains(msg, "rule revoked") {
		t.Fatalf("revoked key after restart: %d %s", code, msg)
	}
	if code, msg := add(fork); code != 409 || !strings.Contains(msg, "fork") {
		t.Fatalf("fork after restart: %d %s", code, msg)
	}
	v4 := roots.Sign(t, roots.After(t, v3, nil), h[0], h[1], h[2])
	if code, msg := add(v4); code != 200 {
		t.Fatalf("version 4 after restart: %d %s", code, msg)
	}
}

// The log's order is its order of decisions: MetaManifests submitted
// while a revocation is being logged land either before it (judged by the
// version before) or after it (refused). Replaying the log with the rule
// the auditor applies finds no entry the version in force forbade.
func TestTrustRootOrderOfDecisions(t *testing.T) {
	h := roots.NewKeys(t, "root", 1)
	alice := roots.NewKey(t, "alice")
	now := time.Now().UTC()
	v1r := roots.First("example.org/trust", 1, h, "overlays.example/*")
	v1r.Delegations = []trust.Delegation{roots.Delegate("overlays.example/*", alice, now.Add(-time.Hour), now.AddDate(1, 0, 0))}
	v1 := roots.Sign(t, v1r, h[0])
	v2 := roots.Sign(t, roots.After(t, v1, func(r *trust.Root) {
		r.Delegations = nil
		r.Revocations = []trust.Revocation{{Key: alice.Key, Time: now.Add(time.Hour)}}
	}), h[0])
	n := start(t)
	if err := n.AddTrustRoot(v1); err != nil {
		t.Fatal(err)
	}
	if code, msg, _ := post(t, n.LogURL+"/add", v1); code != 200 {
		t.Fatalf("version 1: %d %s", code, msg)
	}
	const k = 40
	done := make(chan int, k)
	mms := make([][]byte, k)
	for i := range k {
		mms[i] = roots.MetaManifest(t, fmt.Sprintf("overlays.example/o%d", i), now, alice)
	}
	// Submissions spread over 600 ms; the revocation halfway.
	for i := range k {
		go func() {
			time.Sleep(time.Duration(i) * 15 * time.Millisecond)
			code, _, _ := post(t, n.LogURL+"/add", mms[i])
			done <- code
		}()
	}
	time.Sleep(300 * time.Millisecond)
	if code, msg, _ := post(t, n.LogURL+"/add", v2); code != 200 {
		t.Fatalf("version 2: %d %s", code, msg)
	}
	accepted := 0
	for range k {
		switch code := <-done; code {
		case 200:
			accepted++
		case 403:
		default:
			t.Errorf("a submission got %d", code)
		}
	}
	lv, _ := note.NewVerifier(n.LogVKey)
	r, _ := tiles.NewHTTPReader([]string{n.LogURL})
	cp := waitCheckpointSize(t, r, lv, uint64(2+accepted))
	pin, _ := trust.Open(v1)
	auth := &trust.Authority{Chains: []*trust.Chain{trust.NewChain(pin)}}
	data, err := r.ReadEntryBundle(ctx, 0, uint8(cp.Size))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := tiles.ParseEntryBundle(data, int(cp.Size))
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range entries {
		if trust.KindOf(e) == trust.KindTrustRoot {
			if _, err := auth.Chains[0].Append(e, uint64(i)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if _, err := auth.Authorize(e, uint64(i)); err != nil {
			t.Errorf("entry %d, accepted by the log, is not allowed by the version in force there: %v", i, err)
		}
	}
	if accepted == 0 || accepted == k {
		t.Errorf("%d of %d accepted: the submissions did not straddle the revocation", accepted, k)
	}
}

func waitCheckpointSize(t *testing.T, r *tiles.HTTPReader, lv note.Verifier, size uint64) *checkpoint.Signed {
	t.Helper()
	for range 200 {
		if raw, err := r.ReadCheckpoint(ctx); err == nil {
			if c, err := checkpoint.Open(raw, lv); err == nil && c.Size >= size {
				return c
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no checkpoint of size %d", size)
	return nil
}
