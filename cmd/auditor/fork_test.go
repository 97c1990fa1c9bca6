package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"treelog/audit"
	"treelog/checkpoint"
	"treelog/demo/network"
	"treelog/internal/keyfile"
	"treelog/internal/testkit/fork"
	"treelog/internal/testkit/proc"
	"treelog/manifest"
	"treelog/metamanifest"
	"treelog/note"
)

// forkWorld is a real log (three witnesses, 2 of 3) with three snapshots,
// the auditor binary, and an auditor state that verified the log at
// size 3: what an attacker who holds the log's key and two witnesses'
// keys tries to fool.
type forkWorld struct {
	t      *testing.T
	dir    string
	n      *network.Network
	bin    string
	base   string // auditor state at size 3
	stolen []note.Signer
	snaps  []network.Snapshot
}

func newForkWorld(t *testing.T) *forkWorld {
	dir := t.TempDir()
	ctx := context.Background()
	// No index: the forks below are made of the log's first entries,
	// counted as its snapshots.
	n, err := network.Start(ctx, filepath.Join(dir, "net"), network.Options{IndexInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	w := &forkWorld{t: t, dir: dir, n: n}
	if w.snaps, err = n.PublishHistory(ctx, filepath.Join(dir, "pub"), 10, 3, time.Now().Add(-20*time.Minute), 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	if w.bin, err = proc.Build("treelog/cmd/auditor", dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"w1", "w2"} {
		s, err := keyfile.ReadSigner(filepath.Join(n.Dir, name+".key"))
		if err != nil {
			t.Fatal(err)
		}
		w.stolen = append(w.stolen, s)
	}
	w.base = filepath.Join(dir, "base-state")
	if out, code := w.once(w.base); code != 0 || !regexp.MustCompile(`[0-9]+ entries verified, 0 open alert\(s\)`).MatchString(out) {
		t.Fatalf("auditing the honest log: exit %d\n%s", code, out)
	}
	return w
}

// state returns a copy of the state that verified the log at size 3.
func (w *forkWorld) state() string {
	d := filepath.Join(w.t.TempDir(), "state")
	if out, err := exec.Command("cp", "-r", w.base, d).CombinedOutput(); err != nil {
		w.t.Fatalf("copying the auditor state: %v\n%s", err, out)
	}
	return d
}

// once runs `auditor --once` on state with args, returning its output and
// exit status.
func (w *forkWorld) once(state string, args ...string) (string, int) {
	w.t.Helper()
	cmd := exec.Command(w.bin, append([]string{"--once", "--policy", w.n.PolicyFile, "--publishers", w.n.PublishersFile, "--state", state}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return out.String(), ee.ExitCode()
	case err != nil:
		w.t.Fatal(err)
	}
	return out.String(), 0
}

// fork builds and serves a fork of the log: the real log's first
// `shared` entries, then extra backdoored snapshots, cosigned with the
// two stolen witness keys at `at`. It returns the fork, its URL and its
// last entry.
func (w *forkWorld) fork(shared uint64, extra int, at time.Time) (*fork.Log, string, []byte) {
	w.t.Helper()
	ctx := context.Background()
	entries, err := fork.Entries(ctx, filepath.Join(w.n.Dir, "log"), shared)
	if err != nil {
		w.t.Fatal(err)
	}
	for i := range extra {
		entries = append(entries, w.evilMetaManifest(i))
	}
	f, err := fork.Build(ctx, filepath.Join(w.t.TempDir(), "fork"), w.n.LogSigner, entries, w.stolen, at)
	if err != nil {
		w.t.Fatal(err)
	}
	srv := httptest.NewServer(f.Handler())
	w.t.Cleanup(srv.Close)
	return f, srv.URL, entries[len(entries)-1]
}

// evilMetaManifest is a backdoored snapshot signed with the publisher's
// (stolen) key, newer than every real one.
func (w *forkWorld) evilMetaManifest(i int) []byte {
	m := &metamanifest.MetaManifest{Origin: w.n.Opts.TreeOrigin, Timestamp: time.Now().UTC().Truncate(time.Second).Add(time.Duration(i+1) * time.Second),
		ManifestSize: 666, ManifestHashes: manifest.HashBytes([]byte(fmt.Sprint("backdoor ", i)), metamanifest.Hashes)}
	b, err := metamanifest.Sign(m, w.n.Publisher)
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}

// alert returns the open alert of kind in state, failing without one.
func (w *forkWorld) alert(state, kind string) audit.Alert {
	w.t.Helper()
	list, err := audit.ReadAlerts(state)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, al := range list {
		if al.Open && al.Kind == kind {
			return al
		}
	}
	w.t.Fatalf("no open %s alert in %s: %+v", kind, state, list)
	return audit.Alert{}
}

// evidenceSizes opens each evidence file of al as a checkpoint signed by
// the log and returns their sizes.
func (w *forkWorld) evidenceSizes(al audit.Alert) []uint64 {
	w.t.Helper()
	v, err := note.NewVerifier(w.n.LogVKey)
	if err != nil {
		w.t.Fatal(err)
	}
	var sizes []uint64
	for _, p := range al.Evidence {
		b, err := os.ReadFile(p)
		if err != nil {
			w.t.Fatal(err)
		}
		cp, err := checkpoint.Open(b, v)
		if err != nil {
			w.t.Fatalf("evidence %s is not a checkpoint signed by the log: %v", p, err)
		}
		sizes = append(sizes, cp.Size)
	}
	return sizes
}

// TestForkedLog: a forked log must never pass an auditor silently
// (issue 17), with the real auditor program against real servers.
func TestForkedLog(t *testing.T) {
	w := newForkWorld(t)

	// The log itself serves a smaller fork (2 entries, the second a
	// backdoor), quorum-cosigned with the stolen keys. The auditor proves
	// it inconsistent from the tiles it verified: a split view, both
	// checkpoints as evidence, in the first --once run.
	_, smallURL, _ := w.fork(1, 1, time.Now())
	t.Run("smaller fork as the log, --once", func(t *testing.T) {
		st := w.state()
		out, code := w.once(st, "--log-url", smallURL)
		if code != 1 || !strings.Contains(out, "ALERT split-view: split view of log.treelog.example seen via log: the checkpoint of size 2 is not consistent with the one of size 3") {
			t.Fatalf("exit %d\n%s", code, out)
		}
		if sizes := w.evidenceSizes(w.alert(st, "split-view")); fmt.Sprint(sizes) != "[2 3]" {
			t.Errorf("evidence: checkpoints of sizes %v, want 2 and 3", sizes)
		}
	})
	t.Run("smaller fork as the log, daemon", func(t *testing.T) {
		st := w.state()
		p, err := proc.Start(w.bin, "--policy", w.n.PolicyFile, "--publishers", w.n.PublishersFile, "--state", st,
			"--log-url", smallURL, "--listen", "127.0.0.1:0", "--interval", "1h")
		if err != nil {
			t.Fatal(err)
		}
		defer p.Kill()
		var alerts []audit.Alert
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if resp, err := http.Get(p.URL() + "/alerts.json"); err == nil {
				alerts = nil
				json.NewDecoder(resp.Body).Decode(&alerts)
				resp.Body.Close()
			}
			if len(alerts) > 0 || time.Now().After(deadline) {
				break
			}
		}
		if len(alerts) != 1 || alerts[0].Kind != "split-view" || len(alerts[0].Evidence) != 2 || !strings.Contains(p.Logs(), "msg=ALERT kind=split-view") {
			t.Fatalf("daemon alerts: %+v\n%s", alerts, p.Logs())
		}
		if err := p.Stop(context.Background()); err != nil {
			t.Errorf("stopping: %v", err)
		}
	})

	// Every --log-url is a view: two that disagree are a split view,
	// whether the second serves a smaller fork or one of the same size.
	_, sameURL, _ := w.fork(2, 1, time.Now())
	t.Run("two log URLs that disagree", func(t *testing.T) {
		for _, tc := range []struct{ url, want string }{
			{smallURL, "seen via log URL " + smallURL + ": the checkpoint of size 2 is not consistent with the one of size 3"},
			{sameURL, "seen via log URL " + sameURL + ": two checkpoints of size 3 with different roots"},
		} {
			out, code := w.once(w.state(), "--log-url", w.n.LogURL, "--log-url", tc.url)
			if code != 1 || !strings.Contains(out, "ALERT split-view: split view of log.treelog.example "+tc.want) {
				t.Errorf("exit %d\n%s", code, out)
			}
		}
	})

	// A larger fork (the real 3 entries and a backdoor) is shown to the
	// victims of an evil tree mirror; the log serves the real one, so no
	// consistency proof can be had. Cosigned before the witnesses last
	// cosigned the real log, the witnesses' own timestamps prove the two
	// views: a split view in the first --once run.
	t.Run("larger fork, witness order, --once", func(t *testing.T) {
		f, _, evil := w.fork(3, 1, time.Now().Add(-time.Minute))
		mirror := evilMirror(t, evil, f, 3)
		st := w.state()
		out, code := w.once(st, "--mirror", "evil="+mirror, "--mirror-files", "0")
		if code != 1 || !strings.Contains(out, "ALERT split-view: split view of log.treelog.example seen via mirror evil: witness w") ||
			!strings.Contains(out, "cosigned a checkpoint of size 4 at") || !strings.Contains(out, "then the log's smaller one of size 3 at") {
			t.Fatalf("exit %d\n%s", code, out)
		}
		if sizes := w.evidenceSizes(w.alert(st, "split-view")); fmt.Sprint(sizes) != "[3 4]" {
			t.Errorf("evidence: checkpoints of sizes %v, want 3 and 4", sizes)
		}
	})

	// Cosigned with timestamps ahead of the real log's, the larger fork
	// proves nothing yet: an unproven-view alert in the first run, still
	// open in the next cron run after the mirror stopped showing it (the
	// state keeps it), and a split view once the real log has grown to
	// its size.
	t.Run("larger fork, unproven, remembered across --once runs", func(t *testing.T) {
		f, _, evil := w.fork(3, 1, time.Now().Add(5*time.Minute))
		mirror := evilMirror(t, evil, f, 3)
		st := w.state()
		out, code := w.once(st, "--mirror", "evil="+mirror, "--mirror-files", "0")
		if code != 1 || !strings.Contains(out, "ALERT unproven-view: mirror evil shows a checkpoint of size 4, signed by the log, that this auditor cannot prove consistent with the one of size 3 it verified") {
			t.Fatalf("first run: exit %d\n%s", code, out)
		}
		if sizes := w.evidenceSizes(w.alert(st, "unproven-view")); fmt.Sprint(sizes) != "[4 3]" {
			t.Errorf("evidence: checkpoints of sizes %v, want 4 and 3", sizes)
		}
		out, code = w.once(st)
		if code != 1 || !strings.Contains(out, "ALERT unproven-view: mirror evil shows a checkpoint of size 4") {
			t.Fatalf("the next run, the mirror gone: exit %d\n%s", code, out)
		}
		// The real log grows to size 4: two checkpoints of size 4.
		if _, err := w.n.PublishSnapshot(context.Background(), filepath.Join(w.dir, "pub", "src"), filepath.Join(w.dir, "pub", "snapshot3"), time.Now()); err != nil {
			t.Fatal(err)
		}
		out, code = w.once(st)
		if code != 1 || !strings.Contains(out, "ALERT split-view: split view of log.treelog.example seen via mirror evil: two checkpoints of size 4 with different roots") ||
			strings.Contains(out, "ALERT unproven-view") {
			t.Fatalf("after the log grew: exit %d\n%s", code, out)
		}
	})
}

// evilMirror serves a tree mirror's .treelog/ files: the MetaManifest mm
// and its proof at index in the fork f.
func evilMirror(t *testing.T, mm []byte, f *fork.Log, index uint64) string {
	t.Helper()
	proof, err := f.Proof(context.Background(), index)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/" + metamanifest.Dir + "/" + metamanifest.File:
			rw.Write(mm)
		case "/" + metamanifest.Dir + "/" + metamanifest.ProofFile:
			rw.Write(proof)
		default:
			http.NotFound(rw, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
