package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"treelog/internal/untrusted"
	"treelog/manifest"
	"treelog/metamanifest"
	"treelog/pgpsig"
	"treelog/policy"
	"treelog/publisher"
)

func init() {
	register("submit", "submit a signed MetaManifest to a log and fetch its proof", submit)
	register("publish", "publish a tree snapshot: Manifests, MetaManifest, log, proof", publish)
}

// readPolicy reads an optional --policy: one without a log could check
// no proof.
func readPolicy(path string) (*policy.Policy, error) {
	if path == "" {
		return nil, nil
	}
	return policy.ReadPolicyFile(path, true)
}

// retrying tells the person waiting that the log did not answer and
// another try follows.
func retrying(stderr io.Writer, cmd string) func(error, time.Duration, time.Duration) {
	return func(err error, after, left time.Duration) {
		fmt.Fprintf(stderr, "treelog %s: %s; retrying in %s (giving up in %s)\n", cmd, untrusted.Escape(err.Error()), after.Round(time.Millisecond), left.Round(time.Second))
	}
}

func submit(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("submit", "FILE", `Submits a signed MetaManifest (FILE) to the log and waits for its
c2sp.org/tlog-proof under a witnessed checkpoint. Prints the index; with
--proof-out writes the proof (checked against --policy if given).`, stdout, stderr)
	logURL := fs.String("log", "", "the log's URL (required)")
	wait := fs.Duration("wait", time.Minute, "how long to wait for the proof (0: only submit)")
	out := fs.String("proof-out", "", "file to write the proof to")
	pol := fs.String("policy", "", "tlog-policy file to check the proof against")
	retryFor := fs.Duration("retry-for", 30*time.Second, "how long to keep retrying a log that cannot be reached or is busy (saying so each time)")
	if rc := parseFlags(fs, args, 1, stderr); rc >= 0 {
		return rc
	}
	if *logURL == "" {
		return usageErr(stderr, "submit", "--log is required")
	}
	if err := checkURLs("log", *logURL); err != nil {
		return usageErr(stderr, "submit", "%v", err)
	}
	p, err := readPolicy(*pol)
	if err != nil {
		return usageErr(stderr, "submit", "--policy: %v", err)
	}
	mm, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return fail(stderr, "submit", err)
	}
	if len(mm) > metamanifest.MaxSize {
		return fail(stderr, "submit", fmt.Errorf("%s is over %d bytes; not a MetaManifest", fs.Arg(0), metamanifest.MaxSize))
	}
	c := &publisher.Client{OnRetry: retrying(stderr, "submit"), RetryFor: *retryFor}
	ctx := context.Background()
	r, err := c.Submit(ctx, *logURL, mm, *wait)
	if err != nil {
		return fail(stderr, "submit", err)
	}
	fmt.Fprintf(stdout, "logged at index %d\n", r.Index)
	if *wait == 0 {
		return exitOK
	}
	proof := r.Proof
	if proof == nil {
		if proof, err = c.FetchProof(ctx, *logURL, r.Index, *wait); err != nil {
			return fail(stderr, "submit", err)
		}
	}
	if err := publisher.CheckProof(proof, mm, p); err != nil {
		return fail(stderr, "submit", fmt.Errorf("the log's proof does not verify: %w", err))
	}
	if *out != "" {
		if err := os.WriteFile(*out, proof, 0o644); err != nil {
			return fail(stderr, "submit", err)
		}
		fmt.Fprintf(stdout, "wrote %s\n", *out)
	}
	return exitOK
}

func publish(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("publish", "DIR", `Publishes a snapshot of the tree in DIR: creates its Manifests (as
'manifest create'), signs DIR/.treelog/MetaManifest (as 'sign'), submits it
to the log, waits for its proof under a witnessed checkpoint, checks it
(against --policy if given) and writes DIR/.treelog/MetaManifest.tlog-proof.
Mirrors then copy DIR, .treelog included. With --signer unix:SOCKET the
signing daemon signs instead of a --key file: it reads DIR (its configured
directory for --origin) itself and signs only if it is the tree described.

--existing logs the Manifests DIR already has (a distribution's own, e.g.
Gentoo's OpenPGP-signed ones) without changing a byte of them: DIR must
verify against them first, and only DIR/.treelog is written. --keyring
then checks the top-level Manifest's OpenPGP signature before anything is
signed: a transparency bridge logs only what the distribution signed.

Exit status: 0 published; 1 refused (by the log, the signer, or a proof
that does not verify); 2 usage; 4 the log could not be reached, or kept
answering 5xx, for --retry-for (an outage: nothing was logged).`, stdout, stderr)
	sf := addSignerFlags(fs)
	origin := fs.String("origin", "", "the tree's name (required)")
	commit := fs.String("commit", "", "VCS commit id of the snapshot")
	logURL := fs.String("log", "", "the log's URL (required)")
	pol := fs.String("policy", "", "tlog-policy file (log and witness keys, quorum) to check the proof against")
	wait := fs.Duration("wait", 2*time.Minute, "how long to wait for the witnessed proof")
	layout := fs.String("layout", "gentoo", "Manifest layout: gentoo or plain")
	hashes := fs.String("hashes", "BLAKE2B SHA512", "hashes for the Manifests")
	ts := fs.String("timestamp", "", "TIMESTAMP of the snapshot, YYYY-MM-DDTHH:MM:SSZ (default: now)")
	existing := fs.Bool("existing", false, "log the tree's existing Manifests unchanged (verify the tree against them; write only .treelog/)")
	keyring := fs.String("keyring", "", "OpenPGP public keys: refuse unless the top-level Manifest is cleartext-signed by one")
	retryFor := fs.Duration("retry-for", 30*time.Second, "how long to keep retrying a log that cannot be reached or is busy (saying so each time)")
	if rc := parseFlags(fs, args, 1, stderr); rc >= 0 {
		return rc
	}
	if *origin == "" || *logURL == "" {
		return usageErr(stderr, "publish", "--origin and --log are required")
	}
	if err := checkURLs("log", *logURL); err != nil {
		return usageErr(stderr, "publish", "%v", err)
	}
	if *existing {
		for _, f := range []string{"layout", "hashes", "timestamp"} {
			if fs.Changed(f) {
				return usageErr(stderr, "publish", "--%s writes Manifests; --existing keeps the tree's own", f)
			}
		}
	}
	var checkTop func([]byte) error
	if *keyring != "" {
		kr, err := pgpsig.LoadKeyring(*keyring)
		if err != nil {
			return usageErr(stderr, "publish", "--keyring: %v", err)
		}
		checkTop = func(top []byte) error {
			sig, err := kr.Verify(top, time.Now())
			if err == nil {
				fmt.Fprintf(stdout, "top-level Manifest OpenPGP-signed: %s\n", sig)
			}
			return err
		}
	}
	l, err := manifest.ParseLayout(*layout)
	if err != nil {
		return usageErr(stderr, "publish", "--layout: %v", err)
	}
	hs, err := manifest.ParseHashList(*hashes)
	if err != nil {
		return usageErr(stderr, "publish", "--hashes: %v", err)
	}
	mopts := []manifest.Option{manifest.WithProgress(os.Stderr)}
	if !*existing {
		mopts = append(mopts, manifest.WithLayout(l), manifest.WithHashes(hs))
	}
	if *ts != "" {
		t, err := manifest.ParseTimestamp(*ts)
		if err != nil {
			return usageErr(stderr, "publish", "--timestamp: %v", err)
		}
		mopts = append(mopts, manifest.WithTimestamp(t))
	}
	p, err := readPolicy(*pol)
	if err != nil {
		return usageErr(stderr, "publish", "--policy: %v", err)
	}
	s, err := sf.signer()
	if errors.Is(err, errSignerUsage) || errors.Is(err, errKeyFile) {
		return usageErr(stderr, "publish", "%v", err)
	}
	if err != nil {
		return fail(stderr, "publish", err)
	}
	c := &publisher.Client{OnRetry: retrying(stderr, "publish"), RetryFor: *retryFor}
	r, err := c.Publish(context.Background(), fs.Arg(0), publisher.Options{
		Origin: *origin, Commit: *commit, Signer: s, LogURL: *logURL, Policy: p, Wait: *wait, Manifest: mopts,
		Existing: *existing, CheckTopManifest: checkTop,
	})
	if err != nil {
		return fail(stderr, "publish", err)
	}
	m, _, _ := metamanifest.Parse(r.MetaManifest)
	if *existing {
		fmt.Fprintf(stdout, "published %s snapshot %s: its own Manifests, unchanged (%d files verified), log index %d\n",
			m.Origin, m.Timestamp.Format(time.RFC3339), r.Manifests.Files, r.Index)
	} else {
		fmt.Fprintf(stdout, "published %s snapshot %s: %d files in %d Manifests, log index %d\n",
			m.Origin, m.Timestamp.Format(time.RFC3339), r.Manifests.Files, r.Manifests.Manifests, r.Index)
	}
	if p == nil {
		fmt.Fprintln(stdout, "note: no --policy given, so only the inclusion proof was checked, not the log's and witnesses' signatures")
	}
	return exitOK
}
