package audit

import (
	"context"
	"fmt"
	"strings"
	"time"

	"treelog/checkpoint"
	"treelog/internal/untrusted"
	"treelog/lag"
	"treelog/metamanifest"
	"treelog/policy"
)

// mirrors reads the MetaManifest each tree mirror serves and judges it
// by the rule users apply (package lag): a snapshot that is not the
// newest is fine while every newer one entered the log less than
// MirrorLag ago; after that the mirror is frozen, or replays if it went
// back to an older snapshot than it served before. The proof beside it is
// gossiped, and bounds the entry times as it does for a user.
func (a *Auditor) mirrors(ctx context.Context, st *State, status *Status) {
	verified := a.verifiedView(st)
	for _, m := range a.cfg.Mirrors {
		ms := MirrorStatus{Name: m.Name, URL: m.URL}
		source := "mirror " + m.Name
		base := strings.TrimSuffix(m.URL, "/")
		mmb, err := a.get(ctx, base+"/"+metamanifest.Dir+"/"+metamanifest.File, metamanifest.MaxSize)
		if err != nil {
			ms.Error = untrusted.Escape(err.Error())
			if ctx.Err() == nil {
				a.unreachable(source, "cannot read mirror %s's MetaManifest: %v", m.Name, err)
			}
			status.Mirrors = append(status.Mirrors, ms)
			continue
		}
		mm, err := metamanifest.Verify(mmb, a.cfg.Publishers)
		if err != nil {
			ms.Error = untrusted.Escape(err.Error())
			a.alerts.raise(AlertMirrorBad, source, fmt.Sprintf("mirror %s serves a MetaManifest that does not verify: %v", m.Name, err), mmb)
			status.Mirrors = append(status.Mirrors, ms)
			continue
		}
		ms.Origin, ms.Timestamp = mm.Origin, mm.Timestamp
		var proof *policy.Result
		if pb, err := a.get(ctx, base+"/"+metamanifest.Dir+"/"+metamanifest.ProofFile, checkpoint.MaxProofSize); err == nil {
			if pr, err := a.cfg.Policy.VerifyProof(pb, mmb); err != nil {
				a.alerts.raise(AlertMirrorBad, source, fmt.Sprintf("mirror %s serves a proof that does not verify: %v", m.Name, err), mmb, pb)
			} else {
				ms.Index, proof = pr.Index(), pr.Result
				if verified != nil {
					a.gossip(ctx, st, source, pr.Checkpoint.Bytes(), verified, nil)
				}
			}
		}
		prev, seenBefore := st.Mirrors[m.Name]
		if o, ok := st.Origins[mm.Origin]; ok {
			ms.NewestLogged, ms.NewestIndex = o.Timestamp, o.Index
			v := lag.Judge(newerThan(o, mm.Timestamp, proof), a.cfg.MirrorLag, a.cfg.Now())
			ms.Lag = v.Lag
			if !v.OK {
				kind, what := AlertMirrorFreeze, "is frozen: it still serves"
				if seenBefore && prev.Origin == mm.Origin && mm.Timestamp.Before(prev.Timestamp) {
					kind, what = AlertMirrorReplay, fmt.Sprintf("replays an old snapshot: after %s it now serves", prev.Timestamp.Format(time.RFC3339))
				}
				a.alerts.raise(kind, source+" "+mm.Origin, fmt.Sprintf("mirror %s %s %s snapshot %s; %s", m.Name, what, mm.Origin, mm.Timestamp.Format(time.RFC3339), v), mmb)
			}
		}
		if a.cfg.MirrorFiles != 0 {
			a.mirrorFiles(ctx, m, source, mm, mmb, &ms)
		}
		if !seenBefore || prev.Origin != mm.Origin || mm.Timestamp.After(prev.Timestamp) {
			st.Mirrors[m.Name] = MirrorState{Origin: mm.Origin, Timestamp: mm.Timestamp, Seen: a.cfg.Now().UTC()}
		}
		status.Mirrors = append(status.Mirrors, ms)
	}
}

// newerThan returns the logged snapshots of an origin newer than ts, with
// when each entered the log: the bounds recorded when it was verified,
// narrowed by the mirror's proof (whose checkpoint may lack it), as a
// user's check narrows them.
func newerThan(o OriginState, ts time.Time, proof *policy.Result) []lag.Snapshot {
	recent := o.Recent
	if len(recent) == 0 { // a state from before entry times were kept
		recent = []RecentSnapshot{{Index: o.Index, Timestamp: o.Timestamp}}
	}
	var out []lag.Snapshot
	for _, r := range recent {
		if !r.Timestamp.After(ts) {
			continue
		}
		b := r.Bounds
		b.Learn(proof, r.Index)
		out = append(out, lag.Snapshot{Index: r.Index, Timestamp: r.Timestamp, Entered: b.Entered(r.Timestamp)})
	}
	return out
}

// mirrorFiles spot-checks the files a mirror serves against its Manifests.
func (a *Auditor) mirrorFiles(ctx context.Context, m Mirror, source string, mm *metamanifest.Signed, mmb []byte, ms *MirrorStatus) {
	checked, problems, err := a.checkFiles(ctx, strings.TrimSuffix(m.URL, "/"), mm.MetaManifest, a.cfg.MirrorFiles)
	ms.FilesChecked, ms.FilesBad = checked, len(problems)
	if err != nil {
		if ms.Error == "" {
			ms.Error = untrusted.Escape(err.Error())
		}
		if ctx.Err() == nil {
			a.unreachable(source+" files", "cannot check mirror %s's files: %v", m.Name, err)
		}
		return
	}
	if len(problems) == 0 {
		return
	}
	var list []string
	for _, p := range problems[:min(len(problems), 5)] {
		list = append(list, p.path+": "+p.detail)
	}
	if len(problems) > 5 {
		list = append(list, fmt.Sprintf("and %d more", len(problems)-5))
	}
	evidence := [][]byte{mmb}
	if p := problems[0]; p.manifest != nil {
		evidence = append(evidence, p.manifest)
		if p.served != nil {
			evidence = append(evidence, p.served)
		}
	}
	a.alerts.raise(AlertMirrorTampered, source+" files", fmt.Sprintf("mirror %s serves %s snapshot %s with %d of %d checked file(s) not as its Manifests list them: %s",
		m.Name, mm.Origin, mm.Timestamp.Format(time.RFC3339), len(problems), checked, strings.Join(list, "; ")), evidence...)
}
