package audit

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"time"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"

	"treelog/checkpoint"
	"treelog/internal/progress"
	"treelog/metamanifest"
	"treelog/note"
	"treelog/policy"
	"treelog/tiles"
)

// publisherKeys are the keys allowed per origin, precomputed for batch
// verification.
type publisherKeys map[string][]pubKey

type pubKey struct {
	name     string
	id       uint32
	expanded *voi.ExpandedPublicKey
	verifier note.Verifier
}

func newPublisherKeys(p *policy.Publishers) (publisherKeys, error) {
	out := publisherKeys{}
	for _, o := range p.Origins() {
		vs := p.Verifiers(o)
		for i, k := range p.Keys(o) {
			x, err := k.Expanded()
			if err != nil {
				return nil, fmt.Errorf("publisher key %s: %w", k.Name, err)
			}
			out[o] = append(out[o], pubKey{name: k.Name, id: k.ID, expanded: x, verifier: vs[i]})
		}
	}
	return out, nil
}

// entryResult is what checking one entry found.
type entryResult struct {
	origin  string
	ts      time.Time
	problem string // why the entry is bad, or ""
	raw     []byte // the entry, for evidence
}

type bundleResult struct {
	index   uint64 // bundle index
	entries []entryResult
	err     error
}

// checkBundle verifies one entry bundle: its entries hash to the level-0
// tile (itself verified against cp), and each is a MetaManifest signed by
// a key allowed for its origin. Signatures are verified as a batch (about
// twice as fast as one by one); if the batch fails, one by one, to name the
// bad ones.
func (a *Auditor) checkBundle(ctx context.Context, cp checkpoint.Checkpoint, b uint64) bundleResult {
	res := bundleResult{index: b}
	leaves, err := a.prover.LeafHashes(ctx, cp, b)
	if err != nil {
		res.err = fmt.Errorf("tiles of entry bundle %d: %w", b, err)
		return res
	}
	w, _ := tiles.BundleWidth(b, cp.Size)
	data, err := a.reader.ReadEntryBundle(ctx, b, w)
	if err != nil {
		res.err = fmt.Errorf("entry bundle %d: %w", b, err)
		return res
	}
	entries, err := tiles.ParseEntryBundle(data, len(leaves))
	if err != nil {
		res.err = fmt.Errorf("entry bundle %d: %w", b, err)
		return res
	}
	res.entries = make([]entryResult, len(entries))
	type sig struct {
		entry int
		key   pubKey
		msg   []byte
		sig   []byte
	}
	var sigs []sig
	for i, e := range entries {
		r := &res.entries[i]
		r.raw = e
		if checkpoint.LeafHash(e) != leaves[i] {
			res.err = fmt.Errorf("entry %d does not hash to its leaf in the checkpoint of size %d", b*tiles.TileWidth+uint64(i), cp.Size)
			return res
		}
		m, n, err := metamanifest.Parse(e)
		if err != nil {
			r.problem = fmt.Sprintf("not a MetaManifest: %v", err)
			continue
		}
		r.origin, r.ts = m.Origin, m.Timestamp
		keys := a.keys[m.Origin]
		found := 0
		for _, s := range n.Sigs {
			for _, k := range keys {
				if s.Name == k.name && s.Hash == k.id {
					found++
					sigs = append(sigs, sig{entry: i, key: k, msg: []byte(n.Text), sig: s.Sig})
				}
			}
		}
		if found == 0 {
			var names []string
			for _, s := range n.Sigs {
				names = append(names, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
			}
			r.problem = fmt.Sprintf("signed by %s, none of them allowed to publish %q", strings.Join(names, ", "), m.Origin)
		}
	}
	bv := voi.NewBatchVerifierWithCapacity(len(sigs))
	for _, s := range sigs {
		bv.AddExpanded(s.key.expanded, s.msg, s.sig)
	}
	if len(sigs) > 0 && !bv.VerifyBatchOnly(nil) {
		for _, s := range sigs {
			if !s.key.verifier.Verify(s.msg, s.sig) {
				r := &res.entries[s.entry]
				r.problem = fmt.Sprintf("the signature by %s+%08x does not verify", s.key.name, s.key.id)
			}
		}
	}
	return res
}

// catchUp verifies the entries [state.Scanned, cp.Size) against cp, in
// parallel, and applies them in order to st, saving progress every few
// seconds. It returns when every entry is verified, or at the first error.
func (a *Auditor) catchUp(ctx context.Context, st *State, cp *checkpoint.Signed) error {
	if st.Scanned >= cp.Size {
		return nil
	}
	count := progress.New(a.cfg.Progress, "auditing", "entries")
	count.SetTotal(int64(cp.Size - st.Scanned))
	defer count.Done()

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
				j.out <- a.checkBundle(ctx, cp.Checkpoint, j.b)
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
			a.apply(st, cp, idx, e)
			st.Scanned = idx + 1
		}
		count.Add(int64(len(r.entries)), 0)
		a.metrics.entries.Set(float64(st.Scanned))
		if time.Since(lastSave) > 2*time.Second {
			if err := st.save(a.cfg.StateDir); err != nil {
				return err
			}
			lastSave = time.Now()
		}
	}
	return st.save(a.cfg.StateDir)
}

// apply records one verified entry: alerts for a bad or backdated one.
func (a *Auditor) apply(st *State, cp *checkpoint.Signed, idx uint64, e entryResult) {
	if e.problem != "" {
		a.alerts.raise(AlertBadEntry, fmt.Sprintf("entry %d", idx), fmt.Sprintf("log entry %d: %s", idx, e.problem), e.raw, cp.Bytes())
		return
	}
	prev, ok := st.Origins[e.origin]
	if ok && !e.ts.After(prev.Timestamp) {
		a.alerts.raise(AlertBackdated, fmt.Sprintf("entry %d", idx),
			fmt.Sprintf("log entry %d: TIMESTAMP %s of %s is not after %s, already logged at index %d", idx, e.ts.Format(time.RFC3339), e.origin, prev.Timestamp.Format(time.RFC3339), prev.Index),
			e.raw, cp.Bytes())
		return
	}
	st.Origins[e.origin] = OriginState{Timestamp: e.ts, Index: idx}
}
