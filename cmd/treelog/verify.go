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
	"treelog/pgpsig"
	"treelog/trust"
)

func init() {
	register("verify", "verify a synced tree before using it (signature, witnessed proof, consistency, replay, freshness, files)", verify)
	register("state", "show or reset this client's trusted state (state show|reset)", state)
}

func verify(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("verify", "DIR", `Verifies the tree in DIR, synced from a mirror, before it is used. In order,
stopping at the first failure:
  1 publisher    DIR/.treelog/MetaManifest is signed by a key --publishers allows for its origin
                 (and is a snapshot of --origin, if given)
    openpgp      with --keyring: the top-level Manifest it pins is OpenPGP-signed by a key of the keyring
  2 proof        its .tlog-proof proves inclusion under a checkpoint of a --policy log, cosigned by the quorum
  3 consistency  that checkpoint is consistent with the last one this client trusted (--state)
  4 replay       the log's latest witnessed checkpoint holds no newer snapshot of the origin,
                 and the snapshot is not older than one this client saw (rollback)
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

Exit status: 0 verified; 1 refused (the tree or its proofs are bad: an attack or corruption
upstream); 2 usage; 3 this client's own state is unreadable or corrupt (see 'treelog state').

--config FILE reads flag settings from FILE, one "name value" per line (the
Portage hook's per-repository files are such files).`, stdout, stderr)
	fs.String("config", "", "file of flag settings, one 'name value' per line ('#' comments); command-line flags override it")
	polFile := fs.String("policy", "", "tlog-policy file: trusted logs (with URLs), witnesses and quorum (required)")
	pubsFile := fs.String("publishers", "", "publishers file: which keys may publish which tree (this or --trust-root is required)")
	rootFiles := fs.StringSlice("trust-root", nil, "pinned trust root: a signed version, delivered once, followed through the log (repeatable)")
	acceptOld := fs.Bool("accept-old", false, "accept a snapshot older than --max-age or than a newer logged one (old installation media), saying when it was published")
	origin := fs.String("origin", "", "the tree DIR must hold (e.g. gentoo.org/repo); refuse a snapshot of any other")
	stateDir := fs.String("state", client.DefaultStateDir(), "directory of this client's trusted state")
	maxAge := fs.Duration("max-age", 24*time.Hour, "refuse a snapshot, or a witness quorum, older than this")
	skew := fs.Duration("max-clock-skew", 10*time.Minute, "refuse cosignatures timestamped further in the future")
	logs := fs.StringSlice("log", nil, "log or log mirror URL to fetch from (repeatable; default: the policy's log URL)")
	offline := fs.Bool("offline", false, "no network: skip the consistency and replay checks")
	full := fs.Bool("full", false, "hash every file, trusting nothing from the verification cache (which is then written afresh)")
	verbose := fs.BoolP("verbose", "v", false, "print one line per check")
	jsonOut := fs.Bool("json", false, "print the result as JSON")
	keyring := fs.String("keyring", "", "OpenPGP public keys (armored or binary): require the top-level Manifest to be cleartext-signed by one")
	if rc := parseFlags(fs, args, 1, stderr); rc >= 0 {
		return rc
	}
	if *polFile == "" || (*pubsFile == "" && len(*rootFiles) == 0) {
		return usageErr(stderr, "verify", "--policy, and --publishers or --trust-root, are required")
	}
	pol, err := readPolicy(*polFile)
	if err != nil {
		return usageErr(stderr, "verify", "--policy: %v", err)
	}
	var pubs *trust.Publishers
	if *pubsFile != "" {
		pb, err := os.ReadFile(*pubsFile)
		if err != nil {
			return usageErr(stderr, "verify", "--publishers: %v", err)
		}
		if pubs, err = trust.ParsePublishers(pb); err != nil {
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
	cfg := client.Config{OpenPGP: kr, Policy: pol, Publishers: pubs, TrustRoots: pins, AcceptOld: *acceptOld, Origin: *origin, StateDir: *stateDir, MaxAge: *maxAge, MaxClockSkew: *skew,
		LogURLs: *logs, Offline: *offline, Full: *full, Progress: os.Stderr}
	if *verbose && !*jsonOut {
		cfg.OnCheck = func(c client.Check) {
			fmt.Fprintf(stdout, "%-7s %-11s %s\n", c.Status, c.Name, c.Detail)
		}
	}
	res, err := client.Verify(context.Background(), fs.Arg(0), cfg)
	code := exitOK
	var f *client.Failure
	var le *client.LocalError
	switch {
	case errors.As(err, &le):
		code = exitLocal
	case err != nil:
		code = exitFail
	}
	if *jsonOut {
		out := struct {
			Verified bool            `json:"verified"`
			Result   *client.Result  `json:"result"`
			Failure  *client.Failure `json:"failure,omitempty"`
			Error    string          `json:"error,omitempty"`
		}{Verified: err == nil, Result: res}
		if errors.As(err, &f) {
			out.Failure = f
		}
		if err != nil {
			out.Error = err.Error()
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
		return code
	}
	if err != nil {
		fmt.Fprintf(stderr, "REFUSED %s: %v\n", fs.Arg(0), err)
		if errors.As(err, &f) && len(f.Evidence) > 0 {
			fmt.Fprintln(stderr, "\nEvidence (signed objects that conflict):")
			for i, e := range f.Evidence {
				fmt.Fprintf(stderr, "--- %d ---\n%s", i+1, e)
				if !strings.HasSuffix(string(e), "\n") {
					fmt.Fprintln(stderr)
				}
			}
		}
		return code
	}
	note := ""
	if res.FilesReused > 0 {
		note = fmt.Sprintf(" (%d unchanged since they last verified, not read)", res.FilesReused)
	}
	if *offline {
		note += " (offline: consistency and replay not checked)"
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
		for o, l := range st.Logs {
			fmt.Fprintf(stdout, "log %s (updated %s):\n%s\n", o, l.Updated.Format(time.RFC3339), l.Checkpoint)
		}
		for o, t := range st.Trees {
			fmt.Fprintf(stdout, "tree %s: newest snapshot %s (log index %d)\n", o, t.Timestamp.Format(time.RFC3339), t.Index)
		}
		rs, err := client.LoadRoots(*dir)
		if err != nil {
			fmt.Fprintln(stderr, "treelog state:", err)
			return exitLocal
		}
		for name, r := range rs.Roots {
			if n := len(r.Indexes); n > 0 {
				fmt.Fprintf(stdout, "trust root %s: %d versions followed, the newest at log index %d\n", name, n, r.Indexes[n-1])
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
