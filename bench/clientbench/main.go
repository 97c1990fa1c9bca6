// Command clientbench measures `treelog verify` as a user runs it daily: a
// full online verification of a generated Gentoo-sized tree (150,000 files)
// whose client state is one day old, reporting the time and the bytes
// fetched from the log; and offline verification. The log's day holds the
// origin's snapshots every 30 minutes, plus (in the second scenario) 20
// other trees publishing hourly. Everything runs in this process on
// loopback: a log with three witnesses. Run it with bench/client.sh.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"treelog/client"
	"treelog/demo/network"
	"treelog/demo/treegen"
	"treelog/manifest"
	"treelog/metamanifest"
	"treelog/note"
	"treelog/policy"
	"treelog/publisher"
	"treelog/trust"
)

func main() {
	pkgs := pflag.Int("packages", treegen.DefaultPackages, "packages in the generated tree")
	pflag.Parse()
	if err := run(*pkgs); err != nil {
		fmt.Fprintln(os.Stderr, "clientbench:", err)
		os.Exit(1)
	}
}

func run(pkgs int) error {
	dir, err := os.MkdirTemp("", "clientbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tree := filepath.Join(dir, "tree")
	fmt.Fprintf(os.Stderr, "generating a tree of %d packages...\n", pkgs)
	if _, err := treegen.Generate(tree, treegen.Options{Seed: 1, Packages: pkgs}); err != nil {
		return err
	}
	fmt.Println("| scenario | other trees in the log | log entries in the day | verify time | bytes fetched from the log | files |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, others := range []int{0, 20} {
		if err := scenario(filepath.Join(dir, fmt.Sprint("net", others)), tree, others); err != nil {
			return err
		}
	}
	return nil
}

func scenario(dir, tree string, others int) error {
	ctx := context.Background()
	n, err := network.Start(ctx, dir, network.Options{})
	if err != nil {
		return err
	}
	defer n.Close()
	pubsText, _ := os.ReadFile(n.PublishersFile)
	for o := range others {
		pubsText = fmt.Appendf(pubsText, "publisher other.example/tree%d %s\n", o, n.PublisherVKey)
	}
	os.WriteFile(n.PublishersFile, pubsText, 0o644)
	n.StopLog(ctx)
	if err := n.StartLog(ctx); err != nil { // reload the publishers
		return err
	}
	polText, _ := os.ReadFile(n.PolicyFile)
	pol, err := policy.Parse(polText)
	if err != nil {
		return err
	}
	pubs, _ := trust.ParsePublishers(pubsText)
	pc := &publisher.Client{}
	now := time.Now().UTC().Truncate(time.Second)
	dayAgo := now.Add(-24 * time.Hour)
	submit := func(origin string, ts time.Time) error {
		m := &metamanifest.MetaManifest{Origin: origin, Timestamp: ts, ManifestSize: 1000, ManifestHashes: manifest.HashBytes([]byte(origin+ts.String()), metamanifest.Hashes)}
		b, err := metamanifest.Sign(m, n.Publisher)
		if err != nil {
			return err
		}
		_, err = pc.Submit(ctx, n.LogURL, b, 0)
		return err
	}
	// History before yesterday: a week of the same pattern.
	for h := 7 * 24; h > 24; h-- {
		ts := now.Add(-time.Duration(h) * time.Hour)
		for o := range others {
			if err := submit(fmt.Sprintf("other.example/tree%d", o), ts.Add(time.Duration(o)*time.Second)); err != nil {
				return err
			}
		}
	}
	publish := func(ts time.Time) error {
		_, err := pc.Publish(ctx, tree, publisher.Options{Origin: "example.org/tree", Signers: []note.Signer{n.Publisher}, LogURL: n.LogURL, Policy: pol,
			Wait: time.Minute, Manifest: []manifest.Option{manifest.WithLayout(manifest.LayoutGentoo), manifest.WithTimestamp(ts)}})
		return err
	}
	// Yesterday: the user verified the snapshot of then.
	if err := publish(dayAgo.Add(-time.Minute)); err != nil {
		return err
	}
	state := filepath.Join(dir, "state")
	// Full: every verification here hashes the whole tree, so that the
	// times compare with each other; bench/manifest.sh measures the
	// verification cache.
	if _, err := client.Verify(ctx, tree, client.Config{Policy: pol, Publishers: pubs, StateDir: state, MaxAge: 48 * time.Hour, Full: true}); err != nil {
		return fmt.Errorf("yesterday's verification: %w", err)
	}
	// The day: the origin every 30 minutes, the others hourly.
	entries := 0
	for m := 30; m < 24*60; m += 30 {
		ts := dayAgo.Add(time.Duration(m) * time.Minute)
		if err := submit("example.org/tree", ts); err != nil {
			return err
		}
		entries++
		if m%60 == 0 {
			for o := range others {
				if err := submit(fmt.Sprintf("other.example/tree%d", o), ts.Add(time.Duration(o)*time.Second)); err != nil {
					return err
				}
				entries++
			}
		}
	}
	if _, err := treegen.Evolve(tree, 7, 20); err != nil {
		return err
	}
	if err := publish(now.Add(-2 * time.Minute)); err != nil {
		return err
	}
	entries++
	// Today's verification, state one day old (its checkpoint is a day old).
	res, err := client.Verify(ctx, tree, client.Config{Policy: pol, Publishers: pubs, StateDir: state, Full: true})
	if err != nil {
		return fmt.Errorf("today's verification: %w", err)
	}
	fmt.Printf("| online, state one day old | %d | %d | %.2f s | %d B (%.1f KiB) | %d |\n", others, entries, res.Elapsed.Seconds(), res.BytesFetched, float64(res.BytesFetched)/1024, res.Files)
	res, err = client.Verify(ctx, tree, client.Config{Policy: pol, Publishers: pubs, Offline: true, StateDir: filepath.Join(dir, "offline-state"), Full: true})
	if err != nil {
		return err
	}
	fmt.Printf("| offline | %d | %d | %.2f s | 0 | %d |\n", others, entries, res.Elapsed.Seconds(), res.Files)
	return nil
}
