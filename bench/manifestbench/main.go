// Command manifestbench measures Manifest creation and verification on a
// generated Gentoo-shaped tree, each beside its anchors measured in the same
// run:
//
//   - the machine's floor for a full verification: the file-system cost
//     (open, read and close every file, on all cores, no hashing) plus the
//     hashing cost (BLAKE2B and SHA512 of the same bytes, already in
//     memory, on all cores);
//   - gemato, Gentoo's own Manifest tool, run from its source on the same
//     tree with the same hashes (verify, and create);
//   - for the incremental verification (with a cache, 1% of the files
//     changed since the cache was written), the full verification of the
//     same tree, and the cost of one stat of every file and directory.
//
// It also measures peak heap, and a tree a tenth the size, to show memory
// does not grow with the tree. Run it with bench/manifest.sh.
package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"treelog/demo/treegen"
	"treelog/manifest"
)

type options struct {
	dir, gemato, python, profile string
	pkgs, runs                   int
	changed                      float64
}

func main() {
	var o options
	pflag.StringVar(&o.dir, "dir", "", "work directory (default: a temporary one, removed at the end)")
	pflag.StringVar(&o.gemato, "gemato", "", "a checkout of gemato's source (github.com/gentoo/gemato), run with PYTHONPATH; required")
	pflag.StringVar(&o.python, "python", "python3", "the Python 3 that runs gemato")
	pflag.StringVar(&o.profile, "cpuprofile", "", "write a CPU profile of --runs more full verifications of the large tree (not timed) to this file")
	pflag.IntVar(&o.pkgs, "packages", treegen.DefaultPackages, "packages in the large tree")
	pflag.IntVar(&o.runs, "runs", 3, "timed runs of each measurement (the median is reported, and the spread)")
	pflag.Float64Var(&o.changed, "changed", 0.01, "fraction of the files changed between the two snapshots of the incremental verification")
	pflag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "manifestbench:", err)
		os.Exit(1)
	}
}

// A sample is one timed run: its wall-clock time, and the CPU time (user
// and system) the measured work used. On a machine shared with other work
// the wall time swings with their load; the CPU time much less.
type sample struct{ wall, cpu time.Duration }

// samples are the timed runs of one measurement, in run order.
type samples []sample

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func (s samples) walls() (d []time.Duration) {
	for _, x := range s {
		d = append(d, x.wall)
	}
	return d
}

func (s samples) cpus() (d []time.Duration) {
	for _, x := range s {
		d = append(d, x.cpu)
	}
	return d
}

func (s samples) wall() time.Duration { return median(s.walls()) }
func (s samples) cpu() time.Duration  { return median(s.cpus()) }

// spread gives the range of the wall times: "1.91–2.05 s".
func (s samples) spread() string {
	w := s.walls()
	return fmt.Sprintf("%.2f–%.2f s", slices.Min(w).Seconds(), slices.Max(w).Seconds())
}

// processCPU is the CPU time this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// timed runs f and returns its sample.
func timed(f func() error) (sample, error) {
	c0, t0 := processCPU(), time.Now()
	err := f()
	return sample{wall: time.Since(t0), cpu: processCPU() - c0}, err
}

type result struct {
	name         string
	files, bytes int64
	t            samples
	peakHeap     uint64
}

// How row compares a result with its reference.
const (
	percent = iota // ref/time, as a percentage (a floor)
	factor         // ref/time, as a factor (how many times faster)
	slower         // time/ref, as a factor (how many times slower)
)

// row formats the result as a table row. ref, if any, is compared with
// it run by run (ref[i] with t[i]), in wall and in CPU time, as how says;
// the median of the runs' ratios is shown.
func (r result) row(ref samples, how int) string {
	ratio := func(a, b []time.Duration) string {
		if len(ref) == 0 {
			return ""
		}
		var q []float64
		for i := range a {
			x := a[i].Seconds() / b[i].Seconds()
			if how == slower {
				x = 1 / x
			}
			q = append(q, x)
		}
		slices.Sort(q)
		if how == percent {
			return fmt.Sprintf("%.0f%%", 100*q[len(q)/2])
		}
		return fmt.Sprintf("%.1fx", q[len(q)/2])
	}
	heap := ""
	if r.peakHeap > 0 {
		heap = fmt.Sprintf("%.1f MiB", float64(r.peakHeap)/(1<<20))
	}
	d := r.t.wall()
	return fmt.Sprintf("| %s | %d | %.1f | %.2f s | %s | %.2f s | %.0f | %s | %s | %s |", r.name, r.files, float64(r.bytes)/1e6,
		d.Seconds(), r.t.spread(), r.t.cpu().Seconds(), float64(r.bytes)/1e6/d.Seconds(),
		ratio(ref.walls(), r.t.walls()), ratio(ref.cpus(), r.t.cpus()), heap)
}

const tableHead = "| measurement | files | MB | wall (median) | wall (spread) | CPU (median) | MB/s | %s, wall | %s, CPU | peak heap |\n|---|---|---|---|---|---|---|---|---|---|"

func run(o options) error {
	if o.gemato == "" {
		return errors.New("--gemato is required: the path of a gemato source checkout (github.com/gentoo/gemato), " +
			"the anchor of the create and verify figures; the comparison is never skipped")
	}
	if err := checkGemato(o); err != nil {
		return err
	}
	if o.runs < 1 {
		return errors.New("--runs must be at least 1")
	}
	if o.dir == "" {
		d, err := os.MkdirTemp("", "manifestbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		o.dir = d
	}
	fmt.Printf("machine: %d CPUs (GOMAXPROCS %d), %s/%s, %s; %d runs of each, median and spread\n\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version(), o.runs)
	large, err := prepare(o.dir, o.pkgs)
	if err != nil {
		return err
	}
	small, err := prepare(o.dir, o.pkgs/10)
	if err != nil {
		return err
	}
	if err := fullTable(o, large, small); err != nil {
		return err
	}
	return incrementalTable(o, large)
}

// prepare generates a tree (unless it is there) and creates its Manifests.
func prepare(dir string, pkgs int) (string, error) {
	tree := filepath.Join(dir, fmt.Sprintf("tree-%d", pkgs))
	if _, err := os.Stat(tree); err != nil {
		fmt.Fprintf(os.Stderr, "generating %s (%d packages)...\n", tree, pkgs)
		if _, err := treegen.Generate(tree, treegen.Options{Seed: 1, Packages: pkgs}); err != nil {
			return "", err
		}
	}
	fmt.Fprintf(os.Stderr, "creating the Manifests of %s...\n", tree)
	if _, err := manifest.Create(context.Background(), tree, manifest.WithLayout(manifest.LayoutGentoo)); err != nil {
		return "", err
	}
	return tree, nil
}

// fullTable measures full creation and verification beside the floor and
// gemato.
func fullTable(o options, large, small string) error {
	ctx := context.Background()
	fmt.Fprintln(os.Stderr, "reading the tree into memory for the hashing anchor...")
	hl, err := hashLimit(large)
	if err != nil {
		return err
	}
	fsf, err := readFloor(large)
	if err != nil {
		return err
	}
	var rows, gemRows []string
	var floor samples
	for _, tree := range []string{large, small} {
		label := filepath.Base(tree)
		fmt.Fprintf(os.Stderr, "create and verify, %s (treelog and gemato, alternately)...\n", label)
		var cr *manifest.CreateReport
		var vr *manifest.Report
		var ct, vt, gct, gvt samples
		for range o.runs {
			if tree == large {
				h, f := hl.measure(), fsf.measure()
				floor = append(floor, sample{wall: h.wall + f.wall, cpu: h.cpu + f.cpu})
			}
			c, err := timed(func() (err error) {
				cr, err = manifest.Create(ctx, tree, manifest.WithLayout(manifest.LayoutGentoo))
				return err
			})
			if err != nil {
				return err
			}
			ct = append(ct, c)
			g, err := gematoRun(o, "create", "-p", "ebuild", "-H", "BLAKE2B SHA512", "-t", tree)
			if err != nil {
				return err
			}
			gct = append(gct, g)

			v, err := timed(func() (err error) {
				vr, err = manifest.Verify(ctx, tree)
				return err
			})
			if err != nil {
				return err
			}
			if !vr.OK() {
				return vr.Error()
			}
			vt = append(vt, v)
			if g, err = gematoRun(o, "verify", tree); err != nil {
				return err
			}
			gvt = append(gvt, g)
		}
		if tree == large {
			hl.run, fsf.run = nil, nil // the tree in memory is no longer needed
		}
		peak, err := peakHeap(func() error { _, err := manifest.Verify(ctx, tree); return err })
		if err != nil {
			return err
		}
		if o.profile != "" && tree == large {
			if err := profileVerify(o, tree); err != nil {
				return err
			}
		}
		var ref samples
		if tree == large {
			ref = floor
			rows = append(rows, hl.row(nil, percent), fsf.row(nil, percent),
				result{name: "**floor**: file system + hashing (each run's sum)", files: hl.files, bytes: hl.bytes, t: floor}.row(floor, percent))
		}
		rows = append(rows,
			result{name: "treelog create, unchanged tree (" + label + ")", files: cr.Files, bytes: cr.Bytes, t: ct}.row(nil, percent),
			result{name: "treelog verify, full (" + label + ")", files: vr.Files, bytes: vr.Bytes, t: vt, peakHeap: peak}.row(ref, percent))
		gemRows = append(gemRows,
			result{name: "gemato create (" + label + ")", files: cr.Files, bytes: cr.Bytes, t: gct}.row(ct, slower),
			result{name: "gemato verify (" + label + ")", files: vr.Files, bytes: vr.Bytes, t: gvt}.row(vt, slower))
	}
	fmt.Println("Full create and verify, beside the floor (file system + hashing, each on all cores, measured right before each verification):")
	fmt.Println()
	fmt.Printf(tableHead+"\n", "floor / time", "floor / time")
	for _, r := range rows {
		fmt.Println(r)
	}
	fmt.Println()
	fmt.Printf("gemato (%s), BLAKE2B SHA512, -j %d, run right after treelog each time (its CPU: the Python processes'):\n\n", gematoVersion(o), runtime.NumCPU())
	fmt.Printf(tableHead+"\n", "gemato / treelog", "gemato / treelog")
	for _, r := range gemRows {
		fmt.Println(r)
	}
	fmt.Println()
	return nil
}

// incrementalTable measures a verification with the cache of the previous
// snapshot after a fraction of the files changed, beside a full
// verification of the same tree and the cost of a stat of everything.
func incrementalTable(o options, tree string) error {
	ctx := context.Background()
	cacheDir := filepath.Join(o.dir, "cache")
	file, _, err := manifest.CachePath(cacheDir, tree)
	if err != nil {
		return err
	}
	// Files changed within the last 2 s are not trusted by a cache (a
	// second change in the same clock tick would not show): let the
	// Manifests just created age.
	time.Sleep(2100 * time.Millisecond)
	fmt.Fprintln(os.Stderr, "incremental: writing the cache of the first snapshot...")
	r, err := manifest.Verify(ctx, tree, manifest.WithCache(cacheDir), manifest.WithFull())
	if err != nil {
		return err
	}
	if !r.OK() {
		return r.Error()
	}
	saved, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	st, err := statFloor(tree)
	if err != nil {
		return err
	}
	// incremental runs a verification with the first snapshot's cache,
	// restored; with full, a full verification and the stat anchor
	// before each.
	incremental := func(label string, full *samples, fr **manifest.Report) (result, error) {
		var t samples
		var r *manifest.Report
		for range o.runs {
			if full != nil {
				f, err := timed(func() (err error) {
					*fr, err = manifest.Verify(ctx, tree)
					return err
				})
				if err != nil {
					return result{}, err
				}
				*full = append(*full, f)
				st.measure()
			}
			if err := os.WriteFile(file, saved, 0o600); err != nil {
				return result{}, err
			}
			d, err := timed(func() (err error) {
				r, err = manifest.Verify(ctx, tree, manifest.WithCache(cacheDir))
				return err
			})
			if err != nil {
				return result{}, err
			}
			if !r.OK() {
				return result{}, r.Error()
			}
			t = append(t, d)
		}
		if err := os.WriteFile(file, saved, 0o600); err != nil {
			return result{}, err
		}
		peak, err := peakHeap(func() error { _, err := manifest.Verify(ctx, tree, manifest.WithCache(cacheDir)); return err })
		if err != nil {
			return result{}, err
		}
		fmt.Fprintf(os.Stderr, "  %s: %d of %d files reused; cache %s\n", label, r.Reused, r.Files, r.Cache)
		return result{name: fmt.Sprintf("%s (%d files read, %d not)", label, r.Files-r.Reused, r.Reused), files: r.Files, bytes: r.Bytes, t: t, peakHeap: peak}, nil
	}
	same, err := incremental("incremental, same snapshot", nil, nil)
	if err != nil {
		return err
	}

	n, err := changeFiles(tree, o.changed)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "incremental: changed %d files; creating the second snapshot's Manifests...\n", n)
	if _, err := manifest.Create(ctx, tree, manifest.WithLayout(manifest.LayoutGentoo)); err != nil {
		return err
	}
	var full samples
	var fr *manifest.Report
	next, err := incremental(fmt.Sprintf("incremental, %.0f%% of the files changed", 100*o.changed), &full, &fr)
	if err != nil {
		return err
	}
	fmt.Printf("Incremental verification (%d files changed, by rename as rsync does, then Manifests re-created), cache of the previous snapshot restored before each run; a full verification and a stat of everything before each:\n\n", n)
	fmt.Printf(tableHead+"\n", "full / time", "full / time")
	fmt.Println(result{name: "full verify of the second snapshot (no cache)", files: fr.Files, bytes: fr.Bytes, t: full}.row(full, factor))
	fmt.Println(same.row(nil, factor))
	fmt.Println(next.row(full, factor))
	fmt.Println(st.result.row(full, factor))
	fmt.Printf("\nCache file: %.1f MB for %d files. (The same-snapshot runs came before the change, without a full verification of their own.)\n", float64(len(saved))/1e6, r.Files)
	return nil
}

// profileVerify writes a CPU profile of as many more full verifications
// as there are timed runs.
func profileVerify(o options, tree string) error {
	f, err := os.Create(o.profile)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()
	for range o.runs {
		if _, err := manifest.Verify(context.Background(), tree); err != nil {
			return err
		}
	}
	return nil
}

// changeFiles replaces a fraction of the tree's files (not Manifests) as
// rsync does: new content written to a temporary file, renamed over.
func changeFiles(tree string, frac float64) (int, error) {
	var files []string
	err := filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && !strings.HasPrefix(d.Name(), "Manifest") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	r := rand.New(rand.NewPCG(2, uint64(time.Now().UnixNano())))
	n := int(frac * float64(len(files)))
	for _, i := range r.Perm(len(files))[:n] {
		b, err := os.ReadFile(files[i])
		if err != nil {
			return 0, err
		}
		b = fmt.Appendf(b, "# changed %d\n", r.Int())
		tmp := files[i] + ".tmp"
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			return 0, err
		}
		if err := os.Rename(tmp, files[i]); err != nil {
			return 0, err
		}
	}
	return n, nil
}

func checkGemato(o options) error {
	if _, err := os.Stat(filepath.Join(o.gemato, "gemato", "__main__.py")); err != nil {
		return fmt.Errorf("--gemato %s: not a gemato source checkout (no gemato/__main__.py): %v", o.gemato, err)
	}
	cmd := exec.Command(o.python, "-m", "gemato", "verify", "--help")
	cmd.Env = append(os.Environ(), "PYTHONPATH="+o.gemato)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("gemato does not run (%s -m gemato with PYTHONPATH=%s): %v\n%s", o.python, o.gemato, err, out)
	}
	return nil
}

func gematoVersion(o options) string {
	out, err := exec.Command("git", "-C", o.gemato, "describe", "--tags", "--always").Output()
	if err != nil {
		return "source at " + o.gemato
	}
	return strings.TrimSpace(string(out))
}

// gematoRun runs a gemato command on all cores and returns its wall time
// (Python's start included, about 0.1 s) and the CPU time of its processes
// (the Python workers it waited for included).
func gematoRun(o options, args ...string) (sample, error) {
	cmd := exec.Command(o.python, append([]string{"-m", "gemato", args[0], "-q", "-j", fmt.Sprint(runtime.NumCPU())}, args[1:]...)...)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+o.gemato)
	t0 := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(t0)
	if err != nil {
		return sample{}, fmt.Errorf("gemato %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return sample{wall: d, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}, nil
}

// peakHeap runs f once more, untimed, and returns the peak of heap in use
// above what was in use when it started (after a collection, so that
// nothing else's garbage counts). Sampling stops the world every 5 ms,
// which is why the timed runs do not sample.
func peakHeap(f func() error) (uint64, error) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak uint64
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
			if ms.HeapInuse > base && ms.HeapInuse-base > peak {
				peak = ms.HeapInuse - base
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	err := f()
	close(done)
	wg.Wait()
	return peak, err
}

// treeFiles lists the tree's regular files and directories.
func treeFiles(tree string) (files, dirs []string, err error) {
	err = filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir():
			dirs = append(dirs, p)
		case d.Type().IsRegular():
			files = append(files, p)
		}
		return nil
	})
	return files, dirs, err
}

// An anchor is a measurement taken one run at a time, between the runs
// of what it anchors, so that both see the same load on a shared machine.
type anchor struct {
	result
	run func()
}

func (a *anchor) measure() sample {
	d, _ := timed(func() error { a.run(); return nil })
	a.t = append(a.t, d)
	return d
}

// hashLimit reads every file of the tree into memory; each run hashes each
// with BLAKE2B and SHA512 on all cores: the hashing a verifier cannot
// avoid, with no file system work at all.
func hashLimit(tree string) (*anchor, error) {
	paths, _, err := treeFiles(tree)
	if err != nil {
		return nil, err
	}
	files := make([][]byte, len(paths))
	var total int64
	for i, p := range paths {
		if files[i], err = os.ReadFile(p); err != nil {
			return nil, err
		}
		total += int64(len(files[i]))
	}
	return &anchor{
		result: result{name: "hashing: BLAKE2B+SHA512 in memory, all cores", files: int64(len(files)), bytes: total},
		run: func() {
			onAllCores(len(files), func(_ []byte, i int) { manifest.HashBytes(files[i], manifest.DefaultHashes) })
		},
	}, nil
}

// readFloor: each run opens, reads and closes every file on all cores
// without hashing: the file system's share of a verification. Like the
// verifier, it takes a short read as the end of a file, sparing the read
// that returns 0.
func readFloor(tree string) (*anchor, error) {
	paths, _, err := treeFiles(tree)
	if err != nil {
		return nil, err
	}
	var total atomic.Int64
	a := &anchor{result: result{name: "file system: open+read+close, no hashing, all cores", files: int64(len(paths))}}
	a.run = func() {
		total.Store(0)
		onAllCores(len(paths), func(buf []byte, i int) {
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
				if n < len(buf) {
					return
				}
			}
		})
		a.bytes = total.Load()
	}
	return a, nil
}

// statFloor: each run stats every file and directory on all cores: what
// checking a tree against a stat cache cannot avoid.
func statFloor(tree string) (*anchor, error) {
	files, dirs, err := treeFiles(tree)
	if err != nil {
		return nil, err
	}
	paths := append(files, dirs...)
	return &anchor{
		result: result{name: fmt.Sprintf("anchor: stat of every file and directory (%d), all cores", len(paths)), files: int64(len(files))},
		run: func() {
			onAllCores(len(paths), func(_ []byte, i int) {
				var st syscall.Stat_t
				syscall.Stat(paths[i], &st)
			})
		},
	}, nil
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
