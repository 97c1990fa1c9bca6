package client_test

import (
	"os"
	"testing"
	"time"

	"treelog/client"
	"treelog/metamanifest"
	"treelog/policy"
)

// BenchmarkOfflineProofChecks: what an offline verification checks before
// hashing the tree — read the MetaManifest and its tlog-proof from disk,
// verify the publisher's signature, the checkpoint's log signature and
// cosignatures under the 2-of-3 policy, the inclusion proof, and the
// quorum's freshness.
func BenchmarkOfflineProofChecks(b *testing.B) {
	w := shared
	mmPath, proofPath := metamanifest.Paths(w.snapshots[2])
	b.ReportAllocs()
	for b.Loop() {
		mmb, _ := os.ReadFile(mmPath)
		pb, _ := os.ReadFile(proofPath)
		if _, err := metamanifest.Verify(mmb, w.pubs); err != nil {
			b.Fatal(err)
		}
		r, err := w.pol.VerifyProof(pb, mmb, policy.WithMaxFutureSkew(10*time.Minute))
		if err != nil {
			b.Fatal(err)
		}
		if qt, ok := r.QuorumTime(); !ok || time.Since(qt) > 24*time.Hour {
			b.Fatal("stale")
		}
	}
}

// BenchmarkVerifyOffline is a whole offline verification of a small tree
// (40 packages, about 700 files), tree hashing included (Full: every file
// read, the verification cache written afresh).
func BenchmarkVerifyOffline(b *testing.B) {
	w := shared
	cfg := client.Config{Policy: w.pol, Publishers: w.pubs, Offline: true, MaxAge: 365 * 24 * time.Hour, StateDir: b.TempDir(), Full: true}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := client.Verify(ctx, w.snapshots[2], cfg); err != nil {
			b.Fatal(err)
		}
	}
}
