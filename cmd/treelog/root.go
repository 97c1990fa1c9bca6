package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"treelog/client"
	"treelog/internal/atomicfile"
	"treelog/internal/keyfile"
	"treelog/internal/untrusted"
	"treelog/manifest"
	"treelog/note"
	"treelog/policy"
	"treelog/publisher"
	"treelog/trust"
)

func init() {
	register("root", "manage a trust root: init, delegate, revoke, rotate, sign, submit, show", root)
}

var rootCommands = []struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) int
}{
	{"init", "write version 1 of a trust root: root keys, threshold, scope (unsigned)", rootInit},
	{"delegate", "write the next version with a publisher key delegated (or --remove'd) for an origin pattern", rootDelegate},
	{"revoke", "write the next version with a key revoked as of a time", rootRevoke},
	{"rotate", "write the next version with other root keys or threshold", rootRotate},
	{"sign", "add a root key holder's signature to a version (or merge signed copies)", rootSign},
	{"submit", "check a signed version and log it", rootSubmit},
	{"show", "describe a version, or follow a pinned root through the log to the version in force", rootShow},
}

func root(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		for _, c := range rootCommands {
			if c.name == args[0] {
				return c.run(args[1:], stdout, stderr)
			}
		}
	}
	w, code := stdout, exitOK
	if len(args) == 0 || (args[0] != "-h" && args[0] != "--help" && args[0] != "help") {
		w, code = stderr, exitUsage
		if len(args) > 0 {
			fmt.Fprintf(stderr, "treelog root: unknown command %q\n\n", args[0])
		}
	}
	fmt.Fprintln(w, `Usage: treelog root <command> [flags] [args]

A trust root says who may publish which trees: k of n root keys (kept
offline by their holders), the origins it governs (its scope), publisher
keys delegated per origin or pattern ("overlays.example/*") with a validity
period, and revoked keys. Each version is a signed note; version N+1 needs
k signatures of version N's root keys and k of its own. Every version is
logged, and the log, users and auditors follow the chain from a pinned
version (see docs/operations.md, "Trust roots").

init, delegate, revoke and rotate write an unsigned next version (from a
signed one), or amend an unsigned one; each holder signs it with 'sign' on
their own machine; 'submit' logs it.

Commands:`)
	for _, c := range rootCommands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	return code
}

// readKeyArg reads an Ed25519 vkey from a file, or takes the argument as
// a vkey.
func readKeyArg(arg string) (note.VerifierKey, error) {
	vkey := arg
	if _, err := os.Stat(arg); err == nil {
		if vkey, err = keyfile.ReadVerifierKey(arg); err != nil {
			return note.VerifierKey{}, err
		}
	}
	k, err := policy.ParseKey(vkey, note.TypeEd25519, "")
	if err != nil {
		return note.VerifierKey{}, fmt.Errorf("%s: not an Ed25519 key file or vkey: %w", untrusted.Short(arg, 80), err)
	}
	return k, nil
}

func readKeyArgs(args []string) ([]note.VerifierKey, error) {
	var out []note.VerifierKey
	for _, a := range args {
		k, err := readKeyArg(a)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

func readDoc(path string) ([]byte, error) {
	return untrusted.ReadFile(path, trust.MaxSize, "the trust root")
}

// nextFrom returns the document to change: the version after a signed one
// (the version as logged), or an unsigned draft to amend; and the signed
// version it follows, if known.
func nextFrom(path string) (*trust.Root, *trust.Signed, error) {
	data, err := readDoc(path)
	if err != nil {
		return nil, nil, err
	}
	d, err := trust.ParseDraft(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	r := *d.Root
	r.Keys = slices.Clone(d.Keys)
	r.Scope = slices.Clone(d.Scope)
	r.Delegations = slices.Clone(d.Delegations)
	r.Revocations = slices.Clone(d.Revocations)
	if len(d.Note.Sigs)+len(d.Note.UnverifiedSigs) == 0 {
		return &r, nil, nil
	}
	r.Version++
	r.Previous = sha256.Sum256(data)
	return &r, d, nil
}

// writeDraft checks the document's own rules and writes its text to out
// (stdout if empty), saying what changed.
func writeDraft(cmd string, r *trust.Root, prev *trust.Signed, out string, stdout, stderr io.Writer) int {
	r.Sort()
	if err := r.Check(); err != nil {
		return fail(stderr, "root "+cmd, err)
	}
	var before *trust.Root
	if prev != nil {
		before = prev.Root
	}
	if out == "" {
		fmt.Fprint(stdout, r.Text())
		return exitOK
	}
	if err := atomicfile.WriteFile(out, []byte(r.Text()), 0o644); err != nil {
		return fail(stderr, "root "+cmd, err)
	}
	fmt.Fprintf(stdout, "wrote %s: %s version %d, unsigned; it needs %d signatures of its root keys", out, r.Name, r.Version, r.Threshold)
	if prev != nil {
		fmt.Fprintf(stdout, " and %d of version %d's", prev.Threshold, prev.Version)
	}
	fmt.Fprintln(stdout)
	for _, c := range trust.Changes(before, r) {
		fmt.Fprintln(stdout, "  "+c)
	}
	return exitOK
}

func parseTime(s string) (time.Time, error) {
	if s == "now" {
		return time.Now().UTC().Truncate(time.Second), nil
	}
	return manifest.ParseTimestamp(s)
}

func rootInit(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("root init", "", `Writes version 1 of a trust root (unsigned): its name, root keys and the
threshold k of them that must sign each version, and its scope, the
origins it governs ("gentoo.org/repo/gentoo", or every origin below a
prefix: "overlays.gentoo.org/*"). Then each root key holder signs it
('treelog root sign'); log it with 'treelog root submit'.`, stdout, stderr)
	name := fs.String("name", "", "the root's name, e.g. gentoo.org/trust (required)")
	k := fs.Int("threshold", 0, "k: how many root keys must sign each version (required)")
	keys := fs.StringSlice("key", nil, "root key: a .pub file or a vkey (repeatable; at least k)")
	scope := fs.StringSlice("scope", nil, "origin or pattern the root governs (repeatable; at least one)")
	out := fs.String("out", "", "file to write (default: standard output)")
	if rc := parseFlags(fs, args, 0, stderr); rc >= 0 {
		return rc
	}
	if *name == "" || *k == 0 || len(*keys) == 0 || len(*scope) == 0 {
		return usageErr(stderr, "root init", "--name, --threshold, --key and --scope are required")
	}
	r := &trust.Root{Name: *name, Version: 1, Threshold: *k}
	var err error
	if r.Keys, err = readKeyArgs(*keys); err != nil {
		return usageErr(stderr, "root init", "--key %v", err)
	}
	for _, s := range *scope {
		p, err := trust.ParsePattern(s)
		if err != nil {
			return usageErr(stderr, "root init", "--scope: %v", err)
		}
		r.Scope = append(r.Scope, p)
	}
	return writeDraft("init", r, nil, *out, stdout, stderr)
}

func rootDelegate(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("root delegate", "", `Writes the next version of the trust root in --from (or amends the unsigned
draft in --from) with a publisher key delegated for an origin or pattern,
valid from --not-before until --expires; with --remove, without it.`, stdout, stderr)
	from := fs.String("from", "", "the signed version to follow, or an unsigned draft (required)")
	pattern := fs.String("pattern", "", "origin or pattern, inside the root's scope (required)")
	key := fs.String("key", "", "publisher key: a .pub file or a vkey (required)")
	notBefore := fs.String("not-before", "now", "first TIMESTAMP the key may sign, YYYY-MM-DDTHH:MM:SSZ or now")
	expires := fs.String("expires", "", "TIMESTAMP from which the key may no longer sign (or --valid-for)")
	validFor := fs.Duration("valid-for", 0, "validity from --not-before, e.g. 8760h")
	remove := fs.Bool("remove", false, "remove the key's delegation for the pattern instead")
	out := fs.String("out", "", "file to write (default: standard output)")
	if rc := parseFlags(fs, args, 0, stderr); rc >= 0 {
		return rc
	}
	if *from == "" || *pattern == "" || *key == "" {
		return usageErr(stderr, "root delegate", "--from, --pattern and --key are required")
	}
	k, err := readKeyArg(*key)
	if err != nil {
		return usageErr(stderr, "root delegate", "--key %v", err)
	}
	p, err := trust.ParsePattern(*pattern)
	if err != nil {
		return usageErr(stderr, "root delegate", "--pattern: %v", err)
	}
	r, prev, err := nextFrom(*from)
	if err != nil {
		return fail(stderr, "root delegate", err)
	}
	if *remove {
		n := len(r.Delegations)
		r.Delegations = slices.DeleteFunc(r.Delegations, func(d trust.Delegation) bool { return d.Pattern == p && d.Key.String() == k.String() })
		if len(r.Delegations) == n {
			return fail(stderr, "root delegate", fmt.Errorf("%s delegates %s to no key %s+%08x", *from, p, k.Name, k.ID))
		}
		return writeDraft("delegate", r, prev, *out, stdout, stderr)
	}
	d := trust.Delegation{Pattern: p, Key: k}
	if d.NotBefore, err = parseTime(*notBefore); err != nil {
		return usageErr(stderr, "root delegate", "--not-before: %v", err)
	}
	switch {
	case *expires != "" && *validFor == 0:
		if d.Expires, err = parseTime(*expires); err != nil {
			return usageErr(stderr, "root delegate", "--expires: %v", err)
		}
	case *expires == "" && *validFor > 0:
		d.Expires = d.NotBefore.Add(*validFor).Truncate(time.Second)
	default:
		return usageErr(stderr, "root delegate", "give one of --expires and --valid-for")
	}
	r.Delegations = append(r.Delegations, d)
	return writeDraft("delegate", r, prev, *out, stdout, stderr)
}

func rootRevoke(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("root revoke", "", `Writes the next version of the trust root in --from (or amends the unsigned
draft) with a key revoked as of --time, and its delegations removed. A
revoked key stops counting for every snapshot logged after this version,
and for any snapshot whose TIMESTAMP is at or after --time: give the time
the key was (or may have been) compromised. Snapshots it signed before
that time and that were logged before this version stay valid.`, stdout, stderr)
	from := fs.String("from", "", "the signed version to follow, or an unsigned draft (required)")
	key := fs.String("key", "", "the key to revoke: a .pub file or a vkey (required)")
	at := fs.String("time", "now", "when the key stopped being trustworthy, YYYY-MM-DDTHH:MM:SSZ or now")
	out := fs.String("out", "", "file to write (default: standard output)")
	if rc := parseFlags(fs, args, 0, stderr); rc >= 0 {
		return rc
	}
	if *from == "" || *key == "" {
		return usageErr(stderr, "root revoke", "--from and --key are required")
	}
	k, err := readKeyArg(*key)
	if err != nil {
		return usageErr(stderr, "root revoke", "--key %v", err)
	}
	t, err := parseTime(*at)
	if err != nil {
		return usageErr(stderr, "root revoke", "--time: %v", err)
	}
	r, prev, err := nextFrom(*from)
	if err != nil {
		return fail(stderr, "root revoke", err)
	}
	if old, ok := r.Revoked(k); ok {
		if !t.Before(old.Time) {
			return fail(stderr, "root revoke", fmt.Errorf("%s+%08x is already revoked as of %s", k.Name, k.ID, old.Time.Format(manifest.TimeFormat)))
		}
		r.Revocations = slices.DeleteFunc(r.Revocations, func(v trust.Revocation) bool { return v.Key.String() == k.String() })
	}
	r.Delegations = slices.DeleteFunc(r.Delegations, func(d trust.Delegation) bool { return d.Key.String() == k.String() })
	r.Revocations = append(r.Revocations, trust.Revocation{Key: k, Time: t})
	return writeDraft("revoke", r, prev, *out, stdout, stderr)
}

func rootRotate(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("root rotate", "", `Writes the next version of the trust root in --from (or amends the unsigned
draft) with root keys added or removed, or another threshold. It needs
the threshold of the old root keys' signatures (the old root certifies the
new) and of the new ones'.`, stdout, stderr)
	from := fs.String("from", "", "the signed version to follow, or an unsigned draft (required)")
	add := fs.StringSlice("add", nil, "root key to add: a .pub file or a vkey (repeatable)")
	remove := fs.StringSlice("remove", nil, "root key to remove (repeatable)")
	k := fs.Int("threshold", 0, "the new threshold (default: unchanged)")
	out := fs.String("out", "", "file to write (default: standard output)")
	if rc := parseFlags(fs, args, 0, stderr); rc >= 0 {
		return rc
	}
	if *from == "" || len(*add)+len(*remove) == 0 && *k == 0 {
		return usageErr(stderr, "root rotate", "--from and one of --add, --remove, --threshold are required")
	}
	adds, err := readKeyArgs(*add)
	if err != nil {
		return usageErr(stderr, "root rotate", "--add %v", err)
	}
	removes, err := readKeyArgs(*remove)
	if err != nil {
		return usageErr(stderr, "root rotate", "--remove %v", err)
	}
	r, prev, err := nextFrom(*from)
	if err != nil {
		return fail(stderr, "root rotate", err)
	}
	for _, rk := range removes {
		if !r.IsRootKey(rk) {
			return fail(stderr, "root rotate", fmt.Errorf("%s+%08x is not a root key of %s", rk.Name, rk.ID, *from))
		}
		r.Keys = slices.DeleteFunc(r.Keys, func(x note.VerifierKey) bool { return x.String() == rk.String() })
	}
	r.Keys = append(r.Keys, adds...)
	if *k > 0 {
		r.Threshold = *k
	}
	return writeDraft("rotate", r, prev, *out, stdout, stderr)
}

func rootSign(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("root sign", "FILE", `Adds a root key holder's signature to the version in FILE (signed or not
yet), in place or to --out, after printing what is signed: run it on the
holder's own (offline) machine. --merge adds the signatures of other
signed copies of the same version instead (holders who signed their own
copies). With --previous, says whether the thresholds are met.`, stdout, stderr)
	keys := fs.StringSlice("key", nil, "root key holder's secret key file (repeatable)")
	merge := fs.StringSlice("merge", nil, "another signed copy of the same version (repeatable)")
	prevFile := fs.String("previous", "", "the signed version FILE follows, to check the thresholds")
	out := fs.String("out", "", "file to write (default: FILE, in place)")
	if rc := parseFlags(fs, args, 1, stderr); rc >= 0 {
		return rc
	}
	if len(*keys)+len(*merge) == 0 {
		return usageErr(stderr, "root sign", "--key or --merge is required")
	}
	path := fs.Arg(0)
	data, err := readDoc(path)
	if err != nil {
		return fail(stderr, "root sign", err)
	}
	d, err := trust.ParseDraft(data)
	if err != nil {
		return fail(stderr, "root sign", err)
	}
	var prev *trust.Signed
	if *prevFile != "" {
		pb, err := readDoc(*prevFile)
		if err != nil {
			return fail(stderr, "root sign", err)
		}
		if prev, err = trust.Parse(pb); err != nil {
			return fail(stderr, "root sign", fmt.Errorf("--previous: %w", err))
		}
	}
	var before *trust.Root
	if prev != nil {
		before = prev.Root
	}
	fmt.Fprintf(stdout, "%s:\n", d.Describe())
	for _, c := range trust.Changes(before, d.Root) {
		fmt.Fprintln(stdout, "  "+c)
	}
	for _, k := range *keys {
		s, err := keyfile.ReadSigner(k)
		if err != nil {
			return fail(stderr, "root sign", err)
		}
		if !slices.ContainsFunc(append(slices.Clone(d.Keys), prevKeys(prev)...), func(x note.VerifierKey) bool { return x.Name == s.Name() && x.ID == s.KeyHash() }) {
			fmt.Fprintf(stderr, "treelog root sign: warning: %s+%08x is not a root key of %s%s; its signature will not count\n", s.Name(), s.KeyHash(), d.Describe(), map[bool]string{true: " or of the previous version", false: ""}[prev != nil])
		}
		if data, err = trust.AddSignature(data, s); err != nil {
			return fail(stderr, "root sign", err)
		}
	}
	for _, m := range *merge {
		o, err := readDoc(m)
		if err != nil {
			return fail(stderr, "root sign", err)
		}
		if data, err = trust.MergeSignatures(data, o); err != nil {
			return fail(stderr, "root sign", fmt.Errorf("--merge %s: %w", m, err))
		}
	}
	target := path
	if *out != "" {
		target = *out
	}
	if err := atomicfile.WriteFile(target, data, 0o644); err != nil {
		return fail(stderr, "root sign", err)
	}
	s, _ := trust.Parse(data)
	fmt.Fprintf(stdout, "wrote %s with %d signatures\n", target, len(s.Note.UnverifiedSigs)+len(s.Note.Sigs))
	var verr error
	if prev != nil {
		_, verr = trust.Next(prev, data)
	} else {
		_, verr = trust.Open(data)
	}
	switch {
	case verr == nil && prev != nil:
		fmt.Fprintln(stdout, "the thresholds of both root key sets are met: ready to submit")
	case verr == nil:
		fmt.Fprintf(stdout, "%d of its own root keys signed: ready to submit%s\n", d.Threshold, map[bool]string{true: " (version 1)", false: " once the previous version's holders signed too (check with --previous)"}[d.Version == 1])
	default:
		fmt.Fprintf(stdout, "not ready yet: %v\n", verr)
	}
	return exitOK
}

func prevKeys(p *trust.Signed) []note.VerifierKey {
	if p == nil {
		return nil
	}
	return p.Keys
}

func rootSubmit(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("root submit", "FILE", `Checks the signed version in FILE and logs it. It must be signed by the
threshold of its own root keys and, with --previous (the version it
follows, as logged), of the previous version's. The log accepts only the
pinned version of a root it serves, then each next version; it refuses
anything else with the rule that failed, and logs nothing.`, stdout, stderr)
	logURL := fs.String("log", "", "the log's URL (required)")
	prevFile := fs.String("previous", "", "the version FILE follows, as logged, to check locally before submitting")
	pol := fs.String("policy", "", "tlog-policy file to check the log's proof against")
	wait := fs.Duration("wait", time.Minute, "how long to wait for the witnessed proof (0: only submit)")
	if rc := parseFlags(fs, args, 1, stderr); rc >= 0 {
		return rc
	}
	if *logURL == "" {
		return usageErr(stderr, "root submit", "--log is required")
	}
	p, err := readPolicy(*pol)
	if err != nil {
		return usageErr(stderr, "root submit", "--policy: %v", err)
	}
	data, err := readDoc(fs.Arg(0))
	if err != nil {
		return fail(stderr, "root submit", err)
	}
	v, err := checkLocally(data, *prevFile)
	if err != nil {
		return fail(stderr, "root submit", fmt.Errorf("%s: %w (nothing was submitted)", fs.Arg(0), err))
	}
	c := &publisher.Client{}
	ctx := context.Background()
	r, err := c.Submit(ctx, *logURL, data, *wait)
	if err != nil {
		return fail(stderr, "root submit", err)
	}
	fmt.Fprintf(stdout, "logged %s at index %d\n", v.Describe(), r.Index)
	if *wait == 0 {
		return exitOK
	}
	proof := r.Proof
	if proof == nil {
		if proof, err = c.FetchProof(ctx, *logURL, r.Index, *wait); err != nil {
			return fail(stderr, "root submit", err)
		}
	}
	if err := publisher.CheckProof(proof, data, p); err != nil {
		return fail(stderr, "root submit", fmt.Errorf("the log's proof does not verify: %w", err))
	}
	fmt.Fprintln(stdout, "its inclusion proof verifies")
	return exitOK
}

// checkLocally checks a version before it is submitted: the threshold of
// its own root keys, and with prevFile, every rule of the step from it.
func checkLocally(data []byte, prevFile string) (*trust.Signed, error) {
	if prevFile == "" {
		return trust.Open(data)
	}
	pb, err := readDoc(prevFile)
	if err != nil {
		return nil, err
	}
	prev, err := trust.Parse(pb)
	if err != nil {
		return nil, fmt.Errorf("--previous: %w", err)
	}
	return trust.Next(prev, data)
}

func rootShow(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("root show", "[FILE]", `Describes the version of a trust root in FILE. With --trust-root PIN and
--policy, follows the pinned root through the log instead (checking every
proof and every step, as 'treelog verify' does) and shows each logged
version's changes and the version in force.`, stdout, stderr)
	pinFile := fs.String("trust-root", "", "pinned version to follow through the log")
	pol := fs.String("policy", "", "tlog-policy file naming the log (with --trust-root)")
	logs := fs.StringSlice("log", nil, "log or log mirror URL (repeatable; default: the policy's)")
	if rc := parseFlags(fs, args, -1, stderr); rc >= 0 {
		return rc
	}
	now := time.Now()
	if *pinFile == "" {
		if fs.NArg() != 1 {
			return usageErr(stderr, "root show", "give FILE, or --trust-root and --policy")
		}
		data, err := readDoc(fs.Arg(0))
		if err != nil {
			return fail(stderr, "root show", err)
		}
		d, err := trust.ParseDraft(data)
		if err != nil {
			return fail(stderr, "root show", err)
		}
		describe(stdout, d, now)
		if _, err := trust.Open(data); err != nil {
			fmt.Fprintf(stdout, "  not signed by its own threshold: %v\n", err)
		}
		return exitOK
	}
	if *pol == "" || fs.NArg() != 0 {
		return usageErr(stderr, "root show", "--trust-root needs --policy, and no FILE")
	}
	p, err := readPolicy(*pol)
	if err != nil {
		return usageErr(stderr, "root show", "--policy: %v", err)
	}
	pin, err := trust.ReadPinned(*pinFile)
	if err != nil {
		return usageErr(stderr, "root show", "--trust-root: %v", err)
	}
	c, err := client.FollowRoot(context.Background(), p, pin, *logs)
	if err != nil {
		var f *client.Failure
		if errors.As(err, &f) {
			return fail(stderr, "root show", fmt.Errorf("REFUSED: %s", f.Msg))
		}
		return fail(stderr, "root show", err)
	}
	if len(c.Versions) == 0 {
		fmt.Fprintf(stdout, "%s: the pinned version %d is not logged yet\n", pin.Name, pin.Version)
		return exitOK
	}
	var before *trust.Root
	for _, v := range c.Versions {
		fmt.Fprintf(stdout, "%s, log index %d:\n", v.Describe(), v.Index)
		for _, ch := range trust.Changes(before, v.Root) {
			fmt.Fprintln(stdout, "  "+ch)
		}
		before = v.Root
	}
	fmt.Fprintln(stdout, "\nin force:")
	describe(stdout, c.Latest().Signed, now)
	return exitOK
}

// describe prints a version for people.
func describe(w io.Writer, d *trust.Signed, now time.Time) {
	fmt.Fprintf(w, "%s\n", d.Describe())
	if d.Version > 1 {
		fmt.Fprintf(w, "  previous %x\n", d.Previous)
	}
	fmt.Fprintf(w, "  root keys: %d of %d\n", d.Threshold, len(d.Keys))
	for _, k := range d.Keys {
		signed := ""
		for _, s := range append(slices.Clone(d.Note.Sigs), d.Note.UnverifiedSigs...) {
			if s.Name == k.Name && s.Hash == k.ID {
				signed = " (signature present)"
			}
		}
		fmt.Fprintf(w, "    %s%s\n", k, signed)
	}
	var scope []string
	for _, s := range d.Scope {
		scope = append(scope, string(s))
	}
	fmt.Fprintf(w, "  scope: %s\n", strings.Join(scope, " "))
	for _, dl := range d.Delegations {
		state := "valid now"
		switch {
		case now.Before(dl.NotBefore):
			state = "not valid yet"
		case !now.Before(dl.Expires):
			state = "EXPIRED"
		}
		fmt.Fprintf(w, "  delegate %s %s+%08x from %s until %s (%s)\n", dl.Pattern, dl.Key.Name, dl.Key.ID,
			dl.NotBefore.Format(manifest.TimeFormat), dl.Expires.Format(manifest.TimeFormat), state)
	}
	for _, v := range d.Revocations {
		fmt.Fprintf(w, "  revoked %s+%08x as of %s\n", v.Key.Name, v.Key.ID, v.Time.Format(manifest.TimeFormat))
	}
}
