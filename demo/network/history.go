package network

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"treelog/demo/mirror"
	"treelog/demo/treegen"
	"treelog/manifest"
	"treelog/note"
	"treelog/policy"
	"treelog/publisher"
)

// A Snapshot is a published tree, kept as a directory a mirror can serve.
type Snapshot struct {
	Dir   string
	Time  time.Time
	Index uint64 // its MetaManifest's index in the log
}

// PublishHistory generates a Gentoo-shaped tree of pkgs packages in
// dir/src and publishes count snapshots of it, spacing apart, the last at
// last; each is copied to dir/snapshotN. The tree changes between them.
func (n *Network) PublishHistory(ctx context.Context, dir string, pkgs, count int, last time.Time, spacing time.Duration) ([]Snapshot, error) {
	src := filepath.Join(dir, "src")
	if _, err := treegen.Generate(src, treegen.Options{Seed: 1, Packages: pkgs}); err != nil {
		return nil, err
	}
	var out []Snapshot
	for i := range count {
		if i > 0 {
			if _, err := treegen.Evolve(src, uint64(i), 3); err != nil {
				return nil, err
			}
		}
		ts := last.Add(-time.Duration(count-1-i) * spacing)
		s, err := n.PublishSnapshot(ctx, src, filepath.Join(dir, fmt.Sprintf("snapshot%d", i)), ts)
		if err != nil {
			return nil, fmt.Errorf("publishing snapshot %d: %w", i, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// PublishSnapshot publishes the tree in src with TIMESTAMP ts (to the
// second) as the network's publisher would (Manifests, MetaManifest, log,
// witnessed proof), then copies it to dst.
func (n *Network) PublishSnapshot(ctx context.Context, src, dst string, ts time.Time) (Snapshot, error) {
	return n.PublishTree(ctx, src, dst, n.Opts.TreeOrigin, ts, n.Publisher)
}

// PublishTree publishes the tree in src as a snapshot of origin with
// TIMESTAMP ts (to the second), signed by signers, then copies it to dst.
func (n *Network) PublishTree(ctx context.Context, src, dst, origin string, ts time.Time, signers ...note.Signer) (Snapshot, error) {
	pol, err := policy.Parse(mustRead(n.PolicyFile))
	if err != nil {
		return Snapshot{}, err
	}
	ts = ts.UTC().Truncate(time.Second)
	p, err := (&publisher.Client{}).Publish(ctx, src, publisher.Options{Origin: origin, Signers: signers,
		LogURL: n.LogURL, Policy: pol, Wait: 30 * time.Second,
		Manifest: []manifest.Option{manifest.WithLayout(manifest.LayoutGentoo), manifest.WithTimestamp(ts)}})
	if err != nil {
		return Snapshot{}, err
	}
	if err := mirror.CopyTree(src, dst); err != nil {
		return Snapshot{}, err
	}
	return Snapshot{Dir: dst, Time: ts, Index: p.Index}, nil
}
