package lag

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func TestJudge(t *testing.T) {
	now := t0.Add(3 * time.Hour)
	snap := func(i uint64, ts, entered time.Duration) Snapshot {
		return Snapshot{Index: i, Timestamp: t0.Add(ts), Entered: t0.Add(entered)}
	}
	for _, tc := range []struct {
		name   string
		newer  []Snapshot
		ok     bool
		lag    time.Duration
		phrase string
	}{
		{"nothing newer", nil, true, 0, "no newer snapshot in the log"},
		{"one, recent", []Snapshot{snap(7, 2*time.Hour+48*time.Minute, 2*time.Hour+48*time.Minute)}, true, 12 * time.Minute,
			"1 newer snapshot logged 12 minutes ago; this mirror lags (allowed: 2 hours)"},
		{"two, both recent", []Snapshot{snap(7, 2*time.Hour, 2*time.Hour), snap(9, 150*time.Minute, 150*time.Minute)}, true, time.Hour,
			"2 newer snapshots, the first logged 60 minutes ago, the newest (TIMESTAMP 2026-05-01T14:30:00Z) 30 minutes ago; this mirror lags"},
		// The verdict is the earliest entry, whatever the order given.
		{"two, the first too old", []Snapshot{snap(9, 150*time.Minute, 150*time.Minute), snap(7, 30*time.Minute, 30*time.Minute)}, false, 150 * time.Minute,
			"2 newer snapshots in the log, the newest TIMESTAMP 2026-05-01T14:30:00Z at index 9, logged 30 minutes ago; the first of them was logged 2 hours 30 minutes ago: longer than the allowed lag of 2 hours"},
		{"one, exactly the lag", []Snapshot{snap(7, time.Hour, time.Hour)}, false, 2 * time.Hour,
			"1 newer snapshot in the log, TIMESTAMP 2026-05-01T13:00:00Z at index 7, logged 2 hours ago: longer than the allowed lag of 2 hours, so this snapshot is stale or replayed"},
		{"entered in the future (clock skew): no lag", []Snapshot{snap(7, 4*time.Hour, 4*time.Hour)}, true, 0, "1 newer snapshot logged 0 seconds ago"},
	} {
		v := Judge(tc.newer, 2*time.Hour, now)
		if v.OK != tc.ok || v.Lag != tc.lag || v.Newer != len(tc.newer) || !strings.Contains(v.String(), tc.phrase) {
			t.Errorf("%s: ok %v lag %s: %q", tc.name, v.OK, v.Lag, v.String())
		}
	}
}

// TestEntered: a TIMESTAMP is taken as the entry time only within what
// the witnesses prove.
func TestEntered(t *testing.T) {
	ts := t0
	for _, tc := range []struct {
		name string
		b    Bounds
		want time.Time
	}{
		{"nothing known: the TIMESTAMP", Bounds{}, ts},
		{"logged later than its TIMESTAMP (a bridge): raised", Bounds{NotBefore: ts.Add(time.Hour)}, ts.Add(time.Hour)},
		{"a TIMESTAMP ahead of the witnesses: lowered", Bounds{NotAfter: ts.Add(-time.Minute)}, ts.Add(-time.Minute)},
		{"within both", Bounds{NotBefore: ts.Add(-time.Hour), NotAfter: ts.Add(time.Hour)}, ts},
		{"bounds that disagree: the earlier wins", Bounds{NotBefore: ts.Add(time.Hour), NotAfter: ts.Add(time.Minute)}, ts.Add(time.Minute)},
	} {
		if got := tc.b.Entered(ts); !got.Equal(tc.want) {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestWords(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                  "0 seconds",
		time.Second:        "1 second",
		90 * time.Second:   "90 seconds",
		45 * time.Minute:   "45 minutes",
		150 * time.Minute:  "2 hours 30 minutes",
		14 * time.Hour:     "14 hours",
		9 * 24 * time.Hour: "9 days",
		-3 * time.Hour:     "in the future by 3 hours",
	} {
		if got := Words(d); got != want {
			t.Errorf("Words(%s) = %q, want %q", d, got, want)
		}
	}
}
