// Package verdict_test holds every party to one verdict on the same
// bytes: the log, the witness, the client and the auditor accept exactly
// the signatures crypto/ed25519 accepts, on keys and signatures built to
// split Ed25519 implementations (small-order components that only a
// cofactored rule such as ZIP-215 or batch verification forgives).
package verdict_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"treelog/audit"
	"treelog/demo/network"
	"treelog/internal/testkit/edge"
	"treelog/internal/testkit/synthlog"
	"treelog/internal/testkit/testlog"
	"treelog/manifest"
	"treelog/metamanifest"
	"treelog/note"
	"treelog/policy"
	"treelog/trust"
	"treelog/witness"
)

// edgeSigner signs with an edge.Key, making signatures crypto/ed25519
// accepts (cofactorless) or ones only a cofactored verifier accepts.
type edgeSigner struct {
	key          *edge.Key
	vk           note.VerifierKey
	cofactorless bool
}

func newEdgeSigner(seed uint64, torsion int, name string) *edgeSigner {
	k := edge.NewKey(seed, torsion)
	vk := note.VerifierKey{Name: name, Type: note.TypeEd25519, Public: k.Pub}
	vk.ID = note.KeyID(vk.Name, vk.Type, vk.Public)
	return &edgeSigner{key: k, vk: vk}
}

func (s *edgeSigner) Name() string    { return s.vk.Name }
func (s *edgeSigner) KeyHash() uint32 { return s.vk.ID }
func (s *edgeSigner) Sign(msg []byte) ([]byte, error) {
	return s.key.Sign(msg, s.cofactorless), nil
}

// stdlibAccepts says whether crypto/ed25519 accepts the note's one
// signature: the verdict every party must reach.
func stdlibAccepts(t *testing.T, msg []byte, pub []byte) bool {
	t.Helper()
	n, err := note.Parse(msg)
	if err != nil || len(n.UnverifiedSigs) != 1 {
		t.Fatalf("parsing a note of ours: %v", err)
	}
	raw, _ := note.SignatureBytes(n.UnverifiedSigs[0])
	return ed25519.Verify(pub, []byte(n.Text), raw)
}

func TestOneVerdictOnMetaManifests(t *testing.T) {
	ctx := context.Background()
	n, err := network.Start(ctx, t.TempDir(), network.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	pub := newEdgeSigner(1, 5, "edge.example/publisher")
	const origin = "edge.example/tree"
	pubs, err := trust.ParsePublishers([]byte(fmt.Sprintf("publisher %s %s\n", origin, pub.vk)))
	if err != nil {
		t.Fatal(err)
	}
	n.Log.SetPublishers(pubs)

	// A mixed batch: snapshots signed alternately so that crypto/ed25519
	// accepts and refuses, TIMESTAMPs increasing.
	t0 := time.Now().UTC().Truncate(time.Second).Add(-24 * time.Hour)
	var entries [][]byte
	var want []bool
	for i := range 8 {
		pub.cofactorless = i%2 == 0
		ts := t0.Add(time.Duration(i) * time.Hour)
		m := &metamanifest.MetaManifest{Origin: origin, Timestamp: ts, ManifestSize: 1, ManifestHashes: manifest.HashBytes([]byte(ts.String()), metamanifest.Hashes)}
		mm, err := metamanifest.Sign(m, pub)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, mm)
		want = append(want, stdlibAccepts(t, mm, pub.key.Pub))
		if want[i] != pub.cofactorless {
			t.Fatalf("entry %d: the edge signer did not make the signature asked for", i)
		}
	}

	for i, mm := range entries {
		// The client's check (treelog verify, step 1).
		_, err := metamanifest.Verify(mm, pubs)
		if got := err == nil; got != want[i] {
			t.Errorf("entry %d: client accepts = %v (%v), crypto/ed25519 = %v", i, got, err, want[i])
		}
		// The log's admission, over HTTP.
		resp, err := http.Post(n.LogURL+"/add", "text/plain", bytes.NewReader(mm))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.StatusCode == http.StatusOK; got != want[i] || (!got && resp.StatusCode != http.StatusForbidden) {
			t.Errorf("entry %d: log answers %s, crypto/ed25519 accepts = %v", i, resp.Status, want[i])
		}
	}

	// The auditor, on a log that accepted them all: one bundle, audited
	// by all cores at once; a bad-entry alert for each refused entry.
	dir := t.TempDir()
	lsk, lvk, _ := note.GenerateKey(nil, "lax.log.example", note.TypeEd25519)
	logSigner, _ := note.NewSigner(lsk)
	if err := synthlog.Append(ctx, dir, logSigner, entries); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	pol, err := policy.Parse([]byte(fmt.Sprintf("log %s %s\nquorum none\n", lvk, srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	a, err := audit.New(audit.Config{Policy: pol, Publishers: pubs, StateDir: t.TempDir(), Log: slog.New(slog.DiscardHandler), MirrorFiles: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	bad := map[string]bool{}
	for _, al := range a.Alerts() {
		if al.Kind == audit.AlertBadEntry {
			bad[al.Subject] = true
		}
	}
	for i := range entries {
		if got := !bad[fmt.Sprintf("entry %d", i)]; got != want[i] {
			t.Errorf("entry %d: auditor accepts = %v, crypto/ed25519 = %v", i, got, want[i])
		}
	}
}

func TestOneVerdictOnCheckpoints(t *testing.T) {
	ls := newEdgeSigner(2, 6, "edge.log.example")
	lg := testlog.WithKey(ls, ls.vk.String())

	// The witness.
	store, err := witness.OpenStore(filepath.Join(t.TempDir(), "witness.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	keys, err := policy.ParseLogList([]byte("log " + ls.vk.String() + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, conflicts, err := store.AddLogs(keys); err != nil || len(conflicts) > 0 {
		t.Fatal(err, conflicts)
	}
	wsk, _, _ := note.GenerateKey(nil, "witness.example/w", note.TypeCosignatureV1)
	wsigner, _ := note.NewSigner(wsk)
	w, err := witness.New(wsigner, store, witness.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	// The client's and the auditor's check of a checkpoint.
	pol, err := policy.Parse([]byte("log " + ls.vk.String() + "\nquorum none\n"))
	if err != nil {
		t.Fatal(err)
	}

	var old uint64
	for i := range 8 {
		ls.cofactorless = i%2 == 0
		lg.Grow(1)
		req := lg.WitnessRequest(old, lg.Size())
		cp := req[bytes.Index(req, []byte("\n\n"))+2:]
		want := stdlibAccepts(t, cp, ls.key.Pub)
		if want != ls.cofactorless {
			t.Fatalf("checkpoint %d: the edge signer did not make the signature asked for", i)
		}
		_, err := w.AddCheckpoint(req)
		if got := err == nil; got != want {
			t.Errorf("checkpoint %d: witness cosigns = %v (%v), crypto/ed25519 = %v", i, got, err, want)
		}
		if err != nil && !strings.Contains(err.Error(), "does not verify") {
			t.Errorf("checkpoint %d: witness refuses for another reason: %v", i, err)
		}
		if err == nil {
			old = lg.Size()
		}
		_, err = pol.Verify(cp)
		if got := err == nil; got != want {
			t.Errorf("checkpoint %d: policy (client, auditor) accepts = %v (%v), crypto/ed25519 = %v", i, got, err, want)
		}
	}
}
