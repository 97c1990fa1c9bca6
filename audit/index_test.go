package audit_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"treelog/audit"
	"treelog/demo/evilindex"
	"treelog/demo/network"
	"treelog/internal/keyfile"
	"treelog/internal/testkit/fork"
	"treelog/manifest"
	"treelog/metamanifest"
	"treelog/note"
	"treelog/policy"
	"treelog/publisher"
	"treelog/trust"
)

// lyingLog starts a network, logs n snapshots of its tree, then has the
// log lie in its index; it returns an auditor reading the lying log as a
// static mirror serves it.
func lyingLog(t *testing.T, snapshots int, o evilindex.Options, lie evilindex.Lie) (*audit.Auditor, uint64) {
	t.Helper()
	n, err := network.Start(ctx, t.TempDir(), network.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	ts := time.Now().Add(-time.Duration(snapshots) * time.Hour).UTC().Truncate(time.Second)
	for i := range snapshots {
		m := &metamanifest.MetaManifest{Origin: "example.org/tree", Timestamp: ts.Add(time.Duration(i) * time.Hour), ManifestSize: 1,
			ManifestHashes: manifest.HashBytes([]byte{byte(i)}, metamanifest.Hashes)}
		b, err := metamanifest.Sign(m, n.Publisher)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := (&publisher.Client{}).Submit(ctx, n.LogURL, b, 0); err != nil {
			t.Fatal(err)
		}
	}
	pos, err := evilindex.Publish(ctx, n, o, lie)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(n.Dir, "log"))))
	t.Cleanup(srv.Close)
	pol, err := policy.Parse(read(n.PolicyFile))
	if err != nil {
		t.Fatal(err)
	}
	pubs, _ := trust.ParsePublishers(read(n.PublishersFile))
	a, err := audit.New(audit.Config{Policy: pol, Publishers: pubs, StateDir: t.TempDir(), LogURLs: []string{srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a, pos
}

// TestIndexLies: an index entry that omits an origin, names an older
// snapshot as the newest, or disagrees with the entry it names, is
// recomputed from the log and reported as index-wrong, with the entry and
// the checkpoint covering it, and an alert naming the origin and both
// answers; an honest index served under an unwitnessed checkpoint is
// reported as index-unwitnessed. An honest index raises nothing.
func TestIndexLies(t *testing.T) {
	for _, c := range []struct {
		name string
		o    evilindex.Options
		lie  evilindex.Lie
		want []string // alert kind, then what a message of that kind says
	}{
		{"honest", evilindex.Options{}, evilindex.Truth(), nil},
		{"omits", evilindex.Options{}, evilindex.Omit("example.org/tree"), []string{"index-wrong", "it has no record of it at all", "the index omits it"}},
		{"older", evilindex.Options{}, evilindex.Older("example.org/tree"), []string{"index-wrong", "number 2)", "the index names an older snapshot as the newest"}},
		{"disagrees", evilindex.Options{}, evilindex.Disagree("example.org/tree"), []string{"index-wrong", "number 3)", "the index disagrees with the log's entry"}},
		{"unwitnessed", evilindex.Options{Unwitnessed: true}, evilindex.Truth(), []string{"index-unwitnessed", "not witnessed"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, pos := lyingLog(t, 3, c.o, c.lie)
			if err := a.Pass(ctx); err != nil {
				t.Fatal(err)
			}
			als := a.Alerts()
			if c.want == nil {
				if len(als) != 0 {
					t.Fatalf("alerts on an honest index: %+v", als)
				}
				return
			}
			var found []audit.Alert
			for _, al := range als {
				if al.Kind == c.want[0] {
					found = append(found, al)
				} else {
					t.Errorf("unexpected alert %s: %s", al.Kind, al.Message)
				}
			}
			if len(found) == 0 {
				t.Fatalf("no %s alert; alerts: %+v", c.want[0], als)
			}
			all := ""
			for _, al := range found {
				t.Logf("%s: %s", al.Kind, al.Message)
			}
			for _, al := range found {
				all += al.Message + "\n"
				if len(al.Evidence) == 0 {
					t.Errorf("alert without evidence: %s", al.Message)
				}
			}
			for _, w := range c.want[1:] {
				if !strings.Contains(all, w) {
					t.Errorf("the alerts do not say %q:\n%s", w, all)
				}
			}
			if c.want[0] == "index-wrong" && !strings.Contains(all, "log entry "+itoa(pos)) {
				t.Errorf("the alerts do not name the lying entry %d:\n%s", pos, all)
			}
		})
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// TestCarriedCheckpointsKept: the checkpoints index entries carry are
// proven consistent with the verified view at the end of a pass; one not
// proven yet is kept in the state, so that a pass cut short (or an
// auditor restarted) still checks it, and one on a fork is then a
// split view naming the index entry.
func TestCarriedCheckpointsKept(t *testing.T) {
	w := shared
	dir := t.TempDir()
	a := w.auditor(t, "", func(c *audit.Config) { c.StateDir = dir; c.Mirrors = nil })
	if err := a.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if als := a.Alerts(); len(als) != 0 {
		t.Fatalf("alerts on the honest log: %+v", als)
	}
	a.Close()
	var st map[string]any
	if err := json.Unmarshal(read(filepath.Join(dir, "state.json")), &st); err != nil {
		t.Fatal(err)
	}
	if c, ok := st["carried"]; ok {
		t.Fatalf("carried checkpoints left after an honest pass: %v", c)
	}
	// A carried checkpoint of a fork, cosigned with stolen witness keys,
	// left in the state by a pass that did not get to prove it.
	var stolen []note.Signer
	for _, name := range []string{"w1", "w2"} {
		s, err := keyfile.ReadSigner(filepath.Join(w.n.Dir, name+".key"))
		if err != nil {
			t.Fatal(err)
		}
		stolen = append(stolen, s)
	}
	f, err := fork.Build(ctx, t.TempDir(), w.n.LogSigner, [][]byte{[]byte("not the log's first entry")}, stolen, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	st["carried"] = []audit.CarriedCheckpoint{{Position: 7, Checkpoint: f.Checkpoint}}
	data, _ := json.Marshal(st)
	if err := os.WriteFile(filepath.Join(dir, "state.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	a = w.auditor(t, "", func(c *audit.Config) { c.StateDir = dir; c.Mirrors = nil })
	defer a.Close()
	if err := a.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	var split []audit.Alert
	for _, al := range a.Alerts() {
		if al.Kind == audit.AlertSplitView {
			split = append(split, al)
		}
	}
	if len(split) != 1 || !strings.Contains(split[0].Message, "index entry 7") {
		t.Fatalf("alerts: %+v, want one split view naming index entry 7", a.Alerts())
	}
}
