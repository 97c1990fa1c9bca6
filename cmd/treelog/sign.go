package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"treelog/internal/keyfile"
	"treelog/metamanifest"
	"treelog/note"
	"treelog/publisher"
	"treelog/signer"
)

func init() {
	register("sign", "sign a tree's MetaManifest (writes DIR/.treelog/MetaManifest)", sign)
}

func sign(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("sign", "DIR", `Writes DIR/.treelog/MetaManifest: a signed note naming the tree (--origin),
its TIMESTAMP and the size and hashes of DIR/Manifest, which must exist (run
'treelog manifest create' first). Any old proof beside it is removed, since
it proves another snapshot.`, stdout, stderr)
	sf := addSignerFlags(fs)
	origin := fs.String("origin", "", "the tree's name, e.g. gentoo.org/repo/gentoo (required)")
	commit := fs.String("commit", "", "VCS commit id of the snapshot (optional)")
	if rc := parseFlags(fs, args, 1, stderr); rc >= 0 {
		return rc
	}
	if *origin == "" {
		return usageErr(stderr, "sign", "--origin is required")
	}
	s, err := sf.signer()
	if errors.Is(err, errSignerUsage) || errors.Is(err, errKeyFile) {
		return usageErr(stderr, "sign", "%v", err)
	}
	if err != nil {
		return fail(stderr, "sign", err)
	}
	msg, err := publisher.SignWith(context.Background(), fs.Arg(0), *origin, *commit, s)
	if err != nil {
		return fail(stderr, "sign", err)
	}
	mm, _ := metamanifest.Paths(fs.Arg(0))
	fmt.Fprintf(stdout, "wrote %s (%d bytes)\n", mm, len(msg))
	return exitOK
}

func readSigners(keyFiles []string) ([]note.Signer, error) {
	var signers []note.Signer
	for _, k := range keyFiles {
		s, err := keyfile.ReadSigner(k)
		if err != nil {
			return nil, err
		}
		signers = append(signers, s)
	}
	return signers, nil
}

// signerFlags choose who signs: --key files, or --signer (the daemon).
type signerFlags struct {
	keys *[]string
	spec *string
}

func addSignerFlags(fs *pflag.FlagSet) signerFlags {
	return signerFlags{
		keys: fs.StringSlice("key", nil, "publisher secret key file (repeatable); or --signer"),
		spec: fs.String("signer", "", "who signs instead of --key: unix:PATH, the signing daemon (signd) on its socket"),
	}
}

var errSignerUsage = errors.New("give --key (one or more) or --signer, not both")

// errKeyFile marks a --key file that cannot be read: a usage error that
// names the flag, not a failure of the publish.
var errKeyFile = errors.New("--key")

func (f signerFlags) signer() (signer.Signer, error) {
	switch {
	case (len(*f.keys) == 0) == (*f.spec == ""):
		return nil, errSignerUsage
	case *f.spec != "":
		path, ok := strings.CutPrefix(*f.spec, "unix:")
		if !ok || path == "" {
			return nil, fmt.Errorf("%w: --signer %q: want unix:PATH", errSignerUsage, *f.spec)
		}
		return signer.Unix(path), nil
	}
	ns, err := readSigners(*f.keys)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errKeyFile, err)
	}
	return signer.Keys(ns...), nil
}
