package lag

import (
	"slices"
	"testing"
	"time"
)

// FuzzJudge: the verdict is the rule, whatever the snapshots: accepted
// exactly when every newer snapshot entered less than maxLag before now;
// the order they come in does not matter; one more newer snapshot never
// turns a refusal into an acceptance; and the bounds never make an entry
// time later than NotAfter.
func FuzzJudge(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6}, int64(7200), int64(1000))
	f.Add([]byte{}, int64(1), int64(0))
	f.Add([]byte{255, 0, 255, 0}, int64(0), int64(-5))
	f.Fuzz(func(t *testing.T, data []byte, lagSeconds, nowOffset int64) {
		if len(data) > 64 {
			return
		}
		maxLag := time.Duration(lagSeconds%(1<<32)) * time.Second
		now := t0.Add(time.Duration(nowOffset%(1<<32)) * time.Second)
		var newer []Snapshot
		for i := 0; i+1 < len(data); i += 2 {
			ts := t0.Add(time.Duration(int8(data[i])) * time.Minute)
			b := Bounds{NotBefore: t0.Add(time.Duration(int8(data[i+1])) * time.Minute)}
			if data[i]&1 == 1 {
				b.NotAfter = t0.Add(time.Duration(int8(data[i+1]^data[i])) * time.Minute)
			}
			e := b.Entered(ts)
			if !b.NotAfter.IsZero() && e.After(b.NotAfter) {
				t.Fatalf("entered %s after NotAfter %s", e, b.NotAfter)
			}
			newer = append(newer, Snapshot{Index: uint64(i), Timestamp: ts, Entered: e})
		}
		v := Judge(newer, maxLag, now)
		want := true
		for _, s := range newer {
			if max(now.Sub(s.Entered), 0) >= maxLag {
				want = false
			}
		}
		if v.OK != want || v.Newer != len(newer) {
			t.Fatalf("Judge(%v, %s, %s) = %+v, want ok %v", newer, maxLag, now, v, want)
		}
		rev := slices.Clone(newer)
		slices.Reverse(rev)
		if w := Judge(rev, maxLag, now); w.OK != v.OK || w.Lag != v.Lag {
			t.Fatalf("order matters: %+v vs %+v", v, w)
		}
		if len(newer) > 1 && !Judge(newer[:len(newer)-1], maxLag, now).OK && v.OK {
			t.Fatal("one more newer snapshot turned a refusal into an acceptance")
		}
	})
}
