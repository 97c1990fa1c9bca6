package audit

import (
	"context"
	"fmt"
	"strings"
	"time"

	"treelog/checkpoint"
	"treelog/metamanifest"
)

// mirrors reads the MetaManifest each tree mirror serves and alerts when it
// lags the origin's newest logged snapshot by more than MirrorLag: a replay
// if the mirror went back to an older snapshot than it served before, a
// freeze otherwise. The proof beside it is gossiped.
func (a *Auditor) mirrors(ctx context.Context, st *State, verified *checkpoint.Signed, status *Status) {
	for _, m := range a.cfg.Mirrors {
		ms := MirrorStatus{Name: m.Name, URL: m.URL}
		source := "mirror " + m.Name
		base := strings.TrimSuffix(m.URL, "/")
		mmb, err := a.get(ctx, base+"/"+metamanifest.Dir+"/"+metamanifest.File, metamanifest.MaxSize)
		if err != nil {
			ms.Error = err.Error()
			a.alerts.raise(AlertUnreachable, source, fmt.Sprintf("cannot read mirror %s's MetaManifest: %v", m.Name, err))
			status.Mirrors = append(status.Mirrors, ms)
			continue
		}
		mm, err := metamanifest.Verify(mmb, a.cfg.Publishers)
		if err != nil {
			ms.Error = err.Error()
			a.alerts.raise(AlertMirrorBad, source, fmt.Sprintf("mirror %s serves a MetaManifest that does not verify: %v", m.Name, err), mmb)
			status.Mirrors = append(status.Mirrors, ms)
			continue
		}
		ms.Origin, ms.Timestamp = mm.Origin, mm.Timestamp
		if pb, err := a.get(ctx, base+"/"+metamanifest.Dir+"/"+metamanifest.ProofFile, checkpoint.MaxProofSize); err == nil {
			if _, err := a.cfg.Policy.VerifyProof(pb, mmb); err != nil {
				a.alerts.raise(AlertMirrorBad, source, fmt.Sprintf("mirror %s serves a proof that does not verify: %v", m.Name, err), mmb, pb)
			} else if pf, err := checkpoint.ParseProof(pb); err == nil && verified != nil {
				ms.Index = pf.Index
				a.gossip(ctx, source, pf.Checkpoint, verified)
			}
		}
		prev, seenBefore := st.Mirrors[m.Name]
		if newest, ok := st.Origins[mm.Origin]; ok {
			ms.NewestLogged, ms.NewestIndex = newest.Timestamp, newest.Index
			if lag := newest.Timestamp.Sub(mm.Timestamp); lag > a.cfg.MirrorLag {
				ms.Lag = lag
				kind, what := AlertMirrorFreeze, "is frozen: it still serves"
				if seenBefore && prev.Origin == mm.Origin && mm.Timestamp.Before(prev.Timestamp) {
					kind, what = AlertMirrorReplay, fmt.Sprintf("replays an old snapshot: after %s it now serves", prev.Timestamp.Format(time.RFC3339))
				}
				a.alerts.raise(kind, source+" "+mm.Origin, fmt.Sprintf("mirror %s %s %s snapshot %s, but the log holds %s at index %d (%s newer, threshold %s)",
					m.Name, what, mm.Origin, mm.Timestamp.Format(time.RFC3339), newest.Timestamp.Format(time.RFC3339), newest.Index, round(lag), a.cfg.MirrorLag), mmb)
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

// mirrorFiles spot-checks the files a mirror serves against its Manifests.
func (a *Auditor) mirrorFiles(ctx context.Context, m Mirror, source string, mm *metamanifest.Signed, mmb []byte, ms *MirrorStatus) {
	checked, problems, err := a.checkFiles(ctx, strings.TrimSuffix(m.URL, "/"), mm.MetaManifest, a.cfg.MirrorFiles)
	ms.FilesChecked, ms.FilesBad = checked, len(problems)
	if err != nil {
		if ms.Error == "" {
			ms.Error = err.Error()
		}
		a.alerts.raise(AlertUnreachable, source+" files", fmt.Sprintf("cannot check mirror %s's files: %v", m.Name, err))
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
