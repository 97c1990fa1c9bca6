package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"treelog/checkpoint"
	"treelog/tiles"
	"treelog/trust"
)

// Alert kinds of trust roots.
const (
	// AlertTrustRootChange: a new version of a pinned trust root was
	// logged (a rotation, delegation, revocation): publishers and root key
	// holders notice a change they did not make. It resolves by itself.
	AlertTrustRootChange = "trust-root-change"
	// AlertTrustRootFork: the log holds two different versions N of a
	// root, each signed by a threshold of root keys. Evidence: both.
	AlertTrustRootFork = "trust-root-fork"
	// AlertTrustRootHidden: the log's versions listing leaves out a
	// version the log holds (a malicious log hiding a revocation).
	AlertTrustRootHidden = "trust-root-hidden"
)

// RootProgress is a pinned root's chain as far as the auditor replayed
// the log: its logged versions and their indexes.
type RootProgress struct {
	// Pin is the pinned version the chain starts from.
	Pin     []byte   `json:"pin"`
	Entries [][]byte `json:"entries,omitempty"`
	Indexes []uint64 `json:"indexes,omitempty"`
}

// checkPins checks the configured pins against the state: a root pinned
// after the auditor audited entries may have versions among them that it
// never followed, so it needs a new audit rather than a false alarm.
func checkPins(pins []*trust.Signed, st *State) error {
	for _, p := range pins {
		rp, ok := st.Roots[p.Name]
		if ok && string(rp.Pin) == string(p.Raw) {
			continue
		}
		if st.Scanned > 0 {
			return fmt.Errorf("trust root %s is pinned (or pinned anew) after %d entries were audited without it; its versions may be among them: audit from the start with a new --state directory", p.Name, st.Scanned)
		}
	}
	return nil
}

// authority rebuilds the pinned roots' chains from the state, for a pass.
func (a *Auditor) authority(st *State) (*trust.Authority, error) {
	auth := &trust.Authority{Publishers: a.cfg.Publishers}
	if st.Roots == nil {
		st.Roots = map[string]RootProgress{}
	}
	for _, p := range a.cfg.TrustRoots {
		rp, ok := st.Roots[p.Name]
		if !ok {
			rp = RootProgress{Pin: p.Raw}
			st.Roots[p.Name] = rp
		}
		c, err := trust.Restore(p, rp.Entries, rp.Indexes)
		if err != nil {
			return nil, fmt.Errorf("auditor state: trust root %s: %w", p.Name, err)
		}
		auth.Chains = append(auth.Chains, c)
	}
	return auth, nil
}

// applyRoot follows a trust-root version logged at idx: the next version
// of a pinned root raises a change alert; one that does not chain is
// evidence against the log (it must refuse it): a fork, or a bad entry.
func (a *Auditor) applyRoot(st *State, auth *trust.Authority, cp *checkpoint.Signed, idx uint64, e entryResult) {
	d, err := trust.Parse(e.raw)
	if err != nil {
		a.alerts.raise(AlertBadEntry, fmt.Sprintf("entry %d", idx), fmt.Sprintf("log entry %d: %v", idx, err), e.raw, cp.Bytes())
		return
	}
	c := auth.Chain(d.Name)
	if c == nil {
		a.cfg.Log.Info("a trust root this auditor does not pin", "root", d.Name, "version", d.Version, "index", idx)
		return
	}
	prev := c.Latest()
	if prev == nil && d.Version < c.Pin.Version {
		return // logged before the pinned version
	}
	v, err := c.Append(e.raw, idx)
	var fe *trust.ForkError
	switch {
	case errors.As(err, &fe):
		a.alerts.raise(AlertTrustRootFork, fmt.Sprintf("%s version %d", d.Name, d.Version),
			fmt.Sprintf("log entry %d is %s, but the log already holds another version %d at index %d: the root's history is forked, and the log accepted both", idx, d.Describe(), d.Version, fe.Logged.Index),
			fe.Logged.Raw, e.raw, cp.Bytes())
		return
	case err != nil:
		ev := [][]byte{e.raw, cp.Bytes()}
		if prev != nil {
			ev = append(ev, prev.Raw)
		}
		a.alerts.raise(AlertBadEntry, fmt.Sprintf("entry %d", idx), fmt.Sprintf("log entry %d: %s does not follow the trust root as logged: %v", idx, d.Describe(), err), ev...)
		return
	}
	rp := st.Roots[d.Name]
	rp.Entries = append(slices.Clip(rp.Entries), e.raw)
	rp.Indexes = append(slices.Clip(rp.Indexes), idx)
	st.Roots[d.Name] = rp
	var before *trust.Root
	ev := [][]byte{e.raw, cp.Bytes()}
	if prev != nil {
		before = prev.Root
		ev = append(ev, prev.Raw)
	}
	a.alerts.raise(AlertTrustRootChange, fmt.Sprintf("%s version %d", d.Name, d.Version),
		fmt.Sprintf("log entry %d is %s (signed by %d keys): %s", idx, v.Describe(), len(v.Note.Sigs), strings.Join(trust.Changes(before, v.Root), "; ")), ev...)
}

// judge decides a MetaManifest at idx when a pinned root governs its
// origin there (the rule the log applies when it admits one): it returns
// the problem, or "" if the root allows it, and whether a root governs.
func judge(auth *trust.Authority, idx uint64, e entryResult) (problem string, governed bool) {
	g, err := auth.Governing(e.origin, idx)
	if err == nil && g == nil {
		return "", false
	}
	if _, err := auth.Authorize(e.raw, idx); err != nil {
		return err.Error(), true
	}
	return "", true
}

// checkListings asks the log for each pinned root's latest version as
// its listing shows it: one the log holds but leaves out is hidden from
// the clients that follow the root through the listing.
func (a *Auditor) checkListings(ctx context.Context, auth *trust.Authority) {
	for _, c := range auth.Chains {
		l := c.Latest()
		if l == nil {
			continue
		}
		data, err := a.reader.ReadPath(ctx, trust.VersionsPath(c.Name(), l.Version), trust.MaxVersionsSize)
		if errors.Is(err, tiles.ErrNotFound) {
			continue // a static copy of the log: the log server serves listings
		}
		if err != nil {
			a.alerts.raise(AlertUnreachable, "trust root "+c.Name(), fmt.Sprintf("cannot read the log's versions of trust root %s: %v", c.Name(), err))
			continue
		}
		v, err := trust.ParseVersions(data)
		if err != nil {
			a.alerts.raise(AlertUnreachable, "trust root "+c.Name(), fmt.Sprintf("the log's versions of trust root %s: %v", c.Name(), err))
			continue
		}
		cp, err := checkpoint.Open(v.Checkpoint, a.log.Verifier())
		if err != nil || cp.Size <= l.Index {
			continue // not signed by the log, or older than what we audited: proves nothing
		}
		if len(v.Entries) == 0 || v.Entries[0].Version != l.Version || v.Entries[0].Index != l.Index || string(v.Entries[0].Entry) != string(l.Raw) {
			a.alerts.raise(AlertTrustRootHidden, fmt.Sprintf("%s version %d", c.Name(), l.Version),
				fmt.Sprintf("the log's versions listing of %s under its checkpoint of size %d does not show %s, which the log holds at index %d: clients following the root through the listing do not see it", c.Name(), cp.Size, l.Describe(), l.Index),
				data, l.Raw)
		}
	}
}
