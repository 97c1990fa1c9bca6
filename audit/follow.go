package audit

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"treelog/checkpoint"
	"treelog/index"
	"treelog/internal/progress"
	"treelog/lag"
	"treelog/metamanifest"
	"treelog/policy"
	"treelog/tiles"
	"treelog/trust"
)

// entryResult is what checking one entry found.
type entryResult struct {
	origin  string
	ts      time.Time
	problem string // why the entry is bad by the publishers file, or ""
	raw     []byte // the entry, for evidence
	root    bool   // a trust-root version, followed in order by apply
	index   bool   // an index entry, judged in order by the index replay
	// parsed is what the index replay takes of a MetaManifest, taken
	// here in parallel rather than in the ordered loop.
	parsed *index.Parsed
}

type bundleResult struct {
	index   uint64 // bundle index
	entries []entryResult
	err     error
}

// checkBundle verifies one entry bundle: its entries hash to the level-0
// tile (itself verified against cp), and each MetaManifest is judged by
// the publishers file (metamanifest.Verify, the check the log and every
// client run); whether a trust root governs it instead depends on the
// versions logged before it, so apply decides that, in order.
func (a *Auditor) checkBundle(ctx context.Context, cp checkpoint.Checkpoint, b uint64, keys metamanifest.Keys) bundleResult {
	res := bundleResult{index: b}
	entries, err := tiles.VerifiedEntries(ctx, a.reader, a.prover, cp, b)
	if err != nil {
		res.err = err
		return res
	}
	res.entries = make([]entryResult, len(entries))
	for i, e := range entries {
		r := &res.entries[i]
		r.raw = e
		switch trust.KindOf(e) {
		case trust.KindTrustRoot:
			r.root = true
			continue
		case trust.KindIndex:
			r.index = true
			continue
		}
		if s, err := metamanifest.Verify(e, keys); err == nil {
			r.origin, r.ts = s.Origin, s.Timestamp
		} else {
			r.problem = err.Error()
			// The origin still matters to apply, which tells whether a trust
			// root governs it (and may allow what the publishers file does not).
			if m, _, err := metamanifest.Parse(e); err == nil {
				r.origin, r.ts = m.Origin, m.Timestamp
			}
		}
		if r.origin != "" {
			r.parsed = &index.Parsed{Origin: r.origin, Timestamp: r.ts, LeafHash: index.Hash(checkpoint.LeafHash(e))}
		}
	}
	return res
}

// catchUp verifies the entries [state.Scanned, cp.Size) against cp, in
// parallel, and applies them in order to st, saving progress every few
// seconds. It returns when every entry is verified, or at the first error.
// prev (the checkpoint verified before, if any) and cur (cp under the
// policy) bound when each new entry entered the log.
func (a *Auditor) catchUp(ctx context.Context, st *State, cp *checkpoint.Signed, prev, cur *policy.Result) error {
	ip, err := a.newIndexPass(st, cp)
	if err != nil {
		return err
	}
	if ip.rp.Next() < st.Scanned {
		// A state from before the index: replay the index over what was
		// verified already.
		if err := a.replayIndex(ctx, ip, cp, st.Scanned); err != nil {
			return err
		}
		ip.save(st)
	}
	defer a.finishIndex(ctx, st, ip, cp)
	if st.Scanned >= cp.Size {
		return nil
	}
	count := progress.New(a.cfg.Progress, "auditing", "entries")
	count.SetTotal(int64(cp.Size - st.Scanned))
	defer count.Done()

	keys := a.cfg.Publishers
	auth, err := a.authority(st)
	if err != nil {
		return err
	}
	workers := runtime.GOMAXPROCS(0)
	type job struct {
		b   uint64
		out chan bundleResult
	}
	jobs := make(chan job)
	ordered := make(chan chan bundleResult, 4*workers)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range workers {
		go func() {
			for j := range jobs {
				j.out <- a.checkBundle(ctx, cp.Checkpoint, j.b, keys)
			}
		}()
	}
	go func() {
		defer close(jobs)
		defer close(ordered)
		for b := st.Scanned / tiles.TileWidth; b*tiles.TileWidth < cp.Size; b++ {
			out := make(chan bundleResult, 1)
			select {
			case ordered <- out:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- job{b, out}:
			case <-ctx.Done():
				return
			}
		}
	}()
	lastSave := time.Now()
	for out := range ordered {
		var r bundleResult
		select {
		case r = <-out:
		case <-ctx.Done():
			return ctx.Err()
		}
		if r.err != nil {
			return r.err
		}
		for i, e := range r.entries {
			idx := r.index*tiles.TileWidth + uint64(i)
			if idx < st.Scanned {
				continue // verified in an earlier pass (a partial bundle then)
			}
			if err := a.apply(st, auth, cp, idx, e, prev, cur, ip.rp); err != nil {
				return err
			}
			st.Scanned = idx + 1
		}
		count.Add(int64(len(r.entries)), 0)
		a.metrics.entries.Set(float64(st.Scanned))
		if time.Since(lastSave) > 2*time.Second {
			ip.save(st)
			if err := st.save(a.cfg.StateDir); err != nil {
				return err
			}
			lastSave = time.Now()
		}
	}
	ip.save(st)
	return st.save(a.cfg.StateDir)
}

// replayIndex applies entries [rp.Next(), upTo), verified against cp, to
// the index replay alone.
func (a *Auditor) replayIndex(ctx context.Context, ip *indexPass, cp *checkpoint.Signed, upTo uint64) error {
	for b := ip.rp.Next() / tiles.TileWidth; b*tiles.TileWidth < upTo; b++ {
		entries, err := tiles.VerifiedEntries(ctx, a.reader, a.prover, cp.Checkpoint, b)
		if err != nil {
			return err
		}
		for i, e := range entries {
			idx := b*tiles.TileWidth + uint64(i)
			if idx < ip.rp.Next() || idx >= upTo {
				continue
			}
			if _, err := ip.rp.Apply(idx, e); err != nil {
				return err
			}
		}
	}
	return nil
}

// apply records one verified entry, in log order: every entry goes to the
// index replay; follows a trust-root version; judges a MetaManifest by the
// trust root in force for its origin at idx if one governs it (else the
// workers judged it by the publishers file); alerts for a bad or
// backdated one; else records the origin's newest snapshot, with when it
// entered the log.
func (a *Auditor) apply(st *State, auth *trust.Authority, cp *checkpoint.Signed, idx uint64, e entryResult, prev, cur *policy.Result, rp *index.Replayer) error {
	if _, err := rp.ApplyParsed(idx, e.raw, e.parsed); err != nil {
		return err
	}
	if e.index {
		return nil
	}
	if e.root {
		a.applyRoot(st, auth, cp, idx, e)
		return nil
	}
	if e.origin != "" {
		if problem, governed := judge(auth, idx, e); governed {
			e.problem = problem
		}
	}
	if e.problem != "" {
		a.alerts.raise(AlertBadEntry, fmt.Sprintf("entry %d", idx), fmt.Sprintf("log entry %d: %s", idx, e.problem), e.raw, cp.Bytes())
		return nil
	}
	o, ok := st.Origins[e.origin]
	if ok && !e.ts.After(o.Timestamp) {
		a.alerts.raise(AlertBackdated, fmt.Sprintf("entry %d", idx),
			fmt.Sprintf("log entry %d: TIMESTAMP %s of %s is not after %s, already logged at index %d", idx, e.ts.Format(time.RFC3339), e.origin, o.Timestamp.Format(time.RFC3339), o.Index),
			e.raw, cp.Bytes())
		return nil
	}
	var b lag.Bounds
	b.Learn(prev, idx)
	b.Learn(cur, idx)
	o.Timestamp, o.Index = e.ts, idx
	o.Recent = keepRecent(append(o.Recent, RecentSnapshot{Index: idx, Timestamp: e.ts, Bounds: b}), a.cfg.Now(), a.recentWindow())
	st.Origins[e.origin] = o
	return nil
}

// recentWindow is how long the snapshots of an origin are kept for the
// mirror lag rule: past it, the first newer snapshot kept (the boundary)
// is enough to call any mirror behind it stale.
func (a *Auditor) recentWindow() time.Duration {
	return max(2*a.cfg.MirrorLag, 24*time.Hour)
}

// keepRecent drops the snapshots that entered the log longer than window
// ago, but for the newest of those: a mirror serving anything older is
// behind that one, which is enough for the verdict.
func keepRecent(rs []RecentSnapshot, now time.Time, window time.Duration) []RecentSnapshot {
	i := 0
	for i+1 < len(rs) && now.Sub(rs[i+1].Bounds.Entered(rs[i+1].Timestamp)) > window {
		i++
	}
	return rs[i:]
}
