// Package demo runs treelog end to end on loopback, for a person to watch:
// a log (tessera, POSIX storage), three witnesses (SQLite) with a 2-of-3
// quorum, an honest and a malicious tree mirror, and an auditor. It
// publishes a Gentoo-shaped tree several times, lets a user verify the
// honest mirror's copy, then has the malicious mirror try each attack
// treelog exists to stop — a tampered file, a replay, a freeze, a split
// view — and shows that the user refuses each one and the auditor reports
// each one with evidence; then a publisher key is stolen and revoked
// through a trust root; last, the log lies in its index about the newest
// snapshot. Every part is the real one, talking HTTP.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"treelog/audit"
	"treelog/client"
	"treelog/demo/mirror"
	"treelog/demo/network"
	"treelog/demo/treegen"
	"treelog/policy"
	"treelog/trust"
)

// Options configure a demo run.
type Options struct {
	// Dir holds everything (default: a temporary directory, removed at
	// the end unless Keep).
	Dir string
	// Keep leaves the network running, for a person to explore, until ctx
	// is done.
	Keep bool
	// Packages sizes the generated tree (default 150).
	Packages int
	// Out receives the narration (default os.Stdout).
	Out io.Writer
	// Log receives the daemons' own logs (default: discarded).
	Log *slog.Logger
}

// maxAge is the users' freshness bound: they want trees at most an hour
// old, as a Gentoo user syncing every half hour might.
const maxAge = time.Hour

// maxLag is how long a newer snapshot may have been in the log while a
// mirror still serves an older one, for users (--max-lag) and the auditor
// (--mirror-lag) alike. Real users allow hours; the demo's history is a
// day compressed into seconds, so it allows seconds, and waits them out
// before showing a replay or a freeze.
const maxLag = 3 * time.Second

// The demo's history stands for a day of publishing, compressed into
// seconds: snapshots spacing apart, the newest newest ago (younger than
// maxAge, so that users accept it).
const (
	spacing = 3 * time.Hour
	newest  = 45 * time.Minute
)

type demo struct {
	o       Options
	out     io.Writer
	dir     string
	net     *network.Network
	pol     *policy.Policy
	pubs    *trust.Publishers
	pins    []*trust.Signed // the trust roots users pinned (step 6 on)
	root    *rootScene
	snaps   []network.Snapshot
	honest  *mirror.Server
	evil    *mirror.Server
	urls    map[string]string // part -> base URL
	aud     *audit.Auditor
	servers []*http.Server
	// src is the publisher's working tree.
	src string
	// frozenLog is a copy of the log as it was when snapshot 0 was
	// published, which the evil mirror serves in the replay step.
	frozenLog string
	// published is when the last snapshot was logged.
	published time.Time
	// temporary: the data directory is removed when the demo ends.
	temporary bool
	steps     []stepResult
}

type stepResult struct {
	name  string
	ok    bool
	issue string
}

// Run runs the demo and returns nil only if every outcome was the one
// expected: the honest tree verified, each attack refused by the user for
// the expected reason and reported by the auditor with the expected alert.
func Run(ctx context.Context, o Options) (err error) {
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Packages <= 0 {
		o.Packages = 150
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	d := &demo{o: o, out: o.Out, dir: o.Dir, urls: map[string]string{}}
	if d.dir == "" {
		if d.dir, err = os.MkdirTemp("", "treelog-demo-"); err != nil {
			return err
		}
		if !o.Keep {
			d.temporary = true
			defer os.RemoveAll(d.dir)
		}
	} else if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return err
	}
	if d.dir, err = filepath.Abs(d.dir); err != nil {
		return err
	}
	defer d.close()
	start := time.Now()
	if err := d.setUp(ctx); err != nil {
		return fmt.Errorf("setting up the demo network: %w", err)
	}
	for _, step := range []func(context.Context) error{d.stepHonest, d.stepTampered, d.stepReplay, d.stepFreeze, d.stepSplitView, d.stepKeyCompromise, d.stepIndexLie} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	d.summary(time.Since(start))
	var failed []string
	for _, s := range d.steps {
		if !s.ok {
			failed = append(failed, s.name+": "+s.issue)
		}
	}
	if o.Keep {
		d.keep(ctx)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d outcome(s) not as expected:\n  %s", len(failed), strings.Join(failed, "\n  "))
	}
	return nil
}

func (d *demo) printf(format string, args ...any) { fmt.Fprintf(d.out, format, args...) }

func (d *demo) heading(format string, args ...any) {
	d.printf("\n== "+format+"\n", args...)
}

// serve starts h on a loopback port and returns its base URL.
func (d *demo) serve(name string, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	d.servers = append(d.servers, srv)
	url := "http://" + ln.Addr().String()
	d.urls[name] = url
	return url, nil
}

func (d *demo) close() {
	for _, s := range d.servers {
		s.Close()
	}
	if d.aud != nil {
		d.aud.Close()
	}
	if d.net != nil {
		d.net.Close()
	}
}

func (d *demo) path(elem ...string) string { return filepath.Join(append([]string{d.dir}, elem...)...) }

func (d *demo) setUp(ctx context.Context) error {
	d.printf("treelog demo: a log, three witnesses, two tree mirrors and an auditor on 127.0.0.1,\nall their data under %s\n", d.dir)
	d.heading("The network")
	if err := d.makeTrustRoot(); err != nil {
		return err
	}
	n, err := network.Start(ctx, d.path("net"), network.Options{Log: d.o.Log, TreeOrigin: "gentoo.example/repo", TrustRoots: [][]byte{d.root.v1}})
	if err != nil {
		return err
	}
	d.net = n
	d.urls["log"] = n.LogURL
	d.printf("  log        %s  (tessera, POSIX storage in %s)\n", n.LogURL, d.path("net", "log"))
	for _, w := range n.Witnesses {
		d.printf("  witness %s %s  (SQLite: %s)\n", w.Name, w.URL, d.path("net", w.Name+".db"))
		d.urls["witness "+w.Name] = w.URL
	}
	d.printf("  The log publishes a checkpoint only once 2 of the 3 witnesses cosigned it.\n")
	if d.pol, err = policy.Parse(mustRead(n.PolicyFile)); err != nil {
		return err
	}
	if d.pubs, err = trust.ParsePublishers(mustRead(n.PublishersFile)); err != nil {
		return err
	}

	d.heading("Publishing a Gentoo-shaped tree, four times")
	d.src = d.path("publisher", "tree")
	st, err := treegen.Generate(d.src, treegen.Options{Seed: 1, Packages: d.o.Packages})
	if err != nil {
		return err
	}
	d.printf("  %s: %d packages, %d files. Between snapshots some ebuilds change.\n", d.src, d.o.Packages, st.Files)
	d.printf("  The TIMESTAMPs are %s apart, the newest %s ago: the history stands for a day.\n", spacing, newest)
	now := time.Now()
	for i := range 4 {
		if err := d.publish(ctx, now.Add(-newest-time.Duration(3-i)*spacing)); err != nil {
			return err
		}
		if i == 0 {
			// What a frozen mirror of the log would keep serving.
			d.frozenLog = d.path("evil", "frozen-log")
			if err := mirror.CopyTree(d.path("net", "log"), d.frozenLog); err != nil {
				return err
			}
		}
	}

	d.heading("Tree mirrors and the auditor")
	d.honest = mirror.NewServer(d.snaps[3].Dir)
	d.evil = mirror.NewServer(d.snaps[3].Dir)
	if _, err := d.serve("honest mirror", d.honest); err != nil {
		return err
	}
	if _, err := d.serve("evil mirror", d.evil); err != nil {
		return err
	}
	if _, err := d.serve("frozen log", http.FileServer(http.Dir(d.frozenLog))); err != nil {
		return err
	}
	d.aud, err = audit.New(audit.Config{
		Policy: d.pol, Publishers: d.pubs, TrustRoots: []*trust.Signed{d.root.pin}, StateDir: d.path("auditor"),
		Mirrors:   []audit.Mirror{{Name: "honest", URL: d.urls["honest mirror"]}, {Name: "evil", URL: d.urls["evil mirror"]}},
		MirrorLag: maxLag, FreezeAfter: time.Hour, MirrorFiles: -1, Log: d.o.Log,
	})
	if err != nil {
		return err
	}
	if _, err := d.serve("auditor", d.aud.Handler()); err != nil {
		return err
	}
	d.printf("  honest mirror  %s  serves snapshot 3, the newest\n", d.urls["honest mirror"])
	d.printf("  evil mirror    %s  serves whatever the attacker wants\n", d.urls["evil mirror"])
	d.printf("  auditor        %s/  (status page; state and evidence in %s)\n", d.urls["auditor"], d.path("auditor"))
	d.printf("  The auditor replays the log, compares the checkpoints of the log, the witnesses\n  and the mirrors' proofs, checks every file each mirror serves, and alerts when a\n  mirror serves a snapshot while a newer one has been logged for %s or longer.\n", maxLag)
	d.printf("  Users verify with `treelog verify --max-age %s --max-lag %s`: they want trees at most\n  an hour old, and allow a mirror to lag %s behind the log (real users allow hours:\n  this day of history is compressed into seconds).\n", maxAge, maxLag, maxLag)
	d.printf("\n  (Below, `treelog verify` is the same code, run in this process; its checks print\n  as they run.)\n")
	return nil
}

// publish publishes the publisher's tree (changed a little after the
// first time) with TIMESTAMP ts.
func (d *demo) publish(ctx context.Context, ts time.Time) error {
	i := len(d.snaps)
	if i > 0 {
		if _, err := treegen.Evolve(d.src, uint64(i), 3); err != nil {
			return err
		}
	}
	s, err := d.net.PublishSnapshot(ctx, d.src, d.path("publisher", fmt.Sprintf("snapshot%d", i)), ts)
	if err != nil {
		return fmt.Errorf("publishing snapshot %d: %w", i, err)
	}
	d.snaps = append(d.snaps, s)
	d.published = time.Now()
	d.printf("  snapshot %d  TIMESTAMP %s  logged at index %d, witnessed\n", i, s.Time.Format(time.RFC3339), s.Index)
	return nil
}

// waitLag waits until the last snapshot has been in the log longer than
// the lag users and the auditor allow a mirror: from then on a mirror
// serving an older one is stale, not just behind.
func (d *demo) waitLag(ctx context.Context) error {
	wait := time.Until(d.published.Add(maxLag + 500*time.Millisecond))
	if wait <= 0 {
		return nil
	}
	d.printf("  (Waiting %s, until the newer snapshots have been in the log longer than the\n  %s a mirror may lag.)\n", wait.Round(100*time.Millisecond), maxLag)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(wait):
		return nil
	}
}

func mustRead(p string) []byte {
	b, _ := os.ReadFile(p)
	return b
}

// user is someone syncing trees, with a client state of their own.
type user struct{ name, state string }

func (d *demo) user(name string) user {
	return user{name: name, state: d.path("users", strings.ToLower(name), "state")}
}

// verify syncs the tree a mirror serves into DIR/steps/<step>/tree, as a
// user's sync would, and runs the user's check on it (what `treelog
// verify` runs), printing the command, each check, and the outcome.
func (d *demo) verify(ctx context.Context, step string, u user, mirrorName string, logURL string) (*client.Result, error) {
	return d.verifyWith(ctx, step, u, mirrorName, logURL, d.pins, false)
}

// verifyWith is verify with the trust roots the user pinned (if any), and
// with --no-index or not.
func (d *demo) verifyWith(ctx context.Context, step string, u user, mirrorName, logURL string, pins []*trust.Signed, noIndex bool) (*client.Result, error) {
	tree := d.path("steps", step, strings.ToLower(u.name)+"-"+strings.Fields(mirrorName)[0])
	if noIndex {
		tree += "-no-index"
	}
	if err := mirror.Sync(ctx, d.urls[mirrorName], tree); err != nil {
		return nil, fmt.Errorf("syncing %s: %w", mirrorName, err)
	}
	cmd := fmt.Sprintf("treelog verify -v --policy %s --publishers %s --state %s --max-age %s --max-lag %s", d.net.PolicyFile, d.net.PublishersFile, u.state, maxAge, maxLag)
	if logURL != "" {
		cmd += " --log " + logURL
	}
	if len(pins) > 0 {
		cmd += " --trust-root " + d.path("release-engineering", "trustroot-v1")
	}
	if noIndex {
		cmd += " --no-index"
	}
	d.printf("\n  %s syncs the %s into %s and checks it:\n  $ %s %s\n", u.name, mirrorName, tree, cmd, tree)
	cfg := client.Config{Policy: d.pol, Publishers: d.pubs, TrustRoots: pins, StateDir: u.state, MaxAge: maxAge, MaxLag: maxLag, NoIndex: noIndex,
		OnCheck: func(c client.Check) { d.printf("    %-7s %-11s %s\n", c.Status, c.Name, c.Detail) }}
	if logURL != "" {
		cfg.LogURLs = []string{logURL}
	}
	res, err := client.Verify(ctx, tree, cfg)
	var f *client.Failure
	if errors.As(err, &f) {
		d.printf("  => REFUSED (%s).\n", f.Check)
		for i, e := range f.Evidence {
			p := fmt.Sprintf("%s.evidence-%d", tree, i+1)
			if os.WriteFile(p, e, 0o644) == nil {
				d.printf("     evidence: %s\n", p)
			}
		}
	} else if err == nil {
		d.printf("  => VERIFIED: entry %d of %s, cosigned by %s; snapshot published %s ago.\n",
			res.Index, res.Log, strings.Join(res.Cosigners, ", "), time.Since(res.Timestamp).Round(time.Second))
		if res.TrustRoot != "" {
			d.printf("     Its key is delegated by %s.\n", res.TrustRoot)
		}
	}
	return res, err
}

// expectRefused records whether err is a refusal by check.
func (d *demo) expectRefused(step string, err error, check string) {
	var f *client.Failure
	switch {
	case errors.As(err, &f) && f.Check == check:
		d.steps = append(d.steps, stepResult{name: step, ok: true})
	case errors.As(err, &f):
		d.steps = append(d.steps, stepResult{name: step, issue: fmt.Sprintf("refused by the %s check, expected %s: %v", f.Check, check, err)})
	case err != nil:
		d.steps = append(d.steps, stepResult{name: step, issue: fmt.Sprintf("could not run: %v", err)})
	default:
		d.steps = append(d.steps, stepResult{name: step, issue: "VERIFIED, expected a refusal by the " + check + " check"})
	}
}

// audit runs one auditor pass and checks that the open alerts are
// exactly want (kinds), printing them with their evidence.
func (d *demo) audit(ctx context.Context, step string, want ...string) error {
	if err := d.aud.Pass(ctx); err != nil {
		return fmt.Errorf("auditor pass: %w", err)
	}
	open := d.aud.Alerts()
	d.printf("\n  The auditor's pass (see %s/):\n", d.urls["auditor"])
	if len(open) == 0 {
		d.printf("    no alerts\n")
	}
	var got []string
	for _, al := range open {
		got = append(got, al.Kind)
		d.printf("    ALERT %s: %s\n", al.Kind, al.Message)
		for _, e := range al.Evidence {
			d.printf("      evidence: %s\n", e)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		d.steps = append(d.steps, stepResult{name: step + " (auditor)", issue: fmt.Sprintf("open alerts %v, expected %v", got, want)})
	} else {
		d.steps = append(d.steps, stepResult{name: step + " (auditor)", ok: true})
	}
	return nil
}

func (d *demo) stepHonest(ctx context.Context) error {
	d.heading("1. Alice verifies the honest mirror's tree")
	_, err := d.verify(ctx, "1-honest", d.user("Alice"), "honest mirror", "")
	if err != nil {
		var f *client.Failure
		if !errors.As(err, &f) {
			return err
		}
		d.steps = append(d.steps, stepResult{name: "1 honest mirror", issue: "refused: " + err.Error()})
	} else {
		d.steps = append(d.steps, stepResult{name: "1 honest mirror", ok: true})
	}
	return d.audit(ctx, "1 honest network")
}

func (d *demo) stepTampered(ctx context.Context) error {
	d.heading("2. The evil mirror serves the newest snapshot with a tampered file")
	dir := d.path("evil", "tampered")
	rel, err := tamper(d.snaps[3].Dir, dir)
	if err != nil {
		return err
	}
	d.evil.SetDir(dir)
	d.printf("  It appends a line that runs the attacker's code to %s.\n  The MetaManifest and its proof are the genuine ones.\n", rel)
	_, err = d.verify(ctx, "2-tampered", d.user("Alice"), "evil mirror", "")
	d.expectRefused("2 tampered file", err, client.CheckTree)
	return d.audit(ctx, "2 tampered file", audit.AlertMirrorTampered)
}

func (d *demo) stepReplay(ctx context.Context) error {
	d.heading("3. Replay: the evil mirror serves snapshot 0, ten hours old, with its valid proof")
	d.evil.SetDir(d.snaps[0].Dir)
	d.printf("  Everything it serves is genuine and was logged; it is just old (what was fixed\n  since is still broken). Bob has never synced before.\n")
	if err := d.waitLag(ctx); err != nil {
		return err
	}
	_, err := d.verify(ctx, "3-replay", d.user("Bob"), "evil mirror", "")
	d.expectRefused("3 replay (new user)", err, client.CheckReplay)
	_, err = d.verify(ctx, "3-replay", d.user("Alice"), "evil mirror", "")
	d.expectRefused("3 replay (returning user)", err, client.CheckReplay)
	d.printf("\n  Carol can reach the log only through the evil mirror (%s), which serves\n  a copy of it frozen when snapshot 0 was published: no newer snapshot in sight.\n", d.urls["frozen log"])
	_, err = d.verify(ctx, "3-replay", d.user("Carol"), "evil mirror", d.urls["frozen log"])
	d.expectRefused("3 replay with a frozen log", err, client.CheckFreshness)
	return d.audit(ctx, "3 replay", audit.AlertMirrorReplay)
}

func (d *demo) stepFreeze(ctx context.Context) error {
	d.heading("4. Freeze: a new snapshot is published; the evil mirror stays on the old one")
	if err := d.publish(ctx, time.Now()); err != nil {
		return err
	}
	d.honest.SetDir(d.snaps[4].Dir)
	d.evil.SetDir(d.snaps[3].Dir)
	d.printf("  The honest mirror syncs snapshot 4; the evil mirror keeps serving snapshot 3,\n  which users accepted earlier, so that fixes in snapshot 4 never reach them.\n")
	if err := d.waitLag(ctx); err != nil {
		return err
	}
	_, err := d.verify(ctx, "4-freeze", d.user("Alice"), "evil mirror", "")
	d.expectRefused("4 freeze", err, client.CheckReplay)
	if _, err = d.verify(ctx, "4-freeze", d.user("Alice"), "honest mirror", ""); err != nil {
		d.steps = append(d.steps, stepResult{name: "4 honest mirror, updated", issue: "refused: " + err.Error()})
	} else {
		d.steps = append(d.steps, stepResult{name: "4 honest mirror, updated", ok: true})
	}
	return d.audit(ctx, "4 freeze", audit.AlertMirrorFreeze)
}

func (d *demo) stepSplitView(ctx context.Context) error {
	d.heading("5. Split view: a second log history, made for its victims")
	d.printf("  The attacker now holds the log's key, the publisher's key and two of the three\n  witnesses' keys: the worst a 2-of-3 quorum allows. It publishes a backdoored\n  snapshot into a fork of the log that only its victims are shown: a checkpoint of\n  the real log's size, a valid MetaManifest, a quorum of cosignatures.\n")
	dir := d.path("evil", "split-view")
	rel, err := splitView(d.net, d.snaps, dir)
	if err != nil {
		return fmt.Errorf("building the split view: %w", err)
	}
	d.evil.SetDir(dir)
	d.printf("  The backdoor is in %s; every Manifest and signature checks out.\n", rel)
	_, err = d.verify(ctx, "5-split-view", d.user("Alice"), "evil mirror", "")
	d.expectRefused("5 split view (returning user)", err, client.CheckConsistency)
	_, err = d.verify(ctx, "5-split-view", d.user("Dave"), "evil mirror", "")
	d.expectRefused("5 split view (new user)", err, client.CheckConsistency)
	return d.audit(ctx, "5 split view", audit.AlertSplitView)
}

func (d *demo) summary(took time.Duration) {
	d.heading("Outcome")
	bad := 0
	for _, s := range d.steps {
		if s.ok {
			d.printf("  as expected   %s\n", s.name)
		} else {
			bad++
			d.printf("  NOT EXPECTED  %s: %s\n", s.name, s.issue)
		}
	}
	if bad == 0 {
		d.printf("  Every outcome as expected, in %s.\n", took.Round(100*time.Millisecond))
	}

	if d.temporary {
		d.heading("Where the data lives, until the demo exits")
		d.printf("  (%s is removed when the demo ends. To look at it, or to run the commands\n  below, run the demo again with --dir DIR to keep the data, or with --keep to keep\n  the network running too.)\n", d.dir)
	} else {
		d.heading("Where the data lives")
	}
	d.printf("  %s  keys (*.key secret, *.pub public), policy, publishers, witness-policy\n", d.path("net"))
	d.printf("  %s  the log: checkpoint, tiles and entry bundles (tessera POSIX), its index (index/)\n", d.path("net", "log"))
	d.printf("  %s  the witnesses' SQLite databases\n", d.path("net", "w*.db"))
	d.printf("  %s  the publisher's working tree and the snapshots it published\n", d.path("publisher"))
	d.printf("  %s  what the evil mirror served: tampered tree, frozen log, split view\n", d.path("evil"))
	d.printf("  %s  each user's client state (trusted checkpoint, newest snapshot seen)\n", d.path("users"))
	d.printf("  %s  each step's synced trees and the evidence the users kept\n", d.path("steps"))
	d.printf("  %s  the auditor's progress, alerts (alerts.json) and evidence/\n", d.path("auditor"))
	d.printf("  %s  the trust root's holders' keys and the pinned version 1\n", d.path("release-engineering"))
	d.printf("  %s  the overlay's keys and snapshots\n", d.path("overlay"))

	d.heading("Doing it by hand")
	d.printf("  (treelog and auditor are `go run ./cmd/treelog` and `go run ./cmd/auditor` from a clone.)\n")
	if d.temporary {
		d.printf("  These need the data, which this run removes: rerun with --dir DIR, or --keep.\n")
	}
	d.printf("  Check a tree the way the users did (the steps' commands above work while the network runs, with --keep):\n")
	d.printf("  $ treelog verify -v --policy %s --publishers %s --state /tmp/my-state %s\n", d.net.PolicyFile, d.net.PublishersFile, d.path("steps", "1-honest", "alice-honest"))
	d.printf("  Check a tree offline, from its MetaManifest and proof alone:\n")
	d.printf("  $ treelog verify --offline --policy %s --publishers %s %s\n", d.net.PolicyFile, d.net.PublishersFile, d.snaps[4].Dir)
	d.printf("  Publish a new snapshot (with --keep):\n")
	d.printf("  $ treelog publish --key %s --origin %s --log %s --policy %s --layout gentoo %s\n", d.path("net", "publisher.key"), d.net.Opts.TreeOrigin, d.net.LogURL, d.net.PolicyFile, d.path("publisher", "tree"))
	d.printf("  Audit once, as cron would (with --keep):\n")
	d.printf("  $ auditor --once --policy %s --publishers %s --state /tmp/my-auditor --mirror-lag %s --mirror evil=%s\n", d.net.PolicyFile, d.net.PublishersFile, maxLag, d.urls["evil mirror"])
	d.printf("  See what the auditor kept:\n  $ auditor alerts --state %s\n", d.path("auditor"))
	d.printf("  Follow the trust root through the log, as users do (with --keep):\n")
	d.printf("  $ treelog root show --trust-root %s --policy %s\n", d.path("release-engineering", "trustroot-v1"), d.net.PolicyFile)
}

// keep runs the auditor every 10 seconds and serves everything until ctx
// is done.
func (d *demo) keep(ctx context.Context) {
	d.heading("Kept running (Ctrl-C to stop)")
	var file strings.Builder
	for _, name := range []string{"log", "witness w1", "witness w2", "witness w3", "honest mirror", "evil mirror", "frozen log", "overlay mirror", "evil overlay mirror", "auditor"} {
		d.printf("  %-26s %s/\n", name, d.urls[name])
		fmt.Fprintf(&file, "%s %s\n", urlKey(name), d.urls[name])
	}
	// The same list for scripts, written last so that its presence means
	// the network is up and every step has run.
	if err := os.WriteFile(d.path("urls"), []byte(file.String()), 0o644); err != nil {
		d.printf("  (could not write %s: %v)\n", d.path("urls"), err)
	} else {
		d.printf("  The same list, for scripts: %s\n", d.path("urls"))
	}
	d.printf("  The auditor's status page: %s/  (a pass every 10s)\n", d.urls["auditor"])
	d.aud.Run(ctx, 10*time.Second)
	d.printf("\nStopping. The data stays in %s.\n", d.dir)
}

// urlKey names a part in DIR/urls: its lowercase words joined by '-', as
// in "witness-w1".
func urlKey(name string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(name), func(r rune) bool {
		return !('a' <= r && r <= 'z' || '0' <= r && r <= '9')
	}), "-")
}
