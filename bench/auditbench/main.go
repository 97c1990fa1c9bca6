// Command auditbench measures the auditor's catch-up on a log of 1,000,000
// MetaManifests (entries per second), side by side with the Ed25519
// verification limit of this machine measured in the same run: signatures
// verified per second on all cores, with crypto/ed25519 and with the
// precomputed key the auditor (like every party) uses. The log is written with tessera's POSIX driver directly and
// served as static files on loopback. Run it with bench/audit.sh.
package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"

	"treelog/audit"
	"treelog/internal/keyfile"
	"treelog/internal/klogslog"
	"treelog/internal/testkit/synthlog"
	"treelog/note"
	"treelog/policy"
	"treelog/trust"
)

// cpuProfile, if set, names the file for a profile of the audit pass.
var cpuProfile string

func main() {
	entries := pflag.Int("entries", 1_000_000, "log entries")
	origins := pflag.Int("origins", 100, "trees (origins) publishing")
	dir := pflag.String("dir", "", "work directory (kept; default: temporary)")
	pflag.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the auditor's pass to this file")
	pflag.Parse()
	klogslog.Use(slog.New(slog.DiscardHandler))
	if err := run(*dir, *entries, *origins); err != nil {
		fmt.Fprintln(os.Stderr, "auditbench:", err)
		os.Exit(1)
	}
}

func run(dir string, n, norigins int) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "auditbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ctx := context.Background()
	// The keys live beside the log, so that a log kept with --dir is
	// audited with the keys that signed it.
	logSigner, logVK, err := benchKey(filepath.Join(dir, "log-key"), "bench.log.example")
	if err != nil {
		return err
	}
	pub, pubVK, err := benchKey(filepath.Join(dir, "publisher-key"), "publisher.example/bench")
	if err != nil {
		return err
	}
	pubs, err := trust.ParsePublishers(synthlog.Publishers(norigins, pubVK))
	if err != nil {
		return err
	}

	logDir := filepath.Join(dir, "log")
	if _, err := os.Stat(filepath.Join(logDir, "checkpoint")); err != nil {
		fmt.Fprintf(os.Stderr, "signing and logging %d MetaManifests...\n", n)
		if err := synthlog.Build(ctx, logDir, logSigner, pub, n, norigins); err != nil {
			return err
		}
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(logDir)))
	defer srv.Close()

	fmt.Printf("machine: %d CPUs, %s\n\n", runtime.NumCPU(), runtime.Version())
	std, pre := ed25519Limit()
	fmt.Println("| measurement | per second | time |")
	fmt.Println("|---|---|---|")
	fmt.Printf("| Ed25519 limit: crypto/ed25519, all cores | %.0f | |\n", std)
	fmt.Printf("| Ed25519 limit: precomputed key (note, as the auditor verifies), all cores | %.0f | |\n", pre)

	pol, _ := policy.Parse([]byte(fmt.Sprintf("log %s %s\nquorum none\n", logVK, srv.URL)))
	a, err := audit.New(audit.Config{Policy: pol, Publishers: pubs, StateDir: filepath.Join(dir, fmt.Sprintf("state-%d", time.Now().UnixNano())),
		Log: slog.New(slog.DiscardHandler), Progress: os.Stderr})
	if err != nil {
		return err
	}
	start := time.Now()
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if err := a.Pass(ctx); err != nil {
		return err
	}
	el := time.Since(start)
	st := a.Status()
	if st.Scanned != uint64(n) || len(a.Alerts()) > 0 {
		return fmt.Errorf("audit verified %d of %d entries, %d alerts", st.Scanned, n, len(a.Alerts()))
	}
	fmt.Printf("| auditor catch-up: %d entries, %d origins (fetch over HTTP, verify tiles, parse, verify signatures, check TIMESTAMPs) | %.0f | %.1f s |\n", n, norigins, float64(n)/el.Seconds(), el.Seconds())
	return nil
}

// benchKey reads the key pair PREFIX.key/.pub, making it first if needed.
func benchKey(prefix, name string) (note.Signer, string, error) {
	if _, err := os.Stat(prefix + ".key"); err != nil {
		sk, vk, err := note.GenerateKey(nil, name, note.TypeEd25519)
		if err != nil {
			return nil, "", err
		}
		if err := keyfile.Write(prefix, sk, vk); err != nil {
			return nil, "", err
		}
	}
	s, err := keyfile.ReadSigner(prefix + ".key")
	if err != nil {
		return nil, "", err
	}
	vk, err := keyfile.ReadVerifierKey(prefix + ".pub")
	return s, vk, err
}

// ed25519Limit measures verifications per second on all cores, for 2s
// each: crypto/ed25519, and note's verifier with its precomputed key.
func ed25519Limit() (std, pre float64) {
	skey, vkey, _ := note.GenerateKey(nil, "publisher.example/bench", note.TypeEd25519)
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	k, _ := note.ParseVerifierKey(vkey)
	msg := []byte("treelog-metamanifest/v1\norigin bench.example/o1\ntimestamp 2026-01-01T00:00:00Z\n")
	sig, _ := s.Sign(msg)
	measure := func(verify func() bool) float64 {
		var total atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range runtime.GOMAXPROCS(0) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Since(start) < 2*time.Second {
					if !verify() {
						panic("signature does not verify")
					}
					total.Add(1)
				}
			}()
		}
		wg.Wait()
		return float64(total.Load()) / time.Since(start).Seconds()
	}
	std = measure(func() bool { return ed25519.Verify(k.Public, msg, sig) })
	pre = measure(func() bool { return v.Verify(msg, sig) })
	return std, pre
}
