// Package lag is the one rule, shared by the user's check and the
// auditor, for a tree snapshot that is not the newest of its origin: a
// mirror may lag, so such a snapshot is accepted while every newer
// snapshot of its origin entered the log less than the allowed lag ago,
// and refused as stale or replayed after that.
//
// When a snapshot entered the log is the time of the first witnessed
// checkpoint that holds it. Nobody keeps that time, so it is bounded by
// what signed objects prove (Bounds): the publisher's TIMESTAMP, signed
// before the snapshot was submitted, held between the cosignature times
// of the checkpoints known to lack and to hold the entry. A mirror can
// forge none of these.
//
// Judge takes the newer snapshots of an origin and when each entered the
// log, whoever found them: today a scan of the log's entries (client) or
// the auditor's replay; later a verifiable per-origin index.
package lag

import (
	"fmt"
	"time"

	"treelog/policy"
)

// A Snapshot is a logged snapshot of an origin, newer than the one being
// judged.
type Snapshot struct {
	// Index is its entry's index in the log.
	Index uint64 `json:"index"`
	// Timestamp is its TIMESTAMP.
	Timestamp time.Time `json:"timestamp"`
	// Entered is when it entered the log (see Bounds.Entered).
	Entered time.Time `json:"entered"`
	// Entry is its MetaManifest as logged, kept as evidence (may be nil).
	Entry []byte `json:"-"`
}

// Bounds are what witnessed checkpoints prove about when one entry entered
// the log. The zero value knows nothing.
type Bounds struct {
	// NotBefore: a checkpoint without the entry was cosigned, by then, by
	// enough witnesses that no quorum can have cosigned one with it
	// earlier (policy.Result.NoneLargerBefore).
	NotBefore time.Time
	// NotAfter: a checkpoint with the entry had its quorum by then
	// (policy.Result.CosignedBy).
	NotAfter time.Time
}

// Learn narrows the bounds of the entry at index with a checkpoint that
// verified under the policy (quorum met or not: cosignatures that verify
// are facts either way).
func (b *Bounds) Learn(r *policy.Result, index uint64) {
	if r == nil || r.Checkpoint == nil {
		return
	}
	if index < r.Checkpoint.Size {
		if t, ok := r.CosignedBy(); ok && (b.NotAfter.IsZero() || t.Before(b.NotAfter)) {
			b.NotAfter = t
		}
		return
	}
	if t, ok := r.NoneLargerBefore(); ok && t.After(b.NotBefore) {
		b.NotBefore = t
	}
}

// Entered returns when an entry with the given TIMESTAMP entered the log:
// the TIMESTAMP (a publisher signs it before submitting, so the entry
// cannot have entered earlier), raised to NotBefore and then lowered to
// NotAfter, which the witnesses prove. Where they disagree, NotAfter wins:
// the earlier time, which shortens no replay window.
func (b Bounds) Entered(timestamp time.Time) time.Time {
	t := timestamp
	if t.Before(b.NotBefore) {
		t = b.NotBefore
	}
	if !b.NotAfter.IsZero() && t.After(b.NotAfter) {
		t = b.NotAfter
	}
	return t
}

// A Verdict judges a snapshot by the newer snapshots of its origin.
type Verdict struct {
	// OK is false when a newer snapshot entered the log MaxLag ago or
	// longer: the snapshot is stale or replayed.
	OK     bool          `json:"ok"`
	MaxLag time.Duration `json:"max_lag_ns"`
	// Newer counts the newer snapshots; First is the one that entered the
	// log first, Newest the one with the newest TIMESTAMP.
	Newer  int      `json:"newer"`
	First  Snapshot `json:"first,omitzero"`
	Newest Snapshot `json:"newest,omitzero"`
	// Lag is how long ago First entered the log (0 if none is newer).
	Lag time.Duration `json:"lag_ns"`
	// NewestAgo is how long ago Newest entered the log.
	NewestAgo time.Duration `json:"newest_ago_ns"`
}

// Judge applies the rule: a snapshot is accepted while every newer one
// (newer) entered the log less than maxLag before now.
func Judge(newer []Snapshot, maxLag time.Duration, now time.Time) Verdict {
	v := Verdict{OK: true, MaxLag: maxLag, Newer: len(newer)}
	for i, s := range newer {
		if i == 0 || s.Entered.Before(v.First.Entered) {
			v.First = s
		}
		if i == 0 || s.Timestamp.After(v.Newest.Timestamp) {
			v.Newest = s
		}
	}
	if len(newer) == 0 {
		return v
	}
	v.Lag = max(now.Sub(v.First.Entered), 0)
	v.NewestAgo = max(now.Sub(v.Newest.Entered), 0)
	v.OK = v.Lag < maxLag
	return v
}

// String says what the verdict found, for a person: nothing newer; a
// lagging mirror ("1 newer snapshot logged 12 minutes ago; this mirror
// lags"); or a stale one, with how many newer snapshots there are, the
// newest one's TIMESTAMP and how long ago each end was logged.
func (v Verdict) String() string {
	const ts = time.RFC3339
	switch {
	case v.Newer == 0:
		return "no newer snapshot in the log"
	case v.OK && v.Newer == 1:
		return fmt.Sprintf("1 newer snapshot logged %s ago; this mirror lags (allowed: %s)", Words(v.Lag), Words(v.MaxLag))
	case v.OK:
		return fmt.Sprintf("%d newer snapshots, the first logged %s ago, the newest (TIMESTAMP %s) %s ago; this mirror lags (allowed: %s)",
			v.Newer, Words(v.Lag), v.Newest.Timestamp.Format(ts), Words(v.NewestAgo), Words(v.MaxLag))
	case v.Newer == 1:
		return fmt.Sprintf("1 newer snapshot in the log, TIMESTAMP %s at index %d, logged %s ago: longer than the allowed lag of %s, so this snapshot is stale or replayed",
			v.Newest.Timestamp.Format(ts), v.Newest.Index, Words(v.Lag), Words(v.MaxLag))
	}
	return fmt.Sprintf("%d newer snapshots in the log, the newest TIMESTAMP %s at index %d, logged %s ago; the first of them was logged %s ago: longer than the allowed lag of %s, so this snapshot is stale or replayed",
		v.Newer, v.Newest.Timestamp.Format(ts), v.Newest.Index, Words(v.NewestAgo), Words(v.Lag), Words(v.MaxLag))
}

// Words says a duration in words: "9 days", "14 hours", "2 hours 30
// minutes", "42 minutes", "1 second".
func Words(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	case d >= 10*time.Hour:
		return fmt.Sprintf("%d hours", int(d.Hours()))
	case d >= 2*time.Hour:
		// Near the usual lags, minutes matter.
		switch m := int(d.Minutes()) % 60; m {
		case 0:
		case 1:
			return fmt.Sprintf("%d hours 1 minute", int(d.Hours()))
		default:
			return fmt.Sprintf("%d hours %d minutes", int(d.Hours()), m)
		}
		return fmt.Sprintf("%d hours", int(d.Hours()))
	case d >= 2*time.Minute:
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	case d < 0:
		return "in the future by " + Words(-d)
	}
	if s := int(d.Seconds()); s != 1 {
		return fmt.Sprintf("%d seconds", s)
	}
	return "1 second"
}
