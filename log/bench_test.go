package log_test

import (
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"treelog/internal/testkit/load"
	"treelog/log"
	"treelog/manifest"
	"treelog/metamanifest"
	"treelog/note"
	"treelog/trust"
)

// BenchmarkAdd is the log server's write path through its HTTP handler
// on loopback, POSIX storage, no witnesses: what bench/log.sh measures
// against tessera's conformance server. 64 origins submit at once, one
// request in flight each; MetaManifests are signed first. For a profile
// of the server alone, focus on net/http.(*conn).serve and tessera.
func BenchmarkAdd(b *testing.B) {
	logSK, _, _ := note.GenerateKey(nil, "bench.log.example", note.TypeEd25519)
	logSigner, _ := note.NewSigner(logSK)
	pubSK, pubVK, _ := note.GenerateKey(nil, "publisher.example/bench", note.TypeEd25519)
	pub, _ := note.NewSigner(pubSK)
	const norigins = 64
	var pubsText strings.Builder
	for o := range norigins {
		fmt.Fprintf(&pubsText, "publisher bench.example/o%d %s\n", o, pubVK)
	}
	pubs, err := trust.ParsePublishers([]byte(pubsText.String()))
	if err != nil {
		b.Fatal(err)
	}
	st, err := log.OpenPOSIX(ctx, filepath.Join(b.TempDir(), "log"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	lg, err := log.New(ctx, st, log.Config{Signer: logSigner, Publishers: pubs, CheckpointInterval: time.Second,
		ShutdownTimeout: 10 * time.Second, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer lg.Close(ctx)
	srv := httptest.NewServer(lg.Handler())
	defer srv.Close()
	perOrigin := b.N/norigins + 1
	bodies := make([][][]byte, norigins)
	t0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for o := range norigins {
		for i := range perOrigin {
			m := &metamanifest.MetaManifest{Origin: fmt.Sprintf("bench.example/o%d", o), Timestamp: t0.Add(time.Duration(i) * time.Second),
				ManifestSize: 1, ManifestHashes: manifest.HashBytes([]byte(fmt.Sprint(o, i)), metamanifest.Hashes)}
			body, err := metamanifest.Sign(m, pub)
			if err != nil {
				b.Fatal(err)
			}
			bodies[o] = append(bodies[o], body)
		}
	}
	load.PostAll(b, srv.URL+"/add", bodies)
}
