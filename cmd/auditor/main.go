// Command auditor watches a treelog log and the mirrors of its trees, and
// alerts — with evidence — when the log is not append-only, shows different
// views to different parties, holds entries it should not, or when the
// log or a mirror freezes or replays.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"time"

	"treelog/audit"
	"treelog/internal/cli"
	"treelog/internal/daemon"
	"treelog/internal/klogslog"
	"treelog/internal/untrusted"
	"treelog/policy"
	"treelog/trust"
)

const about = `Audits a treelog log. Each pass (every --interval, or once with --once):
  - follows the log through its tlog-tiles API (--log-url: the log or its
    mirrors), verifying every entry against the checkpoint's tiles, as a
    MetaManifest signed by a key allowed for its origin (by the version in
    force of a pinned --trust-root that governs it, else by --publishers),
    with TIMESTAMPs increasing per origin;
  - follows each pinned --trust-root's versions in the log, alerting on
    every change (trust-root-change, with the entry), on two versions N
    (trust-root-fork), and when the log's versions listing hides one
    (trust-root-hidden);
  - compares the checkpoints every vantage point shows: the log (each
    --log-url is a view of its own), each witness's monitoring endpoint
    (from --policy), the .tlog-proof files tree mirrors serve (--mirror),
    and other auditors (--peer); two that are not consistent are a
    split view, proven with the tiles this auditor verified (kept under
    --state); one it cannot prove either way is an unproven view, alerted
    at once and checked again on every pass until proven;
  - alerts when the log's quorum cosignatures are older than --freeze-after,
    a witness's cosignature older than --witness-stale-after, or a tree
    mirror serves a snapshot while a newer one has been in the log for
    --mirror-lag or longer (a freeze, or a replay if it went back: the rule
    'treelog verify --max-lag' applies), or serves files that its Manifests
    do not list as they are (--mirror-files of them checked per pass, at
    random).
Alerts go to the log (level ERROR, msg=ALERT), to /metrics, to --alert-command
(JSON on stdin) and --alert-webhook (POST); their evidence is kept under
--state. The status page is at /, what this auditor saw at /checkpoints (for
other auditors), alerts at /alerts.json.

Exit status (--once, and a daemon that cannot start):
  0  the pass ran and no alert is open
  1  an alert is open: evidence of misbehavior, or a frozen or stale party
  2  usage or configuration error (named): never raised as an alert
  3  the state directory is in use, corrupt or unwritable
  4  could not check: no alert of misbehavior, but the log, a witness, a
     mirror or a peer could not be read (an "unreachable" alert; an outage
     is not an attack)

Alerts of proven misbehavior (split-view, bad-entry, backdated-entry,
bad-tree, trust-root-fork) stay open until closed by hand, with the auditor stopped:
  auditor alerts --state DIR            list alerts (open ones first)
  auditor alerts --state DIR close ID   close one; its evidence stays`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, nil))
}

func run(args []string, stdout, stderr io.Writer, started func(net.Addr)) int {
	if len(args) > 0 && args[0] == "alerts" {
		return alertsCmd(args[1:], stdout, stderr)
	}
	fs := cli.Flags("auditor", "", about, stdout, stderr)
	var c daemon.Common
	c.AddFlags(fs, "127.0.0.1:7390")
	polFile := fs.String("policy", "", "tlog-policy file: the log (with URL), witnesses (with URLs) and quorum (required)")
	pubsFile := fs.String("publishers", "", "publishers file (this or --trust-root is required)")
	rootFiles := fs.StringSlice("trust-root", nil, "pinned trust root to follow in the log, alerting on each change (repeatable)")
	stateDir := fs.String("state", "auditor-state", "directory for progress, alerts and evidence")
	logURLs := fs.StringSlice("log-url", nil, "log or log mirror to read (repeatable; default: the policy's log URL)")
	logOrigin := fs.String("log-origin", "", "the log to audit, if the policy names several")
	mirrors := fs.StringSlice("mirror", nil, "tree mirror to watch, NAME=URL (repeatable)")
	peers := fs.StringSlice("peer", nil, "other auditor to compare with, its base URL (repeatable)")
	interval := fs.Duration("interval", time.Minute, "time between passes")
	freeze := fs.Duration("freeze-after", time.Hour, "alert when the log's newest quorum cosignatures are older")
	wstale := fs.Duration("witness-stale-after", time.Hour, "alert when a witness's cosignature is older")
	lag := fs.Duration("mirror-lag", 2*time.Hour, "alert when a mirror serves a snapshot while a newer one has been in the log this long (the rule of 'treelog verify --max-lag')")
	mfiles := fs.Int("mirror-files", 16, "files of each mirror's tree to check against its Manifests per pass, at random (-1: every file, 0: none)")
	cmd := fs.String("alert-command", "", "shell command run for each new alert, with the alert as JSON on stdin")
	hook := fs.String("alert-webhook", "", "URL to POST each new alert to, as JSON")
	once := fs.Bool("once", false, "one pass, then exit: 0 nothing open, 1 an alert is open, 4 something could not be read (for cron and CI)")
	if rc := cli.Status(fs, daemon.ParseFlags(fs, args), stderr); rc >= 0 {
		return rc
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "auditor: %s\n", untrusted.Escape(fmt.Sprintf(format, a...)))
		return cli.ExitUsage
	}
	if *polFile == "" || (*pubsFile == "" && len(*rootFiles) == 0) {
		return usage("--policy, and --publishers or --trust-root, are required")
	}
	log, err := c.Logger(stderr)
	if err != nil {
		return usage("%v", err)
	}
	klogslog.Use(log.With("part", "tessera"))
	pol, err := policy.ReadPolicyFile(*polFile, true)
	if err != nil {
		return usage("--policy: %v", err)
	}
	loadPubs := func() (*trust.Publishers, error) {
		if *pubsFile == "" {
			return nil, nil
		}
		return trust.ReadPublishersFile(*pubsFile, false)
	}
	pubs, err := loadPubs()
	if err != nil {
		return usage("--publishers: %v", err)
	}
	pins, err := trust.ReadPinnedFiles(*rootFiles)
	if err != nil {
		return usage("--trust-root: %v", err)
	}
	var ms []audit.Mirror
	for _, m := range *mirrors {
		name, url, ok := strings.Cut(m, "=")
		if !ok || name == "" || url == "" {
			return usage("--mirror %q: want NAME=URL", m)
		}
		ms = append(ms, audit.Mirror{Name: name, URL: url})
	}
	// A daemon takes its port before its state directory: one in use
	// leaves nothing behind.
	var ln net.Listener
	if !*once {
		if ln, err = net.Listen("tcp", c.Listen); err != nil {
			return usage("--listen: %v", err)
		}
		defer ln.Close()
	}
	reg := daemon.NewRegistry()
	a, err := audit.New(audit.Config{
		Policy: pol, LogOrigin: *logOrigin, Publishers: pubs, TrustRoots: pins, LogURLs: *logURLs, Mirrors: ms, Peers: *peers, StateDir: *stateDir,
		FreezeAfter: *freeze, WitnessStaleAfter: *wstale, MirrorLag: *lag, MirrorFiles: *mfiles, AlertCommand: *cmd, AlertWebhook: *hook,
		Log: log, Registry: reg, Progress: os.Stderr,
	})
	var ce *audit.ConfigError
	var se *audit.StateError
	switch {
	case errors.As(err, &ce):
		return usage("%s", ce.Msg)
	case errors.As(err, &se):
		fmt.Fprintf(stderr, "auditor: %s\n", untrusted.Escape(err.Error()))
		return cli.ExitLocal
	case err != nil:
		fmt.Fprintf(stderr, "auditor: %s\n", untrusted.Escape(err.Error()))
		return cli.ExitUnchecked
	}
	defer a.Close()
	if *once {
		return runOnce(a, stdout, stderr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Run(ctx, *interval)
	}()
	srv := &daemon.Server{
		Log: log, Handler: a.Handler(), Registry: reg, Started: started, Timeouts: c.Timeouts, Listener: ln,
		Reload: func() error {
			p, err := loadPubs()
			if err != nil {
				return err
			}
			pins, err := trust.ReadPinnedFiles(*rootFiles)
			if err != nil {
				return err
			}
			if err := a.SetTrustRoots(pins); err != nil {
				return err
			}
			return a.SetPublishers(p)
		},
		Stop: func(context.Context) error {
			cancel()
			<-done
			a.Flush()
			return nil
		},
	}
	if err := srv.Run(context.Background(), c.Listen); err != nil {
		log.Error("auditor stopped", "err", err)
		cancel()
		return cli.ExitUnchecked
	}
	return cli.ExitOK
}

// runOnce runs one pass and turns what it found into the exit status:
// misbehavior (1) comes before an outage (4).
func runOnce(a *audit.Auditor, stdout, stderr io.Writer) int {
	if err := a.Pass(context.Background()); err != nil {
		fmt.Fprintf(stderr, "auditor: the pass could not run: %s\n", untrusted.Escape(err.Error()))
		var se *audit.StateError
		if errors.As(err, &se) {
			return cli.ExitLocal
		}
		return cli.ExitUnchecked
	}
	a.Flush()
	open := a.Alerts()
	alerts, outages := 0, 0
	for _, al := range open {
		fmt.Fprintf(stdout, "ALERT %s: %s\n", al.Kind, untrusted.Escape(al.Message))
		if al.Kind == audit.AlertUnreachable {
			outages++
		} else {
			alerts++
		}
	}
	st := a.Status()
	fmt.Fprintf(stdout, "%s: %d entries verified, %d open alert(s)", st.Log, st.Scanned, alerts)
	if outages > 0 {
		fmt.Fprintf(stdout, "; %d vantage point(s) could not be read", outages)
	}
	fmt.Fprintln(stdout)
	switch {
	case alerts > 0:
		return cli.ExitRefused
	case outages > 0:
		return cli.ExitUnchecked
	}
	return cli.ExitOK
}

// alertsCmd lists the alerts in a state directory, or closes one.
func alertsCmd(args []string, stdout, stderr io.Writer) int {
	fs := cli.Flags("auditor alerts", "[list | close ID]", `Lists the alerts an auditor kept (open ones first), or closes one. Run it
with the auditor stopped; closing keeps the alert's evidence.`, stdout, stderr)
	stateDir := fs.String("state", "auditor-state", "the auditor's state directory")
	if rc := cli.Status(fs, fs.Parse(args), stderr); rc >= 0 {
		return rc
	}
	switch rest := fs.Args(); {
	case len(rest) == 0 || (len(rest) == 1 && rest[0] == "list"):
		list, err := audit.ReadAlerts(*stateDir)
		if err != nil {
			fmt.Fprintf(stderr, "auditor alerts: %s\n", untrusted.Escape(err.Error()))
			return cli.ExitLocal
		}
		sort.SliceStable(list, func(i, j int) bool { return list[i].Open && !list[j].Open })
		for _, al := range list {
			state := "closed"
			if al.Open {
				state = "OPEN"
			}
			// alerts.json may predate escaping, or be edited: escape again.
			fmt.Fprintf(stdout, "%s %-6s %s %s: %s\n", untrusted.Escape(al.ID), state, al.First.Format(time.RFC3339), untrusted.Escape(al.Kind), untrusted.Escape(al.Message))
			for _, e := range al.Evidence {
				fmt.Fprintf(stdout, "    evidence: %s\n", untrusted.Escape(e))
			}
		}
		return 0
	case len(rest) == 2 && rest[0] == "close":
		al, err := audit.CloseAlert(*stateDir, rest[1])
		var se *audit.StateError
		if errors.As(err, &se) {
			fmt.Fprintf(stderr, "auditor alerts: %s\n", untrusted.Escape(err.Error()))
			return cli.ExitLocal
		}
		if err != nil {
			fmt.Fprintf(stderr, "auditor alerts: %s\n", untrusted.Escape(err.Error()))
			return 1
		}
		fmt.Fprintf(stdout, "closed %s %s: %s\n", al.ID, al.Kind, untrusted.Escape(al.Message))
		return 0
	default:
		fmt.Fprintf(stderr, "auditor alerts: want no argument, 'list', or 'close ID'; got %q\n", rest)
		return 2
	}
}
