package witness

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"treelog/internal/testkit/load"
	"treelog/internal/testkit/testlog"
	"treelog/note"
	"treelog/policy"
)

// BenchmarkAddCheckpoint is the witness's CPU per cosignature, through its
// HTTP server on loopback, with 50 logs submitting at once (one request in
// flight each, kept-alive connections) and a durable SQLite file: what
// bench/witness.sh measures with the daemon. Requests are prepared first;
// for a profile of the witness alone, focus on net/http.(*conn).serve.
func BenchmarkAddCheckpoint(b *testing.B) {
	store, err := OpenStore(filepath.Join(b.TempDir(), "witness.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	const nlogs = 50
	logs := make([]*testlog.Log, nlogs)
	var list bytes.Buffer
	for i := range logs {
		logs[i], _ = testlog.New(fmt.Sprintf("example.org/log%d", i))
		fmt.Fprintf(&list, "log %s\n", logs[i].VKey)
	}
	keys, err := policy.ParseLogList(list.Bytes())
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := store.AddLogs(keys); err != nil {
		b.Fatal(err)
	}
	sk, _, _ := note.GenerateKey(nil, "witness.example/w", note.TypeCosignatureV1)
	s, _ := note.NewSigner(sk)
	w, err := New(s, store, WithLogger(slog.New(slog.DiscardHandler)), WithClock(func() time.Time { return time.Unix(1_800_000_000, 0) }))
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	// Each log's requests, one growth of one entry each, prepared ahead.
	perLog := b.N/nlogs + 1
	reqs := make([][][]byte, nlogs)
	for i, l := range logs {
		for j := range perLog {
			l.Grow(1)
			reqs[i] = append(reqs[i], l.WitnessRequest(uint64(j), uint64(j+1)))
		}
	}
	load.PostAll(b, srv.URL+"/add-checkpoint", reqs)
}

func TestMemoVerifier(t *testing.T) {
	sk, vk, _ := note.GenerateKey(nil, "example.org/log", note.TypeEd25519)
	s, _ := note.NewSigner(sk)
	v, _ := note.NewVerifier(vk)
	m := &memoVerifier{Verifier: v}
	msg := []byte("text\n")
	sig, _ := s.Sign(msg)
	bad := append([]byte{}, sig...)
	bad[3] ^= 1
	for range 2 {
		if !m.Verify(msg, sig) {
			t.Fatal("good signature refused")
		}
		if m.Verify(msg, bad) || m.Verify([]byte("other\n"), sig) {
			t.Fatal("memo accepted other bytes")
		}
	}
}
