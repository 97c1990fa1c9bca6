// Command witnessbench measures add-checkpoint throughput of the witness
// daemon (a child process, real SQLite file, durable writes) with 1, 10 and
// 50 logs submitting at once, each log growing and re-cosigning with one
// request in flight, as logs do. It counts only 200s, reports 429s and 5xx
// and latency percentiles, and measures the disk's fsync rate in the same
// run. Run it with bench/witness.sh.
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"treelog/internal/testkit/proc"
	"treelog/internal/testkit/testlog"
	"treelog/note"
)

func main() {
	dur := pflag.Duration("duration", 5*time.Second, "load time per configuration")
	logsList := pflag.IntSlice("logs", []int{1, 10, 50}, "numbers of concurrent logs to measure")
	dir := pflag.String("dir", "", "work directory, on the disk to measure (default: a temporary one)")
	pflag.Parse()
	if err := run(*dir, *dur, *logsList); err != nil {
		fmt.Fprintln(os.Stderr, "witnessbench:", err)
		os.Exit(1)
	}
}

func run(dir string, dur time.Duration, logsList []int) error {
	if dir == "" {
		d, err := os.MkdirTemp(".", "witnessbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	bin, err := proc.Build("treelog/cmd/witness", dir)
	if err != nil {
		return err
	}
	fmt.Printf("machine: %d CPUs, %s; load generator and witness on the same machine\n\n", runtime.NumCPU(), runtime.Version())
	fmt.Printf("fsync rate of the disk (4 KiB write + fsync, 2 s): %.0f/s\n\n", fsyncRate(dir))
	fmt.Println("| logs | requests/s (200 only) | 200s | 409 | 429 | 5xx/errors | p50 | p99 | commits/s | witness CPU per 200 | witness-only capacity on all cores |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|")
	for _, n := range logsList {
		r, err := measure(bin, dir, n, dur)
		if err != nil {
			return err
		}
		per := r.cpu / time.Duration(max(r.ok, 1))
		fmt.Printf("| %d | %.0f | %d | %d | %d | %d | %s | %s | %.0f | %s | %.0f/s |\n", n, float64(r.ok)/r.elapsed.Seconds(), r.ok, r.conflict, r.tooMany, r.failed, r.pct(50), r.pct(99), r.commits/r.elapsed.Seconds(),
			per.Round(time.Microsecond), float64(runtime.NumCPU())/per.Seconds())
	}
	return nil
}

func fsyncRate(dir string) float64 {
	f, err := os.Create(filepath.Join(dir, "fsync-test"))
	if err != nil {
		return 0
	}
	defer os.Remove(f.Name())
	defer f.Close()
	b := make([]byte, 4096)
	n := 0
	start := time.Now()
	for time.Since(start) < 2*time.Second {
		f.Write(b)
		f.Sync()
		n++
	}
	return float64(n) / time.Since(start).Seconds()
}

type result struct {
	ok, conflict, tooMany, failed int
	lat                           []time.Duration
	elapsed                       time.Duration
	commits                       float64
	cpu                           time.Duration // the witness process's CPU time during the load
}

func (r *result) pct(p int) string {
	if len(r.lat) == 0 {
		return "-"
	}
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	return r.lat[len(r.lat)*p/100].Round(10 * time.Microsecond).String()
}

// measure runs nlogs senders against a fresh witness for dur.
func measure(bin, dir string, nlogs int, dur time.Duration) (*result, error) {
	work := filepath.Join(dir, fmt.Sprintf("run-%d", nlogs))
	os.MkdirAll(work, 0o755)
	sk, _, _ := note.GenerateKey(nil, "witness.example/bench", note.TypeCosignatureV1)
	os.WriteFile(filepath.Join(work, "w.key"), []byte(sk+"\n"), 0o600)
	logs := make([]*testlog.Log, nlogs)
	var cfg strings.Builder
	for i := range logs {
		logs[i], _ = testlog.New(fmt.Sprintf("bench.example/log%d", i))
		fmt.Fprintf(&cfg, "log %s\n", logs[i].VKey)
	}
	os.WriteFile(filepath.Join(work, "logs"), []byte(cfg.String()), 0o644)

	// Pre-generate each log's requests so that signing checkpoints does not
	// load the machine during the measurement: sizes grow by 1 to 4, or stay
	// (a re-cosignature, as a log republishes), old is the previous size.
	perLog := max(2000, 60000/nlogs)
	fmt.Fprintf(os.Stderr, "%d logs: preparing %d requests each...\n", nlogs, perLog)
	reqs := make([][][]byte, nlogs)
	var wg sync.WaitGroup
	for i, l := range logs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), 1))
			old := uint64(0)
			for range perLog {
				size := old + uint64(r.IntN(5))
				for l.Size() < size {
					l.Grow(64)
				}
				reqs[i] = append(reqs[i], l.WitnessRequest(old, size))
				old = size
			}
		}()
	}
	wg.Wait()

	p, err := proc.Start(bin, "serve", "--key", filepath.Join(work, "w.key"), "--logs", filepath.Join(work, "logs"),
		"--db", filepath.Join(work, "w.db"), "--listen", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: nlogs + 1}, Timeout: 30 * time.Second}
	commits0 := commitCount(client, p.URL())
	cpu0 := procCPU(p.Cmd.Process.Pid)

	res := &result{}
	var mu sync.Mutex
	start := time.Now()
	deadline := start.Add(dur)
	for i := range logs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			var ok, conflict, tooMany, failed int
			for _, body := range reqs[i] {
				if time.Now().After(deadline) {
					break
				}
				t0 := time.Now()
				resp, err := client.Post(p.URL()+"/add-checkpoint", "text/plain", bytes.NewReader(body))
				if err != nil {
					failed++
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(t0))
				switch {
				case resp.StatusCode == 200:
					ok++
				case resp.StatusCode == 409:
					conflict++
				case resp.StatusCode == 429:
					tooMany++
				default:
					failed++
				}
			}
			mu.Lock()
			res.ok += ok
			res.conflict += conflict
			res.tooMany += tooMany
			res.failed += failed
			res.lat = append(res.lat, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.cpu = procCPU(p.Cmd.Process.Pid) - cpu0
	res.commits = commitCount(client, p.URL()) - commits0
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Stop(ctx); err != nil {
		return nil, fmt.Errorf("witness did not stop cleanly: %w", err)
	}
	return res, nil
}

// commitCount reads the witness's count of durable transactions.
func commitCount(c *http.Client, base string) float64 {
	resp, err := c.Get(base + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "witness_commit_batch_size_count ") {
			var v float64
			fmt.Sscanf(strings.TrimPrefix(line, "witness_commit_batch_size_count "), "%g", &v)
			return v
		}
	}
	return 0
}

// procCPU returns a process's user+system CPU time from /proc (Linux), so
// that the witness's own cost shows apart from the load generator's.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the ")" that ends the command name; utime and stime are
	// the 14th and 15th fields of the whole line.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	if len(f) < 13 {
		return 0
	}
	var ut, st int64
	fmt.Sscan(f[11], &ut)
	fmt.Sscan(f[12], &st)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}
