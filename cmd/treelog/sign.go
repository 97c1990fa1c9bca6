package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"treelog/internal/atomicfile"
	"treelog/internal/keyfile"
	"treelog/manifest"
	"treelog/metamanifest"
	"treelog/note"
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
	msg, err := signTree(fs.Arg(0), *origin, *commit, *keys)
	if err != nil {
		return fail(stderr, "sign", err)
	}
	mm, _ := metamanifest.Paths(fs.Arg(0))
	fmt.Fprintf(stdout, "wrote %s (%d bytes)\n", mm, len(msg))
	return exitOK
}

// signTree signs DIR's MetaManifest and writes it, removing a stale proof.
func signTree(dir, origin, commit string, keyFiles []string) ([]byte, error) {
	var signers []note.Signer
	for _, k := range keyFiles {
		s, err := keyfile.ReadSigner(k)
		if err != nil {
			return nil, err
		}
		signers = append(signers, s)
	}
	top, err := os.ReadFile(filepath.Join(dir, manifest.TopManifestName))
	if err != nil {
		return nil, fmt.Errorf("reading the top-level Manifest: %w", err)
	}
	m, err := metamanifest.New(origin, top, commit)
	if err != nil {
		return nil, err
	}
	msg, err := metamanifest.Sign(m, signers...)
	if err != nil {
		return nil, err
	}
	mmPath, proofPath := metamanifest.Paths(dir)
	if err := os.MkdirAll(filepath.Dir(mmPath), 0o755); err != nil {
		return nil, err
	}
	if err := os.Remove(proofPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("removing the old proof: %w", err)
	}
	if err := atomicfile.WriteFile(mmPath, msg, 0o644); err != nil {
		return nil, err
	}
	return msg, nil
}
