//go:build crash

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/klog/v2"

	"treelog/internal/testkit/proc"
	"treelog/internal/testkit/synthlog"
	"treelog/note"
)

// TestCrash kills the auditor with SIGKILL several times during the
// catch-up of a 100,000-entry log, restarts it each time, and checks after
// every crash that the saved progress describes one prefix of the log
// (every origin's newest snapshot is the last one below the scanned
// count: nothing skipped, nothing applied twice), and at the end that the
// resumed audit verified every entry, raised no alert (an entry applied
// twice would be a backdated TIMESTAMP) and agrees with a fresh run.
// Run by scripts/heavy.
func TestCrash(t *testing.T) {
	const n, norigins = 100_000, 37
	dir := t.TempDir()
	ctx := context.Background()
	klog.SetSlogLogger(slog.New(slog.DiscardHandler))
	logSK, logVK, _ := note.GenerateKey(nil, "crash.log.example", note.TypeEd25519)
	logSigner, _ := note.NewSigner(logSK)
	pubSK, pubVK, _ := note.GenerateKey(nil, "publisher.example/crash", note.TypeEd25519)
	pub, _ := note.NewSigner(pubSK)
	if err := synthlog.Build(ctx, filepath.Join(dir, "log"), logSigner, pub, n, norigins); err != nil {
		t.Fatal(err)
	}
	// A slow log mirror, so that a catch-up takes seconds and the kills
	// land in its middle.
	files := http.FileServer(http.Dir(filepath.Join(dir, "log")))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(15 * time.Millisecond)
		files.ServeHTTP(w, r)
	}))
	defer srv.Close()
	os.WriteFile(filepath.Join(dir, "policy"), []byte(fmt.Sprintf("log %s %s\nquorum none\n", logVK, srv.URL)), 0o644)
	os.WriteFile(filepath.Join(dir, "publishers"), synthlog.Publishers(norigins, pubVK), 0o644)
	bin, err := proc.Build("treelog/cmd/auditor", dir)
	if err != nil {
		t.Fatal(err)
	}
	stateDir := filepath.Join(dir, "state")
	args := []string{"--policy", filepath.Join(dir, "policy"), "--publishers", filepath.Join(dir, "publishers"),
		"--state", stateDir, "--interval", "1h", "--listen", "127.0.0.1:0"}

	var last uint64
	crashesMidway := 0
	for round := range 6 {
		p, err := proc.Start(bin, args...)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(1000+rand.IntN(3000)) * time.Millisecond)
		p.Kill()
		st := readState(t, stateDir)
		if st == nil {
			t.Logf("round %d: killed before the first save", round)
			continue
		}
		if st.Scanned < last {
			t.Fatalf("round %d: progress went back from %d to %d", round, last, st.Scanned)
		}
		checkPrefix(t, st, norigins)
		if st.Scanned < n {
			crashesMidway++
		}
		t.Logf("round %d: killed at %d of %d entries", round, st.Scanned, n)
		last = st.Scanned
		if last == n {
			break
		}
	}
	if crashesMidway == 0 {
		t.Fatal("no kill landed in the middle of the catch-up: the test did not test a resume")
	}

	resumed := finish(t, bin, dir, stateDir)
	fresh := finish(t, bin, dir, filepath.Join(dir, "fresh-state"))
	if resumed.Scanned != n {
		t.Fatalf("resumed audit verified %d of %d entries", resumed.Scanned, n)
	}
	checkPrefix(t, resumed, norigins)
	if fmt.Sprint(resumed.Origins) != fmt.Sprint(fresh.Origins) || resumed.Scanned != fresh.Scanned {
		t.Fatalf("resumed and fresh audits differ:\n%v\n%v", resumed, fresh)
	}
}

type savedState struct {
	Scanned uint64 `json:"scanned"`
	Origins map[string]struct {
		Timestamp time.Time `json:"timestamp"`
		Index     uint64    `json:"index"`
	} `json:"origins"`
}

func readState(t *testing.T, dir string) *savedState {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var s savedState
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("state.json after a crash is not whole: %v\n%s", err, b)
	}
	return &s
}

// checkPrefix checks that s describes entries [0, s.Scanned): each origin
// seen holds the last of its entries below Scanned, with its TIMESTAMP.
func checkPrefix(t *testing.T, s *savedState, norigins int) {
	t.Helper()
	want := map[string]uint64{}
	for o := range norigins {
		if uint64(o) >= s.Scanned {
			break
		}
		last := (s.Scanned-1-uint64(o))/uint64(norigins)*uint64(norigins) + uint64(o)
		want[synthlog.Origin(o, norigins)] = last
	}
	if len(s.Origins) != len(want) {
		t.Fatalf("scanned %d: %d origins recorded, want %d", s.Scanned, len(s.Origins), len(want))
	}
	for o, idx := range want {
		got := s.Origins[o]
		if got.Index != idx || !got.Timestamp.Equal(synthlog.Start.Add(time.Duration(idx)*time.Second)) {
			t.Fatalf("scanned %d: origin %s at index %d (%s), want %d", s.Scanned, o, got.Index, got.Timestamp, idx)
		}
	}
}

// finish runs auditor --once on stateDir to the end of the log; it must
// exit 0 (no alert open).
func finish(t *testing.T, bin, dir, stateDir string) *savedState {
	t.Helper()
	out, err := exec.Command(bin, "--once", "--policy", filepath.Join(dir, "policy"),
		"--publishers", filepath.Join(dir, "publishers"), "--state", stateDir).CombinedOutput()
	if err != nil {
		t.Fatalf("auditor --once on %s: %v\n%s", stateDir, err, out)
	}
	if !strings.Contains(string(out), "0 open alert(s)") {
		t.Fatalf("auditor --once on %s:\n%s", stateDir, out)
	}
	return readState(t, stateDir)
}
