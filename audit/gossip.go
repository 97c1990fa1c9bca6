package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"treelog/checkpoint"
	"treelog/internal/untrusted"
	"treelog/policy"
)

// consistent checks two checkpoints of the log: the same root at the same
// size, else a consistency proof from the smaller to the larger, read from
// tiles verified against the larger. An inconsistency is a split view: it
// raises a sticky alert with both signed checkpoints. It returns false when
// they are inconsistent or the proof cannot be had.
func (a *Auditor) consistent(ctx context.Context, source string, x, y *checkpoint.Signed) bool {
	small, large := x, y
	if small.Size > large.Size {
		small, large = large, small
	}
	if small.Size == large.Size {
		if small.Hash == large.Hash {
			return true
		}
		a.splitView(source, small, large, fmt.Sprintf("two checkpoints of size %d with different roots", small.Size))
		return false
	}
	proof, err := a.prover.ConsistencyProof(ctx, small.Size, large.Checkpoint)
	if err != nil {
		return false
	}
	if err := checkpoint.VerifyConsistency(small.Checkpoint, large.Checkpoint, proof); err != nil {
		a.splitView(source, small, large, fmt.Sprintf("the checkpoint of size %d is not consistent with the one of size %d", small.Size, large.Size))
		return false
	}
	return true
}

func (a *Auditor) splitView(source string, x, y *checkpoint.Signed, what string) {
	subject := fmt.Sprintf("%s@%d %x / %s@%d %x", x.Origin, x.Size, x.Hash[:8], y.Origin, y.Size, y.Hash[:8])
	a.alerts.raise(AlertSplitView, subject, fmt.Sprintf("split view of %s seen via %s: %s, both signed by the log", x.Origin, source, what), x.Bytes(), y.Bytes())
}

// gossip compares a checkpoint a vantage point showed with the verified
// view. One larger than the view is checked when the log can prove it (its
// tiles verify against it), else kept to check again next pass.
func (a *Auditor) gossip(ctx context.Context, source string, raw []byte, verified *checkpoint.Signed) {
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
	if cp.Size > verified.Size {
		if a.consistent(ctx, source, verified, cp) {
			return
		}
		a.mu.Lock()
		if _, ok := a.pending[source]; !ok {
			a.pending[source] = pendingCheckpoint{raw: raw, since: a.cfg.Now()}
		}
		a.mu.Unlock()
		return
	}
	a.consistent(ctx, source, cp, verified)
}

// recheckPending checks again the checkpoints that were larger than the
// verified view; one the log still cannot prove after FreezeAfter means
// someone was shown a log this auditor is not.
func (a *Auditor) recheckPending(ctx context.Context, verified *checkpoint.Signed) {
	a.mu.Lock()
	pend := a.pending
	a.pending = map[string]pendingCheckpoint{}
	a.mu.Unlock()
	for source, p := range pend {
		cp, err := checkpoint.Open(p.raw, a.log.Verifier())
		if err != nil {
			continue
		}
		if cp.Size <= verified.Size {
			a.consistent(ctx, source, cp, verified)
			continue
		}
		if a.consistent(ctx, source, verified, cp) {
			continue
		}
		if age := a.cfg.Now().Sub(p.since); age > a.cfg.FreezeAfter {
			a.alerts.raise(AlertLogFrozen, "view of "+source, fmt.Sprintf("%s shows a checkpoint of size %d signed by the log, but for %s the log serves only size %d and cannot prove the larger one", source, cp.Size, round(age), verified.Size), p.raw, verified.Bytes())
		}
		a.mu.Lock()
		a.pending[source] = p
		a.mu.Unlock()
	}
}

// witnesses reads each witness's latest cosigned checkpoint of the log
// (c2sp.org/tlog-witness monitoring endpoint), compares it, and alerts if
// its cosignature is stale.
func (a *Auditor) witnesses(ctx context.Context, verified *checkpoint.Signed, status *Status) {
	hash := checkpoint.OriginHash(a.log.Origin())
	for _, w := range a.cfg.Policy.Witnesses {
		if w.URL == "" {
			continue
		}
		ws := WitnessStatus{Name: w.Name, URL: w.URL}
		source := "witness " + w.Name
		raw, err := a.get(ctx, fmt.Sprintf("%s/%x/checkpoint", strings.TrimSuffix(w.URL, "/"), hash), checkpoint.MaxProofSize)
		if err != nil {
			ws.Error = err.Error()
			a.alerts.raise(AlertUnreachable, source, fmt.Sprintf("cannot read witness %s's checkpoint: %v", w.Name, err))
			status.Witnesses = append(status.Witnesses, ws)
			continue
		}
		r, err := a.cfg.Policy.Verify(raw)
		var qe *policy.QuorumError
		if err != nil && (r == nil || !isQuorum(err, &qe)) {
			ws.Error = err.Error()
			status.Witnesses = append(status.Witnesses, ws)
			continue
		}
		ws.Size = r.Checkpoint.Size
		for _, c := range r.Cosigned {
			if c.Witness == w {
				ws.Cosigned = c.Time
			}
		}
		a.gossip(ctx, source, raw, verified)
		if ws.Cosigned.IsZero() {
			ws.Error = "its checkpoint carries no valid cosignature of its own"
		} else if age := a.cfg.Now().Sub(ws.Cosigned); age > a.cfg.WitnessStaleAfter {
			a.alerts.raise(AlertWitnessStale, source, fmt.Sprintf("witness %s serves a checkpoint of size %d cosigned %s ago (threshold %s); the log is at size %d", w.Name, ws.Size, round(age), a.cfg.WitnessStaleAfter, verified.Size), raw)
		}
		status.Witnesses = append(status.Witnesses, ws)
	}
}

func isQuorum(err error, qe **policy.QuorumError) bool {
	e, ok := err.(*policy.QuorumError)
	*qe = e
	return ok
}

// SeenCheckpoint is a checkpoint a vantage point showed, as served at
// /checkpoints for other auditors.
type SeenCheckpoint struct {
	Source     string `json:"source"`
	Checkpoint string `json:"checkpoint"`
}

// peers compares the checkpoints other auditors saw.
func (a *Auditor) peers(ctx context.Context, verified *checkpoint.Signed) {
	for _, p := range a.cfg.Peers {
		b, err := a.get(ctx, strings.TrimSuffix(p, "/")+"/checkpoints", 1<<20)
		if err != nil {
			a.alerts.raise(AlertUnreachable, "peer "+p, fmt.Sprintf("cannot read auditor %s: %v", p, err))
			continue
		}
		var seen []SeenCheckpoint
		if err := json.Unmarshal(b, &seen); err != nil {
			a.cfg.Log.Warn("a peer auditor's answer does not parse", "peer", p, "err", err)
			continue
		}
		for _, s := range seen {
			a.gossip(ctx, fmt.Sprintf("peer %s (%s)", p, s.Source), []byte(s.Checkpoint), verified)
		}
	}
}

// get fetches a URL, reading at most limit bytes.
func (a *Auditor) get(ctx context.Context, url string, limit int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := a.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("GET %s: %s: %w", url, resp.Status, errNotFound)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return untrusted.ReadAll(resp.Body, int64(limit), "GET "+url)
}
