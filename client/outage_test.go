package client_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"treelog/checkpoint"
	"treelog/client"
	"treelog/internal/testkit/script"
	"treelog/metamanifest"
	"treelog/policy"
)

// deadURL returns the URL of a loopback port that nothing listens on.

// unchecked runs a verification that must end in "could not check" at
// check, and checks that the state did not change for the worse.
func unchecked(t *testing.T, dir string, cfg client.Config, check string) *client.UncheckedError {
	t.Helper()
	before, _ := client.LoadState(cfg.StateDir)
	_, err := client.Verify(ctx, dir, cfg)
	var ue *client.UncheckedError
	var f *client.Failure
	if errors.As(err, &f) {
		t.Fatalf("an outage was reported as a refusal: %v", err)
	}
	if !errors.As(err, &ue) || ue.Check != check {
		t.Fatalf("want could-not-check at %s, got %T %v", check, err, err)
	}
	after, err := client.LoadState(cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	notWorse(t, before, after)
	return ue
}

// TestOutage: a log that cannot be reached, times out or answers 5xx is
// "could not check", never a refusal; bad data from it is a refusal
// without evidence (no two signed objects conflict).
func TestOutage(t *testing.T) {
	w := newWorld(t)
	tree := w.sync(t)

	// Down: connection refused, for a new user and for one with state
	// (whose consistency check needs a proof from the log).
	cfg := w.cfg(t.TempDir())
	cfg.LogURLs = []string{script.DeadURL(t)}
	ue := unchecked(t, tree, cfg, client.CheckReplay)
	if !strings.Contains(ue.Error(), "connection refused") || !strings.Contains(ue.Error(), "says nothing about the tree") {
		t.Errorf("message: %v", ue)
	}
	// A user who trusted the checkpoint of snapshot 0's proof (size 1)
	// needs a proof from the log to accept size 3.
	state := t.TempDir()
	_, proof0 := metamanifest.Paths(w.snapshots[0])
	pf, err := checkpoint.ParseProof(read(t, proof0))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := client.LoadState(state)
	st.Logs["log.treelog.example"] = client.LogState{Checkpoint: pf.Checkpoint, Updated: time.Now()}
	if err := st.Save(state); err != nil {
		t.Fatal(err)
	}
	cfg = w.cfg(state)
	cfg.LogURLs = []string{script.DeadURL(t)}
	unchecked(t, tree, cfg, client.CheckConsistency)

	// 503 from every mirror of the log.
	busy := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		http.Error(rw, "overloaded", http.StatusServiceUnavailable)
	}))
	defer busy.Close()
	cfg = w.cfg(t.TempDir())
	cfg.LogURLs = []string{busy.URL, script.DeadURL(t)}
	if ue := unchecked(t, tree, cfg, client.CheckReplay); !strings.Contains(ue.Error(), "503 Service Unavailable") {
		t.Errorf("message: %v", ue)
	}

	// A log mirror that serves the real checkpoint but tiles that do not
	// hash to it: bad data, refused, with no evidence to show.
	logFiles := http.FileServer(http.Dir(filepath.Join(w.n.Dir, "log")))
	bad := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/tile/") && !strings.HasPrefix(r.URL.Path, "/tile/entries") {
			b, err := os.ReadFile(filepath.Join(w.n.Dir, "log", r.URL.Path))
			if err != nil {
				http.NotFound(rw, r)
				return
			}
			b[0] ^= 1
			rw.Write(b)
			return
		}
		logFiles.ServeHTTP(rw, r)
	}))
	defer bad.Close()
	cfg = w.cfg(t.TempDir())
	cfg.LogURLs = []string{bad.URL}
	f := refused(t, tree, cfg, client.CheckReplay, "not what the log signed")
	if len(f.Evidence) != 0 {
		t.Errorf("a mismatching tile came with %d evidence objects", len(f.Evidence))
	}
}

// TestProceedIfUnreachable: the opt-in runs the offline checks when the
// log cannot be read, says which were skipped and why, and still refuses
// a rollback against the user's state and a stale snapshot.
func TestProceedIfUnreachable(t *testing.T) {
	w := newWorld(t)
	cfg := w.cfg(t.TempDir())
	cfg.LogURLs = []string{script.DeadURL(t)}
	cfg.ProceedIfUnreachable = true
	var skipped []string
	cfg.OnCheck = func(c client.Check) {
		if c.Status == "skipped" {
			skipped = append(skipped, c.Name+": "+c.Detail)
		}
	}
	res, err := client.Verify(ctx, w.sync(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// (Consistency passed: a first use needs no network.)
	if len(skipped) != 1 || !strings.Contains(skipped[0], "replay: NOT CHECKED: the log is unreachable and --proceed-if-log-unreachable is set") ||
		!strings.Contains(res.Unreachable, "connection refused") || res.Files == 0 {
		t.Errorf("skipped %q, unreachable %q, %d files", skipped, res.Unreachable, res.Files)
	}
	if _, err := os.Stat(filepath.Join(cfg.StateDir, client.StateFile)); err == nil {
		if st, _ := client.LoadState(cfg.StateDir); len(st.Trees) != 0 {
			t.Error("a snapshot accepted without the replay check was recorded as seen")
		}
	}

	// Rollback: refused from the state alone.
	state := t.TempDir()
	if _, err := client.Verify(ctx, w.sync(t), w.cfg(state)); err != nil {
		t.Fatal(err)
	}
	w.mirror.SetDir(w.snapshots[1])
	cfg.StateDir, cfg.OnCheck = state, nil
	refused(t, w.sync(t), cfg, client.CheckReplay, "rollback")

	// Freshness still holds: days later, the proof's quorum is too old.
	cfg.StateDir = t.TempDir()
	cfg.Now = func() time.Time { return time.Now().Add(3 * 24 * time.Hour) }
	refused(t, w.sync(t), cfg, client.CheckFreshness, "3 days old")

	// Off by default: the same outage is "could not check".
	off := w.cfg(t.TempDir())
	off.LogURLs = cfg.LogURLs
	unchecked(t, w.sync(t), off, client.CheckReplay)
}

// TestConfigErrors: a configuration that cannot work is named, and is
// neither a refusal nor an outage.
func TestConfigErrors(t *testing.T) {
	w := newWorld(t)
	noURL, err := policy.Parse([]byte(strings.Replace(string(mustRead(w.n.PolicyFile)), " "+w.n.LogURL+"\n", "\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	cfg := w.cfg(t.TempDir())
	cfg.Policy = noURL
	_, err = client.Verify(ctx, w.sync(t), cfg)
	var ce *client.ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "the policy gives no URL for log log.treelog.example") {
		t.Errorf("a log without a URL: %T %v", err, err)
	}
	cfg.Offline = true
	if _, err := client.Verify(ctx, w.sync(t), cfg); err != nil {
		t.Errorf("offline needs no URL: %v", err)
	}
}
