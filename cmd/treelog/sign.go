package main

import (
	"fmt"
	"io"

	"treelog/internal/keyfile"
	"treelog/metamanifest"
	"treelog/note"
	"treelog/publisher"
)

func init() {
	register("sign", "sign a tree's MetaManifest (writes DIR/.treelog/MetaManifest)", sign)
}

func sign(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("sign", "DIR", `Writes DIR/.treelog/MetaManifest: a signed note naming the tree (--origin),
its TIMESTAMP and the size and hashes of DIR/Manifest, which must exist (run
'treelog manifest create' first). Any old proof beside it is removed, since
it proves another snapshot.`, stdout, stderr)
	keys := fs.StringSlice("key", nil, "publisher secret key file (repeatable; at least one)")
	origin := fs.String("origin", "", "the tree's name, e.g. gentoo.org/repo/gentoo (required)")
	commit := fs.String("commit", "", "VCS commit id of the snapshot (optional)")
	if rc := parseFlags(fs, args, 1, stderr); rc >= 0 {
		return rc
	}
	if len(*keys) == 0 || *origin == "" {
		return usageErr(stderr, "sign", "--key and --origin are required")
	}
	signers, err := readSigners(*keys)
	if err != nil {
		return fail(stderr, "sign", err)
	}
	msg, err := publisher.Sign(fs.Arg(0), *origin, *commit, signers...)
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
