package demo

import (
	"context"
	"fmt"
	"slices"

	"treelog/audit"
	"treelog/client"
	"treelog/demo/evilindex"
)

// stepIndexLie: the log's operator (or whoever holds its key) lies in the
// log's index: it says the newest snapshot of the tree is snapshot 3, so
// that the evil mirror's snapshot 3 looks up to date to users who read
// the index instead of the log.
func (d *demo) stepIndexLie(ctx context.Context) error {
	d.heading("7. The log lies about the newest snapshot")
	d.printf("  Users do not read the whole log to learn whether a newer snapshot exists: the\n" +
		"  log keeps an index of the newest snapshot of every tree, committed in the log\n" +
		"  itself (an index entry every few seconds here), which a user reads in a few KiB.\n" +
		"  The attacker runs the log (or holds its key). It appends an index entry that\n" +
		"  names snapshot 3 as the newest snapshot of the tree, leaving snapshot 4 out. The\n" +
		"  witnesses cosign it: they check that the log only grows, not what it says. The\n" +
		"  evil mirror serves snapshot 3.\n")
	pos, err := evilindex.Publish(ctx, d.net, evilindex.Options{}, evilindex.Older(d.net.Opts.TreeOrigin))
	if err != nil {
		return fmt.Errorf("making the log lie: %w", err)
	}
	if err := d.net.RestartLog(ctx); err != nil {
		return err
	}
	d.printf("  The lying index entry is log entry %d; the log goes on from there.\n", pos)
	newest, old := d.snaps[len(d.snaps)-1], d.snaps[len(d.snaps)-2]
	d.honest.SetDir(newest.Dir)
	d.evil.SetDir(old.Dir)

	d.printf("\n  Alice accepted snapshot 4 before. Her own snapshot, which the log holds,\n  is missing from the index: the index is a lie, and says so with signatures.\n")
	_, err = d.verifyWith(ctx, "7-index-lie", d.user("Alice"), "honest mirror", "", nil, false)
	d.expectRefused("7 the index leaves out a user's own snapshot", err, client.CheckReplay)

	d.printf("\n  Erin has never synced. With --no-index she reads the log's entries after\n  her snapshot instead of the index (more bytes), and sees snapshot 4.\n")
	_, err = d.verifyWith(ctx, "7-index-lie", d.user("Erin"), "evil mirror", "", nil, true)
	d.expectRefused("7 a new user who reads the log", err, client.CheckReplay)

	d.printf("\n  Frank has never synced either, and reads the index, as users do by default.\n" +
		"  Nothing he holds contradicts it: the index alone cannot show him what it leaves\n" +
		"  out. The auditors can, and do, below: every index entry is recomputed from the\n" +
		"  log, and this one is reported with the signed entry as evidence.\n")
	_, err = d.verifyWith(ctx, "7-index-lie", d.user("Frank"), "evil mirror", "", nil, false)
	if err == nil {
		d.steps = append(d.steps, stepResult{name: "7 a new user who reads the index is misled (the auditor is what catches it)", ok: true})
	} else {
		d.steps = append(d.steps, stepResult{name: "7 a new user who reads the index", issue: "expected the lie to pass the user's check (nothing the user holds contradicts it), got: " + err.Error()})
	}
	return d.auditIncludes(ctx, "7 index lie", audit.AlertIndexWrong)
}

// auditIncludes runs one auditor pass and checks that the open alerts
// include each kind in want, printing them with their evidence.
func (d *demo) auditIncludes(ctx context.Context, step string, want ...string) error {
	if err := d.aud.Pass(ctx); err != nil {
		return fmt.Errorf("auditor pass: %w", err)
	}
	d.printf("\n  The auditor's pass (see %s/):\n", d.urls["auditor"])
	var got []string
	for _, al := range d.aud.Alerts() {
		got = append(got, al.Kind)
		d.printf("    ALERT %s: %s\n", al.Kind, al.Message)
		for _, e := range al.Evidence {
			d.printf("      evidence: %s\n", e)
		}
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			d.steps = append(d.steps, stepResult{name: step + " (auditor)", issue: fmt.Sprintf("open alerts %v, expected %s among them", got, w)})
			return nil
		}
	}
	d.steps = append(d.steps, stepResult{name: step + " (auditor)", ok: true})
	return nil
}
