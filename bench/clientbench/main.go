// Command clientbench measures `treelog verify` as a user runs it daily,
// in a log shared by many trees: 1,000 origins each publishing every 30
// minutes, a week of that history since the user's last verification
// (336,000 entries), and the user's tree published once more just now.
// It reports, side by side in the same run, the bytes fetched from the
// log, the requests made and the time of an online verification with
// the week-old state:
//
//   - with the log's index and its compact proofs (the default);
//   - reading the entries after the snapshot instead (--no-index), with
//     compact proofs;
//   - today's client before the index: the scan, from a static mirror of
//     the log (tiles only), the anchor;
//   - with the index, from a static mirror (tiles for consistency);
//   - with the index, when the mirror lags two snapshots behind.
//
// Then it computes, without a server, what the index costs in storage
// over the same week with an index version every minute. Everything runs
// in this process on loopback: a log with three witnesses. Run it with
// bench/client.sh.
package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"treelog/client"
	"treelog/demo/mirror"
	"treelog/demo/network"
	"treelog/demo/treegen"
	"treelog/index"
	"treelog/internal/testkit/synthlog"
	"treelog/manifest"
	"treelog/metamanifest"
	"treelog/note"
	"treelog/policy"
	"treelog/publisher"
	"treelog/tiles"
	"treelog/trust"
)

func main() {
	origins := pflag.Int("origins", 1000, "other trees publishing in the log")
	every := pflag.Duration("every", 30*time.Minute, "how often each tree publishes")
	days := pflag.Int("days", 7, "age of the user's state, in days")
	pkgs := pflag.Int("packages", 40, "packages in the user's generated tree (small: the figures are the log's)")
	pflag.BoolVar(&trace, "trace", false, "list each request of the default verification, with its size")
	pflag.Parse()
	if err := run(*origins, *every, *days, *pkgs); err != nil {
		fmt.Fprintln(os.Stderr, "clientbench:", err)
		os.Exit(1)
	}
}

const treeOrigin = "example.org/tree"

var trace bool

func otherOrigin(o int) string { return fmt.Sprintf("other.example/tree%d", o) }

type bench struct {
	ctx   context.Context
	dir   string
	n     *network.Network
	pol   *policy.Policy
	pubs  *trust.Publishers
	tree  string // the publisher's tree
	state string // the week-old client state
	now   time.Time
}

func run(norigins int, every time.Duration, days, pkgs int) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "clientbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b := &bench{ctx: ctx, dir: dir, now: time.Now().UTC().Truncate(time.Second)}
	b.n, err = network.Start(ctx, filepath.Join(dir, "net"), network.Options{TreeOrigin: treeOrigin, IndexInterval: 2 * time.Second, IndexRefresh: time.Minute})
	if err != nil {
		return err
	}
	defer b.n.Close()
	pubsText, _ := os.ReadFile(b.n.PublishersFile)
	for o := range norigins {
		pubsText = fmt.Appendf(pubsText, "publisher %s %s\n", otherOrigin(o), b.n.PublisherVKey)
	}
	if err := os.WriteFile(b.n.PublishersFile, pubsText, 0o644); err != nil {
		return err
	}
	if b.pubs, err = trust.ParsePublishers(pubsText); err != nil {
		return err
	}
	b.n.Log.SetPublishers(b.pubs)
	if b.pol, err = policy.Parse(read(b.n.PolicyFile)); err != nil {
		return err
	}
	b.tree = filepath.Join(dir, "tree")
	fmt.Fprintf(os.Stderr, "generating a tree of %d packages...\n", pkgs)
	if _, err := treegen.Generate(b.tree, treegen.Options{Seed: 1, Packages: pkgs}); err != nil {
		return err
	}

	// A week ago: the user verified the snapshot of then.
	weekAgo := b.now.Add(-time.Duration(days) * 24 * time.Hour)
	// The history ends two hours ago, before the user's snapshots of today.
	slots := int((time.Duration(days)*24*time.Hour - 2*time.Hour) / every)
	if err := b.publish(weekAgo); err != nil {
		return err
	}
	b.state = filepath.Join(dir, "state")
	// Full: every verification hashes the whole tree, so that the times
	// compare with each other (bench/manifest.sh measures the cache).
	if _, err := client.Verify(ctx, b.tree, client.Config{Policy: b.pol, Publishers: b.pubs, StateDir: b.state, MaxAge: time.Duration(days+1) * 24 * time.Hour, Full: true}); err != nil {
		return fmt.Errorf("the week-old verification: %w", err)
	}

	// The week: every origin every 30 minutes (the user's tree too),
	// spread over each slot, appended as the log would have.
	total := slots * (norigins + 1)
	fmt.Fprintf(os.Stderr, "signing %d MetaManifests (%d origins, %d slots)...\n", total, norigins+1, slots)
	entries, err := synthlog.Sign(b.n.Publisher, total, func(i int) *metamanifest.MetaManifest {
		slot, o := i/(norigins+1), i%(norigins+1)
		origin := treeOrigin
		if o < norigins {
			origin = otherOrigin(o)
		}
		ts := weekAgo.Add(time.Duration(slot)*every + time.Duration(o)*every/time.Duration(norigins+1) + time.Minute)
		return &metamanifest.MetaManifest{Origin: origin, Timestamp: ts, ManifestSize: 50000,
			ManifestHashes: manifest.HashBytes([]byte(fmt.Sprint(i)), metamanifest.Hashes)}
	})
	if err != nil {
		return err
	}
	if err := b.n.StopLog(ctx); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "appending them...\n")
	if err := synthlog.Append(ctx, filepath.Join(b.n.Dir, "log"), b.n.LogSigner, entries); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "restarting the log (it indexes the week)...\n")
	start := time.Now()
	if err := b.n.StartLog(ctx); err != nil {
		return err
	}
	b.n.Log.SetPublishers(b.pubs)
	if b.pol, err = policy.Parse(read(b.n.PolicyFile)); err != nil {
		return err
	}
	_, cp, _ := b.n.Log.Published()
	if err := b.waitIndex(cp.Size); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "indexed %d entries in %.1f s\n", cp.Size, time.Since(start).Seconds())

	// Just now: three snapshots of the user's tree, 30 minutes apart; a
	// mirror that lags serves the first, an up-to-date one the last.
	var snaps []string
	for i, ago := range []time.Duration{62 * time.Minute, 32 * time.Minute, 2 * time.Minute} {
		if i > 0 {
			if _, err := treegen.Evolve(b.tree, uint64(i), 5); err != nil {
				return err
			}
		}
		if err := b.publish(b.now.Add(-ago)); err != nil {
			return err
		}
		snap := filepath.Join(dir, fmt.Sprintf("snapshot%d", i))
		if err := mirror.CopyTree(b.tree, snap); err != nil {
			return err
		}
		snaps = append(snaps, snap)
	}
	_, cp, _ = b.n.Log.Published()
	if err := b.waitIndex(cp.Size); err != nil {
		return err
	}
	_, cp, _ = b.n.Log.Published()

	static := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(b.n.Dir, "log"))))
	defer static.Close()
	fmt.Printf("Log: %d entries (%d trees, every %s, %d days), %d witnesses (2 of 3); the user's state is %d days old.\n\n",
		cp.Size, norigins+1, every, days, len(b.n.Witnesses), days)
	fmt.Println("| how the user's check reads the log | snapshot served | newer snapshots found | bytes fetched from the log | requests | verify time |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, row := range []struct {
		name    string
		snap    string
		url     string
		noIndex bool
	}{
		{"index and compact proofs, from the log (default)", snaps[2], b.n.LogURL, false},
		{"no index (`--no-index`): scan, compact proofs, from the log", snaps[2], b.n.LogURL, true},
		{"**anchor**: scan and tiles, from a static mirror (today's client)", snaps[2], static.URL, true},
		{"index, tiles for consistency, from a static mirror", snaps[2], static.URL, false},
		{"index and compact proofs; the mirror lags two snapshots", snaps[0], b.n.LogURL, false},
		{"no index, compact proofs; the mirror lags two snapshots", snaps[0], b.n.LogURL, true},
	} {
		res, err := b.verify(row.snap, row.url, row.noIndex)
		if err != nil {
			return fmt.Errorf("%s: %w", row.name, err)
		}
		which := "the newest"
		if row.snap != snaps[2] {
			which = "2 behind"
		}
		found := 0
		if res.Lag != nil {
			found = res.Lag.Newer
		}
		fmt.Printf("| %s | %s | %d | %d B (%.1f KiB) | %d | %.0f ms |\n", row.name, which, found, res.BytesFetched, float64(res.BytesFetched)/1024, res.Requests, float64(res.Elapsed.Microseconds())/1000)
	}
	res, err := client.Verify(ctx, snaps[2], client.Config{Policy: b.pol, Publishers: b.pubs, Offline: true, StateDir: filepath.Join(b.dir, "offline-state"), Full: true})
	if err != nil {
		return err
	}
	fmt.Printf("| offline (no log), for the tree's own cost: %d files | | | 0 | 0 | %.0f ms |\n", res.Files, float64(res.Elapsed.Microseconds())/1000)

	fmt.Println()
	if trace {
		if err := b.trace(snaps[2]); err != nil {
			return err
		}
	}
	r, _ := tiles.NewHTTPReader([]string{b.n.LogURL})
	data, err := index.ReadLatest(ctx, r)
	if err != nil {
		return err
	}
	l, err := index.VerifyLatest(b.pol, data)
	if err != nil {
		return err
	}
	return storage(entries, norigins, every, days, len(l.Raw))
}

// verify verifies snap online against url with a copy of the week-old
// state, as the user would today.
func (b *bench) verify(snap, url string, noIndex bool) (*client.Result, error) {
	state, err := os.MkdirTemp(b.dir, "state-")
	if err != nil {
		return nil, err
	}
	if out, err := exec.Command("cp", "-a", b.state+"/.", state).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("copying the state: %v: %s", err, out)
	}
	return client.Verify(b.ctx, snap, client.Config{Policy: b.pol, Publishers: b.pubs, StateDir: state, LogURLs: []string{url}, NoIndex: noIndex, Full: true})
}

// trace runs the default verification through a proxy that lists each
// request and the bytes of its answer.
func (b *bench) trace(snap string) error {
	target, _ := url.Parse(b.n.LogURL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var lines []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		proxy.ServeHTTP(rec, r)
		lines = append(lines, fmt.Sprintf("| GET %s | %d |", r.URL.Path, rec.Body.Len()))
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	defer srv.Close()
	if _, err := b.verify(snap, srv.URL, false); err != nil {
		return err
	}
	fmt.Println("The default verification's requests:")
	fmt.Println()
	fmt.Println("| request | bytes |")
	fmt.Println("|---|---|")
	for _, l := range lines {
		fmt.Println(l)
	}
	fmt.Println()
	return nil
}

// publish publishes the user's tree with TIMESTAMP ts through the log.
func (b *bench) publish(ts time.Time) error {
	_, err := (&publisher.Client{}).Publish(b.ctx, b.tree, publisher.Options{Origin: treeOrigin, Signers: []note.Signer{b.n.Publisher}, LogURL: b.n.LogURL, Policy: b.pol,
		Wait: time.Minute, Manifest: []manifest.Option{manifest.WithLayout(manifest.LayoutGentoo), manifest.WithTimestamp(ts)}})
	return err
}

// waitIndex waits until index/latest covers the log up to size.
func (b *bench) waitIndex(size uint64) error {
	r, _ := tiles.NewHTTPReader([]string{b.n.LogURL})
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		if data, err := index.ReadLatest(b.ctx, r); err == nil {
			if l, err := index.VerifyLatest(b.pol, data); err == nil && l.Entry.Size >= size {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("the log's index did not cover size %d within 5 minutes", size)
}

// storage replays the week with an index version every minute (as
// --index-interval 1m would under this traffic) and counts what the index
// writes, against the log's own entries.
func storage(entries [][]byte, norigins int, every time.Duration, days, entrySize int) error {
	perMinute := max(1, int(float64(norigins+1)*float64(time.Minute)/float64(every)))
	rp := index.NewReplayer(index.KeepChunks())
	var chunkBytes, nodeBytes, entryBytes, indexEntryBytes int64
	var chunks, nodes, versions int
	i := uint64(0)
	apply := func(e []byte) error {
		if _, err := rp.Apply(i, e); err != nil {
			return err
		}
		i++
		return nil
	}
	version := func() error {
		for _, c := range rp.TakeChunks() {
			chunks++
			chunkBytes += int64(len(c.Data))
		}
		rp.Trie().Emit(func(_ index.Hash, data []byte) error {
			nodes++
			nodeBytes += int64(len(data))
			return nil
		})
		w := rp.Want()
		e := (&index.Entry{Size: w.Size, Root: w.Root, Origins: w.Origins}).Marshal()
		// As big as the log's own, which carry a cosigned checkpoint.
		indexEntryBytes += int64(entrySize)
		versions++
		return apply(e)
	}
	for k, e := range entries {
		entryBytes += int64(len(e))
		if err := apply(e); err != nil {
			return err
		}
		if (k+1)%perMinute == 0 {
			if err := version(); err != nil {
				return err
			}
		}
	}
	if err := version(); err != nil {
		return err
	}
	mb := func(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
	fmt.Printf("Index storage for the same %d days, a version every minute (%d entries a minute): %d versions\n\n", days, perMinute, versions)
	fmt.Println("| what | files | bytes | per day |")
	fmt.Println("|---|---|---|---|")
	d := int64(days)
	fmt.Printf("| the log's MetaManifest entries (anchor) | | %s | %s |\n", mb(entryBytes), mb(entryBytes/d))
	fmt.Printf("| index entries (in the log) | | %s | %s |\n", mb(indexEntryBytes), mb(indexEntryBytes/d))
	fmt.Printf("| chunks | %d | %s | %s |\n", chunks, mb(chunkBytes), mb(chunkBytes/d))
	fmt.Printf("| trie nodes | %d | %s | %s |\n", nodes, mb(nodeBytes), mb(nodeBytes/d))
	return nil
}

func read(p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		panic(err)
	}
	return b
}
