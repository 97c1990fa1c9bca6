package witness_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"
	xnote "golang.org/x/mod/sumdb/note"

	"treelog/checkpoint"
	"treelog/note"
	"treelog/policy"
	"treelog/witness"
)

// tessera's own witness client (an appender with WithWitnesses) gets its
// checkpoints cosigned by our witness and publishes them; the cosignatures
// verify with transparency-dev/formats.
func TestTesseraWitnessClient(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	logSK, logVK, _ := note.GenerateKey(nil, "example.org/tessera-log", note.TypeEd25519)
	logSigner, _ := note.NewSigner(logSK)
	store, err := witness.OpenStore(filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	keys, _ := policy.ParseLogList([]byte("log " + logVK + "\n"))
	if _, _, err := store.AddLogs(keys); err != nil {
		t.Fatal(err)
	}
	wSK, wVK, _ := note.GenerateKey(nil, "witness.example/w1", note.TypeCosignatureV1)
	wSigner, _ := note.NewSigner(wSK)
	w, err := witness.New(wSigner, store, witness.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()

	group, err := tessera.NewWitnessGroupFromPolicy([]byte(fmt.Sprintf("witness w1 %s %s\nquorum w1\n", wVK, srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	driver, err := posix.New(ctx, posix.Config{Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	appender, shutdown, reader, err := tessera.NewAppender(ctx, driver, tessera.NewAppendOptions().
		WithCheckpointSigner(logSigner).
		WithCheckpointInterval(100*time.Millisecond).
		WithBatching(64, 50*time.Millisecond).
		WithWitnesses(group, &tessera.WitnessOptions{Timeout: 5 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	awaiter := tessera.NewPublicationAwaiter(ctx, reader.ReadCheckpoint, 50*time.Millisecond)

	fv, _ := fnote.NewVerifierForCosignatureV1(wVK)
	xlv, _ := xnote.NewVerifier(logVK)
	var last []byte
	// Two rounds, so that the second needs a consistency proof (and, after
	// a fresh start, tessera first learns the witness's size from a 409).
	for round := range 2 {
		var idx tessera.Index
		for i := range 10 {
			idx, last, err = awaiter.Await(ctx, appender.Add(ctx, tessera.NewEntry([]byte(fmt.Sprintf("round %d entry %d", round, i)))))
			if err != nil {
				t.Fatal(err)
			}
		}
		n, err := xnote.Open(last, xnote.VerifierList(xlv, fv))
		if err != nil {
			t.Fatalf("published checkpoint does not verify with formats: %v\n%s", err, last)
		}
		if len(n.Sigs) != 2 {
			t.Fatalf("published checkpoint has %d verified signatures, want log + witness:\n%s", len(n.Sigs), last)
		}
		for _, s := range n.Sigs {
			if s.Name == "witness.example/w1" {
				if ts, err := fnote.CoSigV1Timestamp(s); err != nil || time.Since(ts) > time.Minute {
					t.Errorf("cosignature timestamp %v %v", ts, err)
				}
			}
		}
		c, _ := checkpoint.ParseText(n.Text)
		if c.Size <= idx.Index {
			t.Errorf("checkpoint size %d does not cover index %d", c.Size, idx.Index)
		}
		if l, _ := store.Log("example.org/tessera-log"); l.Size < c.Size {
			t.Errorf("witness state %d is behind the published %d", l.Size, c.Size)
		}
	}
	if err := shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}
