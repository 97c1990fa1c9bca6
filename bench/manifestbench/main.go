// Command manifestbench measures Manifest creation and verification on a
// generated Gentoo-shaped tree, beside the machine's hashing limit measured
// in the same run: BLAKE2B and SHA512 of the same files' bytes, already in
// memory, hashed on all cores. It also measures peak heap during
// verification for a tree a tenth the size, to show memory does not grow
// with the tree. Run it with bench/manifest.sh.
package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"treelog/demo/treegen"
	"treelog/manifest"
)

func main() {
	dir := pflag.String("dir", "", "work directory (default: a temporary one, removed at the end)")
	pkgs := pflag.Int("packages", treegen.DefaultPackages, "packages in the large tree")
	runs := pflag.Int("runs", 3, "timed runs of each measurement (the median is reported)")
	pflag.Parse()
	if err := run(*dir, *pkgs, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "manifestbench:", err)
		os.Exit(1)
	}
}

type result struct {
	name         string
	files, bytes int64
	d            time.Duration
	peakHeap     uint64
}

func (r result) row(limitMBs float64) string {
	mbs := float64(r.bytes) / 1e6 / r.d.Seconds()
	pct := ""
	if limitMBs > 0 {
		pct = fmt.Sprintf("%.0f%%", 100*mbs/limitMBs)
	}
	heap := ""
	if r.peakHeap > 0 {
		heap = fmt.Sprintf("%.1f MiB", float64(r.peakHeap)/(1<<20))
	}
	return fmt.Sprintf("| %s | %d | %.1f | %.2f s | %.0f | %.0f | %s | %s |", r.name, r.files, float64(r.bytes)/1e6, r.d.Seconds(), mbs, float64(r.files)/r.d.Seconds(), pct, heap)
}

func median(ds []time.Duration) time.Duration {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2]
}

func run(dir string, pkgs, runs int) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "manifestbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	fmt.Printf("machine: %d CPUs (GOMAXPROCS %d), %s/%s, %s\n\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())
	var rows []string
	var limit float64
	for i, n := range []int{pkgs, pkgs / 10} {
		tree := filepath.Join(dir, fmt.Sprintf("tree-%d", n))
		if _, err := os.Stat(tree); err != nil {
			fmt.Fprintf(os.Stderr, "generating %s (%d packages)...\n", tree, n)
			if _, err := treegen.Generate(tree, treegen.Options{Seed: 1, Packages: n}); err != nil {
				return err
			}
		}
		ctx := context.Background()
		// First creation writes every Manifest; a second, over an unchanged
		// tree, rewrites only the top-level one.
		t0 := time.Now()
		cr, err := manifest.Create(ctx, tree, manifest.WithLayout(manifest.LayoutGentoo))
		if err != nil {
			return err
		}
		first := time.Since(t0)
		var cds []time.Duration
		for range runs {
			t0 = time.Now()
			if cr, err = manifest.Create(ctx, tree, manifest.WithLayout(manifest.LayoutGentoo)); err != nil {
				return err
			}
			cds = append(cds, time.Since(t0))
		}
		var vds []time.Duration
		var vr *manifest.Report
		var peak uint64
		for range runs {
			runtime.GC()
			stop := sampleHeap(&peak)
			t0 = time.Now()
			vr, err = manifest.Verify(ctx, tree)
			d := time.Since(t0)
			stop()
			if err != nil {
				return err
			}
			if !vr.OK() {
				return vr.Error()
			}
			vds = append(vds, d)
		}
		label := fmt.Sprintf("%d packages", n)
		if i == 0 {
			lr, err := hashLimit(tree, runs)
			if err != nil {
				return err
			}
			limit = float64(lr.bytes) / 1e6 / lr.d.Seconds()
			rows = append(rows, lr.row(0))
			rr, err := readFloor(tree, runs)
			if err != nil {
				return err
			}
			rows = append(rows, rr.row(limit))
		}
		rows = append(rows,
			result{name: "create, first (" + label + ")", files: cr.Files, bytes: cr.Bytes, d: first}.row(limit),
			result{name: "create, unchanged tree (" + label + ")", files: cr.Files, bytes: cr.Bytes, d: median(cds)}.row(limit),
			result{name: "verify, warm cache (" + label + ")", files: vr.Files, bytes: vr.Bytes, d: median(vds), peakHeap: peak}.row(limit))
	}
	fmt.Println("| measurement | files | MB | time | MB/s | files/s | of hashing limit | peak heap |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Println(r)
	}
	return nil
}

// sampleHeap records the peak of live heap until stop is called.
func sampleHeap(peak *uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > *peak {
				*peak = ms.HeapInuse
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// hashLimit reads every file of the tree into memory, then hashes each
// with BLAKE2B and SHA512 on all cores: the most a verifier can do with no
// file system work at all.
func hashLimit(tree string, runs int) (result, error) {
	var files [][]byte
	var total int64
	err := filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			files = append(files, b)
			total += int64(len(b))
		}
		return nil
	})
	if err != nil {
		return result{}, err
	}
	var ds []time.Duration
	for range runs {
		ds = append(ds, onAllCores(len(files), func(_ []byte, i int) { manifest.HashBytes(files[i], manifest.DefaultHashes) }))
	}
	return result{name: "hashing limit: BLAKE2B+SHA512 in memory, all cores", files: int64(len(files)), bytes: total, d: median(ds)}, nil
}

// readFloor opens, reads and closes every file on all cores without
// hashing: the file system's share of a verification on this machine.
func readFloor(tree string, runs int) (result, error) {
	var paths []string
	err := filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		return result{}, err
	}
	var ds []time.Duration
	var total atomic.Int64
	for range runs {
		total.Store(0)
		ds = append(ds, onAllCores(len(paths), func(buf []byte, i int) {
			fd, err := syscall.Open(paths[i], syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
			if err != nil {
				return
			}
			defer syscall.Close(fd)
			for {
				n, err := syscall.Read(fd, buf)
				if n <= 0 || err != nil {
					return
				}
				total.Add(int64(n))
			}
		}))
	}
	return result{name: "file system floor: open+read+close, no hashing, all cores", files: int64(len(paths)), bytes: total.Load(), d: median(ds)}, nil
}

// onAllCores runs job(buf, i) for i in [0, n) on one goroutine per core,
// each with its own 128 KiB buffer, and returns the wall time.
func onAllCores(n int, job func(buf []byte, i int)) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 128<<10)
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				job(buf, int(i))
			}
		}()
	}
	wg.Wait()
	return time.Since(t0)
}
