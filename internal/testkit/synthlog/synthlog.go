// Package synthlog writes large treelog logs quickly for benchmarks and
// crash tests: n MetaManifests, origins round robin with TIMESTAMPs one
// second apart, appended in order with tessera's POSIX driver (a real log,
// the same files a log server would write).
package synthlog

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"

	"treelog/manifest"
	"treelog/metamanifest"
	"treelog/note"
)

// Start is the TIMESTAMP of entry 0; entry i is Start + i seconds.
var Start = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// Origin is the origin of entry i in a log of norigins origins.
func Origin(i, norigins int) string { return fmt.Sprintf("bench.example/o%d", i%norigins) }

// Publishers returns a publishers file allowing key vkey for every origin.
func Publishers(norigins int, vkey string) []byte {
	var b strings.Builder
	for o := range norigins {
		fmt.Fprintf(&b, "publisher %s %s\n", Origin(o, norigins), vkey)
	}
	return []byte(b.String())
}

// Build signs n MetaManifests with pub and appends them to a POSIX log in
// dir whose checkpoints log signs, returning once a checkpoint of size n is
// published.
func Build(ctx context.Context, dir string, log, pub note.Signer, n, norigins int) error {
	signed, err := Sign(pub, n, func(i int) *metamanifest.MetaManifest {
		return &metamanifest.MetaManifest{Origin: Origin(i, norigins), Timestamp: Start.Add(time.Duration(i) * time.Second),
			ManifestSize: 50000, ManifestHashes: manifest.HashBytes([]byte(fmt.Sprint(i)), metamanifest.Hashes), Commit: fmt.Sprintf("c%d", i)}
	})
	if err != nil {
		return err
	}
	return Append(ctx, dir, log, signed)
}

// Append appends entries, as they are and in order, to a POSIX log in dir
// whose checkpoints log signs (what a log that accepted them would hold),
// returning once a checkpoint covering them all is published.
func Append(ctx context.Context, dir string, log note.Signer, entries [][]byte) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d, err := posix.New(ctx, posix.Config{Path: dir})
	if err != nil {
		return fmt.Errorf("opening POSIX storage: %w", err)
	}
	const chunk = 4096
	app, shutdown, reader, err := tessera.NewAppender(ctx, d, tessera.NewAppendOptions().WithCheckpointSigner(log).
		WithCheckpointInterval(100*time.Millisecond).WithBatching(chunk, 10*time.Millisecond).WithPushback(1<<20))
	if err != nil {
		return fmt.Errorf("starting appender: %w", err)
	}
	// Tessera sequences one batch at a time but may flush two batches in
	// either order: a chunk of one batch is appended, and sequenced,
	// before the next is added, so that entry i lands at index i.
	var size, base uint64
	for start := 0; start < len(entries); start += chunk {
		futures := make([]tessera.IndexFuture, 0, chunk)
		for _, b := range entries[start:min(start+chunk, len(entries))] {
			futures = append(futures, app.Add(ctx, tessera.NewEntry(b)))
		}
		for i, f := range futures {
			idx, err := f()
			if err != nil {
				return fmt.Errorf("appending entry %d: %w", start+i, err)
			}
			if start+i == 0 {
				base = idx.Index
			}
			if idx.Index != base+uint64(start+i) {
				return fmt.Errorf("entry %d was sequenced at index %d, out of order", start+i, idx.Index)
			}
			size = max(size, idx.Index+1)
		}
	}
	want := fmt.Sprintf("\n%d\n", size)
	for {
		cp, err := reader.ReadCheckpoint(ctx)
		if err == nil && strings.Contains(string(cp), want) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return shutdown(ctx)
}

// Sign signs the n MetaManifests mm(0), ..., mm(n-1) with pub, on all
// cores.
func Sign(pub note.Signer, n int, mm func(i int) *metamanifest.MetaManifest) ([][]byte, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	signed := make([][]byte, n)
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				b, err := metamanifest.Sign(mm(i), pub)
				if err != nil {
					firstErr.Store(err)
					return
				}
				signed[i] = b
			}
		}()
	}
	wg.Wait()
	if e := firstErr.Load(); e != nil {
		return nil, fmt.Errorf("signing MetaManifests: %w", e.(error))
	}
	return signed, nil
}
