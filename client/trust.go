package client

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"treelog/checkpoint"
	"treelog/internal/statefile"
	"treelog/lag"
	"treelog/metamanifest"
	"treelog/policy"
	"treelog/tiles"
	"treelog/trust"
)

// CheckTrustRoot is the check that judges the MetaManifest by the trust
// roots the user pinned, followed through the log to the version in force
// at the snapshot's index (or by the publishers file, for an origin no
// root governs). It runs after replay, when trust roots are pinned.
const CheckTrustRoot = "trust-root"

// RootsFile is the name, in the state directory, of the trust-root
// versions this client followed.
const RootsFile = "trustroots.json"

// maxRootsSize bounds the followed versions kept: 1,000 versions of 32 KiB.
const maxRootsSize = 64 << 20

// RootsState is every pinned root's chain as this client followed it.
type RootsState struct {
	Version int                  `json:"version"`
	Roots   map[string]RootState `json:"roots"`
}

// RootState is one root's logged versions, from the pinned one on, each
// verified (signatures, inclusion, chain) when it was first read.
type RootState struct {
	Entries [][]byte `json:"entries"`
	Indexes []uint64 `json:"indexes"`
}

// LoadRoots reads the trust-root versions kept in the state directory
// dir (none if there is no file; Roots is then nil).
func LoadRoots(dir string) (*RootsState, error) {
	path := filepath.Join(dir, RootsFile)
	st := &RootsState{Version: 1}
	found, err := statefile.Load(path, maxRootsSize, st)
	if err != nil {
		return nil, &LocalError{Path: path, Err: err}
	}
	if found && st.Version != 1 {
		return nil, &LocalError{Path: path, Err: fmt.Errorf("version %d, want 1", st.Version)}
	}
	return st, nil
}

// publisher is check 1: the MetaManifest's syntax and, without pinned
// trust roots, its signature by the publishers file. With trust roots,
// which key may sign depends on the version in force at the snapshot's
// index, so the signature is judged by CheckTrustRoot once that is known.
func (r *run) publisher(mmBytes []byte) (*metamanifest.Signed, error) {
	if len(r.cfg.TrustRoots) == 0 {
		return metamanifest.Verify(mmBytes, r.cfg.Publishers)
	}
	m, n, err := metamanifest.Parse(mmBytes)
	if err != nil {
		return nil, err
	}
	return &metamanifest.Signed{MetaManifest: m, Note: n, Raw: mmBytes}, nil
}

// signatureNames names the keys that signed: verified ones, or with
// trust roots (whose check comes later) every signature line.
func signatureNames(mm *metamanifest.Signed) []string {
	names := mm.Signers()
	for _, s := range mm.Note.UnverifiedSigs {
		names = append(names, s.Name)
	}
	return names
}

// noteEntry is shown every entry the replay check reads (those after the
// snapshot's index, each verified against the latest checkpoint), so
// that the versions listing cannot leave one of the pinned roots' versions
// out.
func (r *run) noteEntry(index uint64, e []byte) {
	if len(r.cfg.TrustRoots) == 0 || trust.KindOf(e) != trust.KindTrustRoot {
		return
	}
	if d, err := trust.Parse(e); err == nil {
		r.seenVersions = append(r.seenVersions, trust.Version{Signed: d, Index: index})
	}
}

// trustRootsOffline judges the MetaManifest by the pinned versions alone.
func (r *run) trustRootsOffline(mmBytes []byte, index uint64) error {
	if len(r.cfg.TrustRoots) == 0 {
		return nil
	}
	a := &trust.Authority{Publishers: r.cfg.Publishers}
	for _, p := range r.cfg.TrustRoots {
		a.Chains = append(a.Chains, trust.Offline(p))
	}
	return r.judge(a, mmBytes, index, " (offline: by the pinned versions alone; later revocations are not known)")
}

// trustRoots follows each pinned root through the log up to the latest
// checkpoint, keeps what it learned, and judges the MetaManifest at its
// index.
func (r *run) trustRoots(mmBytes []byte, index uint64, latest *checkpoint.Signed) error {
	if len(r.cfg.TrustRoots) == 0 {
		return nil
	}
	path := filepath.Join(r.cfg.StateDir, RootsFile)
	st, err := LoadRoots(r.cfg.StateDir)
	if err != nil {
		return err
	}
	found := st.Roots != nil
	if st.Roots == nil {
		st.Roots = map[string]RootState{}
	}
	a := &trust.Authority{Publishers: r.cfg.Publishers}
	changed := false
	for _, pin := range r.cfg.TrustRoots {
		c := trust.NewChain(pin)
		if kept, ok := st.Roots[pin.Name]; ok {
			// A pin changed by the user starts the chain over.
			if restored, err := trust.Restore(pin, kept.Entries, kept.Indexes); err == nil {
				c = restored
			} else if len(kept.Entries) > 0 {
				if d, perr := trust.Parse(kept.Entries[0]); perr != nil || d.Note.Text == pin.Note.Text {
					return &LocalError{Path: path, Err: fmt.Errorf("trust root %s: %w", pin.Name, err)}
				}
			}
		}
		before := len(c.Versions)
		if err := r.follow(c, index, latest); err != nil {
			return err
		}
		for _, v := range r.seenVersions {
			if v.Name != pin.Name || v.Version < pin.Version {
				continue
			}
			if known := c.Version(v.Version); known == nil || known.Index != v.Index || string(known.Raw) != string(v.Raw) {
				return r.fail(failf(CheckTrustRoot, [][]byte{v.Raw, latest.Bytes()},
					"the log's entry %d is %s, which its versions listing leaves out or shows otherwise: the log hides a trust-root version", v.Index, v.Describe()))
			}
		}
		if len(c.Versions) != before || !found {
			changed = true
			rs := RootState{}
			for _, v := range c.Versions {
				rs.Entries = append(rs.Entries, v.Raw)
				rs.Indexes = append(rs.Indexes, v.Index)
			}
			st.Roots[pin.Name] = rs
		}
		a.Chains = append(a.Chains, c)
	}
	if changed {
		if err := statefile.Save(path, st, 0o600); err != nil {
			return &LocalError{Path: path, Err: err}
		}
	}
	r.auth = a
	return r.judge(a, mmBytes, index, "")
}

// newerAllowed returns the newer snapshots of the origin that the replay
// check found and that are genuine: signed by a key the publishers file
// allows or, with trust roots, one the root in force at their index
// allowed, so that a thief's snapshot, signed with a key revoked as of the
// theft, does not make the last genuine one look replayed.
func (r *run) newerAllowed() []lag.Snapshot {
	var out []lag.Snapshot
	for _, n := range r.newer {
		var err error
		if r.auth != nil {
			_, err = r.auth.Authorize(n.entry, n.index)
		} else {
			_, err = metamanifest.Verify(n.entry, r.cfg.Publishers)
		}
		if err != nil {
			continue
		}
		m, _, _ := metamanifest.Parse(n.entry)
		out = append(out, lag.Snapshot{Index: n.index, Timestamp: m.Timestamp, Entry: n.entry})
	}
	return out
}

// follow reads the root's versions after the chain's latest from the log
// (trust.Versions, a page at a time), checks each page's checkpoint
// against the policy and this client's view of the log, the inclusion of
// every version, and every step of the chain.
func (r *run) follow(c *trust.Chain, index uint64, latest *checkpoint.Signed) error {
	from := c.Pin.Version
	if l := c.Latest(); l != nil {
		from = l.Version + 1
	}
	for {
		data, err := r.reader.ReadPath(r.ctx, trust.VersionsPath(c.Name(), from), trust.MaxVersionsSize)
		if err != nil {
			return r.failRead(CheckTrustRoot, err, "reading the versions of trust root %s from the log", c.Name())
		}
		v, err := trust.ParseVersions(data)
		if err != nil {
			return r.fail(failf(CheckTrustRoot, [][]byte{data}, "the log's versions of trust root %s: %v", c.Name(), err))
		}
		if v.Root != c.Name() {
			return r.fail(failf(CheckTrustRoot, [][]byte{data}, "asked for the versions of %s, the log answered those of %s", c.Name(), v.Root))
		}
		lr, err := r.cfg.Policy.Verify(v.Checkpoint, policy.WithMaxFutureSkew(r.cfg.MaxClockSkew), policy.WithClock(r.cfg.Now))
		if err != nil {
			return r.fail(failf(CheckTrustRoot, [][]byte{v.Checkpoint}, "the checkpoint of trust root %s's versions: %v", c.Name(), err))
		}
		if lr.Log != r.log {
			return r.fail(failf(CheckTrustRoot, [][]byte{v.Checkpoint}, "the versions of %s are proven under %s's checkpoint, not %s's", c.Name(), lr.Log.Origin(), r.log.Origin()))
		}
		if err := r.consistent(latest, lr.Checkpoint); err != nil {
			return err
		}
		if lr.Checkpoint.Size <= index {
			return r.fail(failf(CheckTrustRoot, [][]byte{v.Checkpoint}, "the versions of %s are proven under a checkpoint of size %d, which does not cover the snapshot's index %d", c.Name(), lr.Checkpoint.Size, index))
		}
		if err := v.Verify(lr.Checkpoint.Checkpoint); err != nil {
			return r.fail(failf(CheckTrustRoot, [][]byte{v.Checkpoint}, "%v", err))
		}
		if err := c.Follow(v); err != nil {
			var fe *trust.ForkError
			if errors.As(err, &fe) {
				return r.fail(failf(CheckTrustRoot, [][]byte{fe.Logged.Raw, fe.Other.Raw}, "trust root %s: %v", c.Name(), err))
			}
			return r.fail(failf(CheckTrustRoot, [][]byte{data}, "trust root %s as logged: %v", c.Name(), err))
		}
		if v.Next == 0 {
			return nil
		}
		if v.Next <= from {
			return r.fail(failf(CheckTrustRoot, [][]byte{data}, "the log's versions of %s do not advance (next %d after %d)", c.Name(), v.Next, from))
		}
		from = v.Next
	}
}

// judge runs the one rule and reports it.
func (r *run) judge(a *trust.Authority, mmBytes []byte, index uint64, note string) error {
	v, err := a.Authorize(mmBytes, index)
	if err != nil {
		evidence := [][]byte{mmBytes}
		if m, _, perr := metamanifest.Parse(mmBytes); perr == nil {
			if g, _ := a.Governing(m.Origin, index); g != nil {
				evidence = append(evidence, g.Raw)
			}
		}
		return r.fail(failf(CheckTrustRoot, evidence, "%v%s", err, note))
	}
	if v.Root == nil {
		r.report(CheckTrustRoot, "ok", "%s is governed by no pinned trust root: the publishers file allows %s%s", v.Origin, strings.Join(v.Signers(), ", "), note)
		return nil
	}
	r.res.TrustRoot = v.Root.Describe()
	var ds []string
	for _, d := range v.Delegations {
		ds = append(ds, fmt.Sprintf("%s to %s+%08x until %s", d.Pattern, d.Key.Name, d.Key.ID, d.Expires.Format(time.RFC3339)))
	}
	at := fmt.Sprintf(" (logged at index %d)", v.Root.Index)
	if note != "" {
		at = ""
	}
	r.report(CheckTrustRoot, "ok", "%s%s, in force at index %d, delegates %s%s", v.Root.Describe(), at, index, strings.Join(ds, "; "), note)
	return nil
}

// FollowRoot follows a pinned trust root through the log at urls (the
// policy's URL by default) to its latest version, checking what verify
// checks: the log's checkpoint and each listing's against the policy and
// each other, every inclusion proof, every step of the chain. It keeps no
// state (treelog root show).
func FollowRoot(ctx context.Context, pol *policy.Policy, pin *trust.Signed, urls []string) (*trust.Chain, error) {
	if len(pol.Logs) != 1 {
		return nil, fmt.Errorf("the policy names %d logs; want the one log that holds %s", len(pol.Logs), pin.Name)
	}
	if len(urls) == 0 && pol.Logs[0].URL != "" {
		urls = []string{pol.Logs[0].URL}
	}
	reader, err := tiles.NewHTTPReader(urls, tiles.WithMaxEntrySize(trust.MaxEntrySize))
	if err != nil {
		return nil, err
	}
	raw, err := reader.ReadCheckpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the log's checkpoint: %w", err)
	}
	lr, err := pol.Verify(raw)
	if err != nil {
		return nil, fmt.Errorf("the log's checkpoint: %w", err)
	}
	r := &run{ctx: ctx, cfg: Config{Policy: pol, Now: time.Now, MaxClockSkew: 10 * time.Minute}, res: &Result{}, reader: reader, log: lr.Log, prover: tiles.NewProver(reader, 256)}
	c := trust.NewChain(pin)
	if err := r.follow(c, 0, lr.Checkpoint); err != nil {
		return nil, err
	}
	return c, nil
}
