package client_test

import (
	"strings"
	"testing"
	"time"

	"treelog/client"
)

// TestMirrorLag: a mirror one or two snapshots behind is accepted while
// the newer snapshots have been in the log less than --max-lag, saying so,
// and refused as stale or replayed once one has been there longer. When a
// snapshot entered the log comes from signed objects: the TIMESTAMP,
// raised to what the witnesses' cosignatures prove.
func TestMirrorLag(t *testing.T) {
	w := newWorld(t)
	// One snapshot behind, the newer one logged seconds ago: accepted.
	w.mirror.SetDir(w.snapshots[1])
	cfg := w.cfg(t.TempDir())
	var replay string
	cfg.OnCheck = func(c client.Check) {
		if c.Name == client.CheckReplay {
			replay = c.Status + " " + c.Detail
		}
	}
	res, err := client.Verify(ctx, w.sync(t), cfg)
	if err != nil {
		t.Fatalf("a mirror one snapshot behind, within the lag: %v", err)
	}
	if !strings.HasPrefix(replay, "ok ") || !strings.Contains(replay, "1 newer snapshot logged ") || !strings.Contains(replay, "seconds ago; this mirror lags (allowed: 2 hours)") {
		t.Errorf("replay check: %q", replay)
	}
	if res.Lag == nil || res.Lag.Newer != 1 || res.Lag.Newest.Index != 2 || !res.Lag.OK {
		t.Errorf("lag verdict: %+v", res.Lag)
	}
	// The user's state records the snapshot accepted, not the newer one:
	// the same lagging mirror is not a rollback next time.
	if _, err := client.Verify(ctx, w.sync(t), cfg); err != nil {
		t.Errorf("the same lagging mirror again: %v", err)
	}

	// Three hours later the newer snapshot has been logged longer than the
	// lag: refused, saying how many, the newest's TIMESTAMP and how long.
	later := w.cfg(t.TempDir())
	later.Now = func() time.Time { return time.Now().Add(3 * time.Hour) }
	f := refused(t, w.sync(t), later, client.CheckReplay,
		"1 newer snapshot in the log, TIMESTAMP "+w.times[2].Format(time.RFC3339)+" at index 2, logged 3 hours")
	if len(f.Evidence) != 2 || !strings.Contains(string(f.Evidence[0]), w.times[2].UTC().Format("2006-01-02T15:04:05Z")) {
		t.Errorf("evidence: the newer logged MetaManifest and the served one, got %q", f.Evidence)
	}
	// A longer allowed lag accepts it again.
	later.MaxLag = 4 * time.Hour
	if _, err := client.Verify(ctx, w.sync(t), later); err != nil {
		t.Errorf("--max-lag 4h, 3 hours later: %v", err)
	}

	// Two behind: the message counts both and names the newest.
	w.mirror.SetDir(w.snapshots[0])
	later = w.cfg(t.TempDir())
	later.Now = func() time.Time { return time.Now().Add(3 * time.Hour) }
	refused(t, w.sync(t), later, client.CheckReplay, "2 newer snapshots in the log, the newest TIMESTAMP "+w.times[2].Format(time.RFC3339)+" at index 2, logged 3 hours")

	// Entry time is bounded by the witnesses, not taken from the
	// TIMESTAMP alone: snapshot 1's TIMESTAMP is 90 minutes old, but the
	// checkpoint of snapshot 0's proof, without it, was cosigned seconds
	// ago, so it entered the log at most seconds ago: a 1-hour lag accepts.
	strict := w.cfg(t.TempDir())
	strict.MaxLag = time.Hour
	res, err = client.Verify(ctx, w.sync(t), strict)
	if err != nil || res.Lag == nil || res.Lag.Lag > time.Minute {
		t.Fatalf("entry time bounded below by the proof's cosignatures: %v, %+v", err, res.Lag)
	}

	// Rollback against the user's own state stays refused, lag or not.
	state := t.TempDir()
	w.mirror.SetDir(w.snapshots[2])
	if _, err := client.Verify(ctx, w.sync(t), w.cfg(state)); err != nil {
		t.Fatal(err)
	}
	w.mirror.SetDir(w.snapshots[1])
	generous := w.cfg(state)
	generous.MaxLag = 24 * time.Hour
	f = refused(t, w.sync(t), generous, client.CheckReplay, "rollback: this snapshot's TIMESTAMP "+w.times[1].Format(time.RFC3339))
	if len(f.Evidence) != 2 {
		t.Errorf("rollback evidence: %d objects", len(f.Evidence))
	}
}
