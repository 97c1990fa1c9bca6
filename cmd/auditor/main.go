// Command auditor watches a treelog log and the mirrors of its trees, and
// alerts — with evidence — when the log is not append-only, shows different
// views to different parties, holds entries it should not, or when the
// log or a mirror freezes or replays.
package main

import (
	"context"
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
  - compares the checkpoints every vantage point shows: the log, each
    witness's monitoring endpoint (from --policy), the .tlog-proof files
    tree mirrors serve (--mirror), and other auditors (--peer); two that
    are not consistent are a split view;
  - alerts when the log's quorum cosignatures are older than --freeze-after,
    a witness's cosignature older than --witness-stale-after, or a tree
    mirror serves a snapshot older than the origin's newest logged one by
    more than --mirror-lag (a freeze, or a replay if it went back), or
    serves files that its Manifests do not list as they are
    (--mirror-files of them checked per pass, at random).
Alerts go to the log (level ERROR, msg=ALERT), to /metrics, to --alert-command
(JSON on stdin) and --alert-webhook (POST); their evidence is kept under
--state. The status page is at /, what this auditor saw at /checkpoints (for
other auditors), alerts at /alerts.json. --once exits 1 if any alert is open.

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
	lag := fs.Duration("mirror-lag", 2*time.Hour, "alert when a mirror's snapshot is older than the newest logged by more")
	mfiles := fs.Int("mirror-files", 16, "files of each mirror's tree to check against its Manifests per pass, at random (-1: every file, 0: none)")
	cmd := fs.String("alert-command", "", "shell command run for each new alert, with the alert as JSON on stdin")
	hook := fs.String("alert-webhook", "", "URL to POST each new alert to, as JSON")
	once := fs.Bool("once", false, "one pass, then exit: 0 if no alert is open, 1 otherwise (for cron and CI)")
	if rc := cli.Status(fs, daemon.ParseFlags(fs, args), stderr); rc >= 0 {
		return rc
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "auditor: "+format+"\n", a...)
		return 2
	}
	if *polFile == "" || (*pubsFile == "" && len(*rootFiles) == 0) {
		return usage("--policy, and --publishers or --trust-root, are required")
	}
	log, err := c.Logger(stderr)
	if err != nil {
		return usage("%v", err)
	}
	klogslog.Use(log.With("part", "tessera"))
	pb, err := os.ReadFile(*polFile)
	if err != nil {
		return usage("--policy: %v", err)
	}
	pol, err := policy.Parse(pb)
	if err != nil {
		return usage("--policy: %v", err)
	}
	loadPubs := func() (*trust.Publishers, error) {
		if *pubsFile == "" {
			return nil, nil
		}
		b, err := os.ReadFile(*pubsFile)
		if err != nil {
			return nil, err
		}
		return trust.ParsePublishers(b)
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
	reg := daemon.NewRegistry()
	a, err := audit.New(audit.Config{
		Policy: pol, LogOrigin: *logOrigin, Publishers: pubs, TrustRoots: pins, LogURLs: *logURLs, Mirrors: ms, Peers: *peers, StateDir: *stateDir,
		FreezeAfter: *freeze, WitnessStaleAfter: *wstale, MirrorLag: *lag, MirrorFiles: *mfiles, AlertCommand: *cmd, AlertWebhook: *hook,
		Log: log, Registry: reg, Progress: os.Stderr,
	})
	if err != nil {
		log.Error("starting", "err", err)
		return 1
	}
	defer a.Close()
	if *once {
		if err := a.Pass(context.Background()); err != nil {
			log.Error("audit pass failed", "err", err)
			return 1
		}
		a.Flush()
		open := a.Alerts()
		for _, al := range open {
			fmt.Fprintf(stdout, "ALERT %s: %s\n", al.Kind, al.Message)
		}
		st := a.Status()
		fmt.Fprintf(stdout, "%s: %d entries verified, %d open alert(s)\n", st.Log, st.Scanned, len(open))
		if len(open) > 0 {
			return 1
		}
		return 0
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Run(ctx, *interval)
	}()
	srv := &daemon.Server{
		Log: log, Handler: a.Handler(), Registry: reg, Started: started, Timeouts: c.Timeouts,
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
		return 1
	}
	return 0
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
			fmt.Fprintf(stderr, "auditor alerts: %v\n", err)
			return 1
		}
		sort.SliceStable(list, func(i, j int) bool { return list[i].Open && !list[j].Open })
		for _, al := range list {
			state := "closed"
			if al.Open {
				state = "OPEN"
			}
			fmt.Fprintf(stdout, "%s %-6s %s %s: %s\n", al.ID, state, al.First.Format(time.RFC3339), al.Kind, al.Message)
			for _, e := range al.Evidence {
				fmt.Fprintf(stdout, "    evidence: %s\n", e)
			}
		}
		return 0
	case len(rest) == 2 && rest[0] == "close":
		al, err := audit.CloseAlert(*stateDir, rest[1])
		if err != nil {
			fmt.Fprintf(stderr, "auditor alerts: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "closed %s %s: %s\n", al.ID, al.Kind, al.Message)
		return 0
	default:
		fmt.Fprintf(stderr, "auditor alerts: want no argument, 'list', or 'close ID'; got %q\n", rest)
		return 2
	}
}
