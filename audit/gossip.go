package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"treelog/checkpoint"
	"treelog/internal/untrusted"
	"treelog/policy"
	"treelog/tiles"
)

// The rule (docs/threat-model.md): a view of the log that this auditor
// cannot prove consistent with what it verified raises an alert at once.
// Proven inconsistent, it is a split view (sticky, both checkpoints as
// evidence); not proven either way, it is an unproven view, kept across
// runs and checked again until the log proves or disproves it. Nothing is
// dropped silently, and no timeout stands between a conflicting
// checkpoint and its alert.

// An outcome of comparing two checkpoints.
type outcome int

const (
	proven       outcome = iota // consistent
	inconsistent                // a split view: the alert is raised
	unproven                    // no proof could be had either way
)

// prove compares two checkpoints of the log: the same root at the same
// size, else a consistency proof from the smaller to the larger, from the
// first of provers that gives one (tiles verified against the larger).
// An inconsistency raises a split-view alert. With no proof to be had it
// returns unproven and why.
func (a *Auditor) prove(ctx context.Context, source string, x, y *checkpoint.Signed, provers ...*tiles.Prover) (outcome, error) {
	small, large := x, y
	if small.Size > large.Size {
		small, large = large, small
	}
	if small.Size == large.Size {
		if small.Hash == large.Hash {
			return proven, nil
		}
		a.splitView(source, small, large, fmt.Sprintf("two checkpoints of size %d with different roots", small.Size))
		return inconsistent, nil
	}
	var errs []error
	for _, p := range provers {
		if p == nil {
			continue
		}
		proof, err := p.ConsistencyProof(ctx, small.Size, large.Checkpoint)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := checkpoint.VerifyConsistency(small.Checkpoint, large.Checkpoint, proof); err != nil {
			a.splitView(source, small, large, fmt.Sprintf("the checkpoint of size %d is not consistent with the one of size %d", small.Size, large.Size))
			return inconsistent, nil
		}
		return proven, nil
	}
	return unproven, errors.Join(errs...)
}

func (a *Auditor) splitView(source string, x, y *checkpoint.Signed, what string) {
	a.alerts.raise(AlertSplitView, splitSubject(x, y), fmt.Sprintf("split view of %s seen via %s: %s, both signed by the log", x.Origin, source, what), x.Bytes(), y.Bytes())
}

// splitSubject names a pair of checkpoints the same way whoever showed
// them, so that one split view is one alert.
func splitSubject(x, y *checkpoint.Signed) string {
	return fmt.Sprintf("%s@%d %x / %s@%d %x", x.Origin, x.Size, x.Hash[:8], y.Origin, y.Size, y.Hash[:8])
}

// raiseUnproven raises the alert for a view not proven consistent with the
// verified one.
func (a *Auditor) raiseUnproven(source string, shown, verified *checkpoint.Signed, since time.Time, why error) {
	a.alerts.raise(AlertUnproven, "view of "+source, fmt.Sprintf(
		"%s shows a checkpoint of size %d, signed by the log, that this auditor cannot prove consistent with the one of size %d it verified (since %s): %v. "+
			"Someone may be shown a fork; or the log, or the mirror serving it, does not serve what the log signed. It becomes a split-view alert if proven inconsistent.",
		source, shown.Size, verified.Size, since.UTC().Format(time.RFC3339), why), shown.Bytes(), verified.Bytes())
}

// gossip compares a checkpoint a vantage point showed with the verified
// view. A smaller (or equal) one is proven from the verified tiles; a
// larger one from the log's tiles verified against it, or from extra
// (the source's own tiles, for a log URL).
func (a *Auditor) gossip(ctx context.Context, st *State, source string, raw []byte, verified *checkpoint.Signed, extra *tiles.Prover) {
	if raw == nil {
		return
	}
	cp, err := checkpoint.Open(raw, a.log.Verifier())
	if err != nil {
		a.cfg.Log.Warn("a vantage point shows a checkpoint the log did not sign", "source", source, "err", err)
		return
	}
	a.mu.Lock()
	a.seen[source] = raw
	a.mu.Unlock()
	a.gossiped[source] = true
	if cp.Size <= verified.Size {
		delete(st.Pending, source)
		if o, err := a.prove(ctx, source, cp, verified, a.prover); o == unproven {
			a.raiseUnproven(source, cp, verified, a.cfg.Now(), err)
		}
		return
	}
	a.checkLarger(ctx, st, source, cp, verified, extra)
}

// checkLarger handles a checkpoint larger than the verified view: proven
// consistent, fine; proven inconsistent, a split view; otherwise a split
// view if a witness's cosignatures prove it (witnessOrder), else an
// unproven-view alert now, and a pending entry in the state to check
// again on every later pass (and run).
func (a *Auditor) checkLarger(ctx context.Context, st *State, source string, cp, verified *checkpoint.Signed, extra *tiles.Prover) {
	o, why := a.prove(ctx, source, verified, cp, a.probe, extra)
	if o != unproven || a.witnessOrder(source, cp) {
		delete(st.Pending, source)
		return
	}
	p, ok := st.Pending[source]
	if !ok {
		p.Since = a.cfg.Now().UTC()
	}
	p.Checkpoint = cp.Bytes()
	st.Pending[source] = p
	a.raiseUnproven(source, cp, verified, p.Since, why)
}

// witnessOrder looks for a witness that cosigned the larger checkpoint cp
// before it cosigned the log's smaller latest one. An honest witness
// never cosigns a smaller tree after a larger: the two checkpoints, both
// signed by the log, are then two views its keys vouched for, a split view
// even though no consistency proof can be had (the log serves no tiles
// for cp). It raises the alert and reports whether it did.
func (a *Auditor) witnessOrder(source string, cp *checkpoint.Signed) bool {
	l := a.latest
	if l == nil || l.Checkpoint.Size >= cp.Size {
		return false
	}
	r, err := a.cfg.Policy.Verify(cp.Bytes())
	var qe *policy.QuorumError
	if err != nil && !errors.As(err, &qe) {
		return false
	}
	for _, big := range r.Cosigned {
		for _, small := range l.Cosigned {
			if big.Witness != small.Witness || !big.Time.Before(small.Time) {
				continue
			}
			a.alerts.raise(AlertSplitView, splitSubject(l.Checkpoint, cp), fmt.Sprintf(
				"split view of %s seen via %s: witness %s cosigned a checkpoint of size %d at %s, then the log's smaller one of size %d at %s; an honest witness never cosigns a smaller tree after a larger one, and the log serves no tiles for the larger",
				cp.Origin, source, big.Witness.Name, cp.Size, big.Time.UTC().Format(time.RFC3339), l.Checkpoint.Size, small.Time.UTC().Format(time.RFC3339)),
				l.Checkpoint.Bytes(), cp.Bytes())
			return true
		}
	}
	return false
}

// recheckPending checks again the pending views no vantage point showed
// this pass: a cron run remembers what the runs before it saw.
func (a *Auditor) recheckPending(ctx context.Context, st *State, verified *checkpoint.Signed) {
	sources := make([]string, 0, len(st.Pending))
	for s := range st.Pending {
		sources = append(sources, s)
	}
	sort.Strings(sources)
	for _, source := range sources {
		if a.gossiped[source] {
			continue
		}
		p := st.Pending[source]
		cp, err := checkpoint.Open(p.Checkpoint, a.log.Verifier())
		if err != nil {
			delete(st.Pending, source)
			continue
		}
		if cp.Size <= verified.Size {
			delete(st.Pending, source)
			if o, err := a.prove(ctx, source, cp, verified, a.prover); o == unproven {
				a.raiseUnproven(source, cp, verified, p.Since, err)
			}
			continue
		}
		a.checkLarger(ctx, st, source, cp, verified, nil)
	}
}

// logViews compares what each log URL serves, when there are several:
// each is a view of the log, and two that disagree are a split view.
func (a *Auditor) logViews(ctx context.Context, st *State, verified *checkpoint.Signed) {
	for _, v := range a.views {
		source := "log URL " + v.url
		raw, err := v.reader.ReadCheckpoint(ctx)
		if err != nil {
			if ctx.Err() == nil {
				a.unreachable(source, "cannot read the checkpoint at %s: %v", v.url, err)
			}
			continue
		}
		if _, err := checkpoint.Open(raw, a.log.Verifier()); err != nil {
			a.alerts.raise(AlertMirrorBad, source, fmt.Sprintf("%s serves a checkpoint that does not verify with the log's key: %v", v.url, err), raw)
			continue
		}
		a.gossip(ctx, st, source, raw, verified, v.prover)
	}
}

// witnesses reads each witness's latest cosigned checkpoint of the log
// (c2sp.org/tlog-witness monitoring endpoint), compares it, and alerts if
// its cosignature is stale.
func (a *Auditor) witnesses(ctx context.Context, st *State, verified *checkpoint.Signed, status *Status) {
	hash := checkpoint.OriginHash(a.log.Origin())
	for _, w := range a.cfg.Policy.Witnesses {
		if w.URL == "" {
			continue
		}
		ws := WitnessStatus{Name: w.Name, URL: w.URL}
		source := "witness " + w.Name
		raw, err := a.get(ctx, fmt.Sprintf("%s/%x/checkpoint", strings.TrimSuffix(w.URL, "/"), hash), checkpoint.MaxProofSize)
		if err != nil {
			ws.Error = untrusted.Escape(err.Error())
			if ctx.Err() == nil {
				a.unreachable(source, "cannot read witness %s's checkpoint: %v", w.Name, err)
			}
			status.Witnesses = append(status.Witnesses, ws)
			continue
		}
		r, err := a.cfg.Policy.Verify(raw)
		var qe *policy.QuorumError
		if err != nil && (r == nil || !errors.As(err, &qe)) {
			ws.Error = untrusted.Escape(err.Error())
			status.Witnesses = append(status.Witnesses, ws)
			continue
		}
		ws.Size = r.Checkpoint.Size
		for _, c := range r.Cosigned {
			if c.Witness == w {
				ws.Cosigned = c.Time
			}
		}
		a.gossip(ctx, st, source, raw, verified, nil)
		if ws.Cosigned.IsZero() {
			ws.Error = "its checkpoint carries no valid cosignature of its own"
		} else if age := a.cfg.Now().Sub(ws.Cosigned); age > a.cfg.WitnessStaleAfter {
			a.alerts.raise(AlertWitnessStale, source, fmt.Sprintf("witness %s serves a checkpoint of size %d cosigned %s ago (threshold %s); the log is at size %d", w.Name, ws.Size, round(age), a.cfg.WitnessStaleAfter, verified.Size), raw)
		}
		status.Witnesses = append(status.Witnesses, ws)
	}
}

// SeenCheckpoint is a checkpoint a vantage point showed, as served at
// /checkpoints for other auditors.
type SeenCheckpoint struct {
	Source     string `json:"source"`
	Checkpoint string `json:"checkpoint"`
}

// peers compares the checkpoints other auditors saw.
func (a *Auditor) peers(ctx context.Context, st *State, verified *checkpoint.Signed) {
	for _, p := range a.cfg.Peers {
		b, err := a.get(ctx, strings.TrimSuffix(p, "/")+"/checkpoints", 1<<20)
		if err != nil {
			if ctx.Err() == nil {
				a.unreachable("peer "+p, "cannot read auditor %s: %v", p, err)
			}
			continue
		}
		var seen []SeenCheckpoint
		if err := json.Unmarshal(b, &seen); err != nil {
			a.cfg.Log.Warn("a peer auditor's answer does not parse", "peer", p, "err", err)
			continue
		}
		for _, s := range seen {
			a.gossip(ctx, st, fmt.Sprintf("peer %s (%s)", p, untrusted.Escape(s.Source)), []byte(s.Checkpoint), verified, nil)
		}
	}
}

// get fetches a URL, reading at most limit bytes. Its errors tell an
// outage (errUnavailable) from a 404 (errNotFound) and from bad data.
func (a *Auditor) get(ctx context.Context, url string, limit int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := a.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("GET %s: %s: %w", url, untrusted.Escape(resp.Status), errNotFound)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %w", url, untrusted.Escape(resp.Status), errUnavailable)
	}
	b, err := untrusted.ReadAll(resp.Body, int64(limit), "GET "+url)
	if err != nil && !errors.Is(err, untrusted.ErrTooLarge) {
		return nil, fmt.Errorf("%w: %w", errUnavailable, err)
	}
	return b, err
}
