package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"treelog/client"
	"treelog/internal/untrusted"
	"treelog/pgpsig"
	"treelog/policy"
	"treelog/trust"
)

func init() {
	register("verify", "verify a synced tree before using it (signature, witnessed proof, consistency, replay, freshness, files)", verify)
	register("state", "show or reset this client's trusted state (state show|reset)", state)
}

const verifyAbout = `Verifies the tree in DIR, synced from a mirror, before it is used. In order,
stopping at the first failure:
  1 publisher    DIR/.treelog/MetaManifest is signed by a key --publishers allows for its origin
                 (and is a snapshot of --origin, if given)
    openpgp      with --keyring: the top-level Manifest it pins is OpenPGP-signed by a key of the keyring
  2 proof        its .tlog-proof proves inclusion under a checkpoint of a --policy log, cosigned by the quorum
  3 consistency  that checkpoint is consistent with the last one this client trusted (--state)
  4 replay       the snapshot is not older than one this client accepted (rollback), and every
                 newer snapshot of its origin in the log's latest witnessed checkpoint entered
                 the log less than --max-lag ago (a mirror may lag; past that it is stale or replayed);
                 learned from the log's index when it has one (a few KiB), else from its entries
                 (--no-index, and always with --trust-root)
  4b trust-root  with --trust-root: each pinned root is followed through the log (its versions
                 listing, every proof and step checked) and the MetaManifest judged by the version
                 in force at its index: a delegated key, valid at its TIMESTAMP, not revoked
  5 freshness    the newest quorum cosignature and the snapshot are younger than --max-age
  6 tree         every file matches the Manifests the MetaManifest covers
--offline runs 1, 2, 5 (against the proof's cosignatures) and 6 without network or trusted state.

The tree check is incremental: a verification cache per tree, in --state's tree-cache/
(named after the tree's absolute path), records each file's device, inode, size,
modification and change times and the Manifest entry it matched. A file whose stat is
unchanged since it last matched the same entry is not read again, nor is a package
directory whose Manifest, files and directories all kept theirs. A mirror cannot set
change times or choose inodes on this disk, so this is safe against mirrors; it does
not hold against someone who can write to the tree and set this machine's clock (see
docs/threat-model.md). A cache that is corrupt, truncated, of another tree or of
another version is not used: every file is hashed. The cache is written only after a
verification that passed. --full hashes every file, and writes the cache afresh.

When a snapshot entered the log is its TIMESTAMP, held between the witness cosignature
times of the checkpoints known to lack and to hold it; a mirror can forge none of them.

Exit status:
  0  verified
  1  refused: the tree or its proofs are bad (an attack, or corruption upstream)
  2  usage or configuration error (named)
  3  this client's own state is unreadable or corrupt (see 'treelog state')
  4  could not check: the log or its mirrors are unreachable, time out or answer 5xx;
     nothing was found wrong with the tree (try again, or another --log). With
     --proceed-if-log-unreachable, checks 3 and 4 are skipped instead, loudly.

--config FILE reads flag settings from FILE, one "name value" per line (the
Portage hook's per-repository files are such files).`

func verify(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("verify", "DIR", verifyAbout, stdout, stderr)
	fs.String("config", "", "file of flag settings, one 'name value' per line ('#' comments); command-line flags override it")
	polFile := fs.String("policy", "", "tlog-policy file: trusted logs (with URLs), witnesses and quorum (required)")
	pubsFile := fs.String("publishers", "", "publishers file: which keys may publish which tree (this or --trust-root is required)")
	rootFiles := fs.StringSlice("trust-root", nil, "pinned trust root: a signed version, delivered once, followed through the log (repeatable)")
	acceptOld := fs.Bool("accept-old", false, "accept a snapshot older than --max-age or than a newer logged one (old installation media), saying when it was published")
	origin := fs.String("origin", "", "the tree DIR must hold (e.g. gentoo.org/repo); refuse a snapshot of any other")
	stateDir := fs.String("state", client.DefaultStateDir(), "directory of this client's trusted state")
	maxAge := fs.Duration("max-age", 24*time.Hour, "refuse a snapshot, or a witness quorum, older than this")
	maxLag := fs.Duration("max-lag", 2*time.Hour, "accept a snapshot that is not the newest while every newer one entered the log less than this ago")
	skew := fs.Duration("max-clock-skew", 10*time.Minute, "refuse cosignatures timestamped further in the future")
	logs := fs.StringSlice("log", nil, "log or log mirror URL to fetch from (repeatable; default: the policy's log URL)")
	offline := fs.Bool("offline", false, "no network: skip the consistency and replay checks")
	full := fs.Bool("full", false, "hash every file, trusting nothing from the verification cache (which is then written afresh)")
	proceed := fs.Bool("proceed-if-log-unreachable", false, "if the log cannot be reached, skip the consistency and replay checks (saying so) instead of exiting 4; rollback against --state is still checked")
	noIndex := fs.Bool("no-index", false, "find newer snapshots by reading the log's entries after this one, not its index: costs more, and trusts the witnesses alone rather than the auditors for the index's completeness")
	verbose := fs.BoolP("verbose", "v", false, "print one line per check")
	jsonOut := fs.Bool("json", false, "print the result as JSON")
	keyring := fs.String("keyring", "", "OpenPGP public keys (armored or binary): require the top-level Manifest to be cleartext-signed by one")
	if rc := parseFlags(fs, args, 1, stderr); rc >= 0 {
		return rc
	}
	if *polFile == "" || (*pubsFile == "" && len(*rootFiles) == 0) {
		return usageErr(stderr, "verify", "--policy, and --publishers or --trust-root, are required")
	}
	if *maxAge <= 0 || *maxLag <= 0 {
		return usageErr(stderr, "verify", "--max-age and --max-lag must be positive")
	}
	if err := checkURLs("log", *logs...); err != nil {
		return usageErr(stderr, "verify", "%v", err)
	}
	pol, err := policy.ReadPolicyFile(*polFile, true)
	if err != nil {
		return usageErr(stderr, "verify", "--policy: %v", err)
	}
	var pubs *trust.Publishers
	if *pubsFile != "" {
		if pubs, err = trust.ReadPublishersFile(*pubsFile, false); err != nil {
			return usageErr(stderr, "verify", "--publishers: %v", err)
		}
	}
	pins, err := trust.ReadPinnedFiles(*rootFiles)
	if err != nil {
		return usageErr(stderr, "verify", "--trust-root: %v", err)
	}
	var kr *pgpsig.Keyring
	if *keyring != "" {
		if kr, err = pgpsig.LoadKeyring(*keyring); err != nil {
			return usageErr(stderr, "verify", "--keyring: %v", err)
		}
	}
	cfg := client.Config{OpenPGP: kr, Policy: pol, Publishers: pubs, TrustRoots: pins, AcceptOld: *acceptOld, Origin: *origin, StateDir: *stateDir,
		MaxAge: *maxAge, MaxLag: *maxLag, MaxClockSkew: *skew, LogURLs: *logs, Offline: *offline, Full: *full, ProceedIfUnreachable: *proceed,
		NoIndex: *noIndex, Progress: os.Stderr}
	if *verbose && !*jsonOut {
		cfg.OnCheck = func(c client.Check) {
			fmt.Fprintf(stdout, "%-7s %-11s %s\n", c.Status, c.Name, c.Detail)
		}
	}
	res, err := client.Verify(context.Background(), fs.Arg(0), cfg)
	var (
		f  *client.Failure
		le *client.LocalError
		ue *client.UncheckedError
		ce *client.ConfigError
	)
	code, verdict := exitOK, "VERIFIED"
	switch {
	case errors.As(err, &ce):
		code, verdict = exitUsage, "USAGE"
	case errors.As(err, &le):
		code, verdict = exitLocal, "LOCAL STATE"
	case errors.As(err, &ue):
		code, verdict = exitUnchecked, "COULD NOT CHECK"
	case errors.As(err, &f):
		code, verdict = exitFail, "REFUSED"
	case err != nil:
		// Interrupted, or a failure of this machine: not a verdict on the tree.
		code, verdict = exitUnchecked, "COULD NOT CHECK"
	}
	if *jsonOut {
		out := struct {
			Verified bool            `json:"verified"`
			Outcome  string          `json:"outcome"`
			Exit     int             `json:"exit_status"`
			Result   *client.Result  `json:"result"`
			Failure  *client.Failure `json:"failure,omitempty"`
			Error    string          `json:"error,omitempty"`
		}{Verified: err == nil, Outcome: verdict, Exit: code, Result: res}
		if errors.As(err, &f) {
			out.Failure = f
		}
		if err != nil {
			out.Error = untrusted.Escape(err.Error())
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
		return code
	}
	dir := untrusted.Escape(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "%s %s: %s\n", verdict, dir, untrusted.Escape(err.Error()))
		// Evidence only when signed objects conflict: a refusal for one bad
		// object, or an outage, has none.
		if f != nil && len(f.Evidence) >= 2 {
			fmt.Fprintln(stderr, "\nEvidence (signed objects that conflict; keep them, and report them):")
			for i, e := range f.Evidence {
				s := untrusted.Escape(string(e))
				fmt.Fprintf(stderr, "--- %d ---\n%s", i+1, s)
				if !strings.HasSuffix(s, "\n") {
					fmt.Fprintln(stderr)
				}
			}
		}
		return code
	}
	var notes []string
	if res.FilesReused > 0 {
		notes = append(notes, fmt.Sprintf("%d unchanged since they last verified, not read", res.FilesReused))
	}
	if *offline {
		notes = append(notes, "offline: consistency and replay not checked")
	}
	if res.Lag != nil {
		notes = append(notes, res.Lag.String())
	}
	note := ""
	if len(notes) > 0 {
		note = " (" + strings.Join(notes, "; ") + ")"
	}
	if res.TrustRoot != "" {
		note += "; authorized by " + res.TrustRoot
	}
	fmt.Fprintf(stdout, "verified %s snapshot %s: log %s index %d, cosigned by %s %s; published %s ago; %d files%s\n",
		res.Origin, res.Timestamp.Format(time.RFC3339), res.Log, res.Index, strings.Join(res.Cosigners, ", "),
		ageOf(res.QuorumTime), since(res.Timestamp), res.Files, note)
	if res.OldSnapshot != "" {
		fmt.Fprintf(stdout, "accepted as old (--accept-old): %s\n", res.OldSnapshot)
	}
	if res.Unreachable != "" {
		fmt.Fprintf(stderr, "WARNING: the log could not be reached (%s).\n"+
			"WARNING: --proceed-if-log-unreachable: the consistency and replay checks were SKIPPED. Only the publisher's\n"+
			"WARNING: signature, the offline proof, freshness (--max-age %s) and the files were checked: a mirror that\n"+
			"WARNING: also blocks the log could be serving an old snapshot or a split view, and this run would not see it.\n",
			res.Unreachable, *maxAge)
	}
	return exitOK
}

func since(t time.Time) string {
	d := time.Since(t).Round(time.Second)
	if d < 0 {
		return "0s"
	}
	return d.String()
}

func ageOf(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return since(t) + " ago"
}

func state(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("state", "show|reset", `Shows this client's trusted state, or resets it: 'reset' moves the state file
aside (it is kept: it may be evidence) so that the next verify starts afresh,
trusting the first checkpoint it sees. Use it when 'treelog verify' exits 3.`, stdout, stderr)
	dir := fs.String("state", client.DefaultStateDir(), "directory of this client's trusted state")
	if rc := parseFlags(fs, args, 1, stderr); rc >= 0 {
		return rc
	}
	switch fs.Arg(0) {
	case "show":
		st, err := client.LoadState(*dir)
		if err != nil {
			fmt.Fprintln(stderr, "treelog state:", err)
			return exitLocal
		}
		// The state holds what logs and mirrors sent: escaped.
		for o, l := range st.Logs {
			fmt.Fprintf(stdout, "log %s (updated %s):\n%s\n", untrusted.Escape(o), l.Updated.Format(time.RFC3339), untrusted.Escape(string(l.Checkpoint)))
		}
		for o, t := range st.Trees {
			fmt.Fprintf(stdout, "tree %s: newest snapshot %s (log index %d)\n", untrusted.Escape(o), t.Timestamp.Format(time.RFC3339), t.Index)
		}
		rs, err := client.LoadRoots(*dir)
		if err != nil {
			fmt.Fprintln(stderr, "treelog state:", err)
			return exitLocal
		}
		for name, r := range rs.Roots {
			if n := len(r.Indexes); n > 0 {
				fmt.Fprintf(stdout, "trust root %s: %d versions followed, the newest at log index %d\n", untrusted.Escape(name), n, r.Indexes[n-1])
			}
		}
		return exitOK
	case "reset":
		aside, err := client.ResetState(*dir)
		if err != nil {
			return fail(stderr, "state", err)
		}
		if aside == "" {
			fmt.Fprintln(stdout, "no state to reset")
		} else {
			fmt.Fprintf(stdout, "moved the old state to %s; the next verify starts afresh\n", aside)
		}
		return exitOK
	}
	return usageErr(stderr, "state", "want show or reset, got %q", fs.Arg(0))
}
