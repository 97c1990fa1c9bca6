// Command logbench measures the log server's write path side by side with
// tessera's own POSIX conformance server, in one run: entries per second
// accepted, and the time from POST to a published checkpoint that covers
// the entry (p50, p99). The load generator pre-signs MetaManifests (many
// origins, TIMESTAMPs increasing per origin) and POSTs them concurrently,
// one request in flight per origin. Configurations: tessera (accepts any
// bytes), logserver on POSIX without witnesses (with its index and without),
// with three local witnesses
// (2 of 3), and on S3+MySQL (MinIO and MariaDB) with 1 and 2 processes.
// Run it with bench/log.sh.
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"treelog/internal/testkit/proc"
	"treelog/internal/testkit/services"
	"treelog/internal/untrusted"
	"treelog/manifest"
	"treelog/metamanifest"
	"treelog/note"
)

func main() {
	dur := pflag.Duration("duration", 10*time.Second, "load time per configuration")
	origins := pflag.Int("origins", 1024, "concurrent origins (one request in flight each)")
	tessera := pflag.String("tessera", "", "path of tessera's conformance POSIX server (go install github.com/transparency-dev/tessera/cmd/conformance/posix@v1.0.4); default: $(go env GOPATH)/bin/posix")
	s3 := pflag.Bool("s3", true, "also measure S3+MySQL storage (needs minio and mariadbd)")
	pflag.Parse()
	if *tessera == "" {
		*tessera = filepath.Join(os.Getenv("HOME"), "go", "bin", "posix")
	}
	if err := run(*dur, *origins, *tessera, *s3); err != nil {
		fmt.Fprintln(os.Stderr, "logbench:", err)
		os.Exit(1)
	}
}

type setup struct {
	dir   string
	logSK string
	logVK string
	pub   note.Signer
	pubVK string
}

func run(dur time.Duration, norigins int, tesseraBin string, withS3 bool) error {
	dir, err := os.MkdirTemp(".", "logbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st := &setup{dir: dir}
	st.logSK, st.logVK, _ = note.GenerateKey(nil, "bench.treelog.example", note.TypeEd25519)
	var psk string
	psk, st.pubVK, _ = note.GenerateKey(nil, "publisher.example/bench", note.TypeEd25519)
	st.pub, _ = note.NewSigner(psk)
	os.WriteFile(filepath.Join(dir, "log.key"), []byte(st.logSK+"\n"), 0o600)
	var pubs strings.Builder
	for o := range norigins {
		fmt.Fprintf(&pubs, "publisher bench.example/o%d %s\n", o, st.pubVK)
	}
	os.WriteFile(filepath.Join(dir, "publishers"), []byte(pubs.String()), 0o644)

	// Enough pre-signed entries per origin for the run.
	perOrigin := 150
	fmt.Fprintf(os.Stderr, "signing %d MetaManifests...\n", perOrigin*norigins)
	entries := make([][][]byte, norigins)
	var wg sync.WaitGroup
	for o := range norigins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			for i := range perOrigin {
				m := &metamanifest.MetaManifest{Origin: fmt.Sprintf("bench.example/o%d", o), Timestamp: t0.Add(time.Duration(i) * time.Minute),
					ManifestSize: 1000, ManifestHashes: manifest.HashBytes([]byte(fmt.Sprint(o, i)), metamanifest.Hashes)}
				b, _ := metamanifest.Sign(m, st.pub)
				entries[o] = append(entries[o], b)
			}
		}()
	}
	wg.Wait()

	logBin, err := proc.Build("treelog/cmd/logserver", dir)
	if err != nil {
		return err
	}
	witnessBin, err := proc.Build("treelog/cmd/witness", dir)
	if err != nil {
		return err
	}
	fmt.Printf("machine: %d CPUs, %s; load generator, log and witnesses on the same machine; %d origins, %s per configuration\n\n", runtime.NumCPU(), runtime.Version(), norigins, dur)
	fmt.Println("| configuration | entries/s | vs tessera | entries | errors | POST→published p50 | p99 |")
	fmt.Println("|---|---|---|---|---|---|---|")
	var base float64
	report := func(name string, r *result) {
		rate := float64(r.ok) / r.elapsed.Seconds()
		if base == 0 {
			base = rate
		}
		fmt.Printf("| %s | %.0f | %.2fx | %d | %d | %s | %s |\n", name, rate, rate/base, r.ok, r.errors, r.pct(50), r.pct(99))
	}

	// 1. tessera's conformance server: the anchor.
	port, err := services.FreePort()
	if err != nil {
		return err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p, err := proc.StartAt(tesseraBin, []string{"LOG_PRIVATE_KEY=" + st.logSK}, addr, "--storage_dir", filepath.Join(dir, "tessera"), "--listen", addr)
	if err != nil {
		return fmt.Errorf("tessera's conformance server: %w", err)
	}
	r, err := load([]string{p.URL()}, entries, dur)
	p.Kill()
	if err != nil {
		return err
	}
	report("tessera conformance/posix (any bytes, no witnesses)", r)

	common := []string{"--key", filepath.Join(dir, "log.key"), "--publishers", filepath.Join(dir, "publishers"), "--listen", "127.0.0.1:0"}
	// 2. logserver, POSIX, no witnesses.
	r, err = runLogs(logBin, 1, append(common, "--storage", filepath.Join(dir, "posix")), entries, dur)
	if err != nil {
		return err
	}
	report("logserver POSIX, no witnesses", r)

	// 2b. the same without the index (what the index costs the writes).
	r, err = runLogs(logBin, 1, append(common, "--storage", filepath.Join(dir, "posix-noindex"), "--index-interval", "0"), entries, dur)
	if err != nil {
		return err
	}
	report("logserver POSIX, no witnesses, no index (`--index-interval 0`)", r)

	// 3. logserver, POSIX, three local witnesses.
	wp, stop, err := startWitnesses(witnessBin, st, 3)
	if err != nil {
		return err
	}
	r, err = runLogs(logBin, 1, append(common, "--storage", filepath.Join(dir, "posix-w"), "--witness-policy", wp), entries, dur)
	stop()
	if err != nil {
		return err
	}
	report("logserver POSIX, 3 local witnesses (2 of 3)", r)

	if !withS3 {
		return nil
	}
	for _, n := range []int{1, 2} {
		db, err := services.StartMariaDB(filepath.Join(dir, fmt.Sprintf("mariadb%d", n)))
		if err != nil {
			return err
		}
		s3, err := services.StartMinIO(filepath.Join(dir, fmt.Sprintf("minio%d", n)))
		if err != nil {
			db.Stop()
			return err
		}
		s3.CreateBucket(context.Background(), "treelog")
		wp, stop, err := startWitnesses(witnessBin, st, 3)
		if err != nil {
			return err
		}
		r, err = runLogs(logBin, n, append(common, "--witness-policy", wp, "--s3-bucket", "treelog", "--s3-endpoint", s3.Endpoint,
			"--s3-access-key", s3.AccessKey, "--s3-secret-key", s3.SecretKey, "--mysql-dsn", db.DSN), entries, dur)
		stop()
		s3.Stop()
		db.Stop()
		if err != nil {
			return err
		}
		report(fmt.Sprintf("logserver S3+MySQL, %d process(es), 3 local witnesses", n), r)
	}
	return nil
}

// runLogs starts n logserver processes with args and loads them.
func runLogs(bin string, n int, args []string, entries [][][]byte, dur time.Duration) (*result, error) {
	var urls []string
	var procs []*proc.Proc
	defer func() {
		for _, p := range procs {
			p.Kill()
		}
	}()
	for range n {
		p, err := proc.Start(bin, args...)
		if err != nil {
			return nil, err
		}
		procs = append(procs, p)
		urls = append(urls, p.URL())
	}
	return load(urls, entries, dur)
}

// startWitnesses starts n witness daemons for the log and writes a policy.
func startWitnesses(bin string, st *setup, n int) (string, func(), error) {
	var procs []*proc.Proc
	stop := func() {
		for _, p := range procs {
			p.Kill()
		}
	}
	var pol strings.Builder
	var names []string
	wdir, _ := os.MkdirTemp(st.dir, "witnesses-")
	os.WriteFile(filepath.Join(wdir, "logs"), []byte("log "+st.logVK+"\n"), 0o644)
	for i := range n {
		sk, vk, _ := note.GenerateKey(nil, fmt.Sprintf("w%d.bench.example", i), note.TypeCosignatureV1)
		kf := filepath.Join(wdir, fmt.Sprintf("w%d.key", i))
		os.WriteFile(kf, []byte(sk+"\n"), 0o600)
		p, err := proc.Start(bin, "serve", "--key", kf, "--logs", filepath.Join(wdir, "logs"), "--db", filepath.Join(wdir, fmt.Sprintf("w%d.db", i)), "--listen", "127.0.0.1:0")
		if err != nil {
			stop()
			return "", nil, err
		}
		procs = append(procs, p)
		fmt.Fprintf(&pol, "witness w%d %s %s\n", i, vk, p.URL())
		names = append(names, fmt.Sprintf("w%d", i))
	}
	fmt.Fprintf(&pol, "group q %d %s\nquorum q\n", n/2+1, strings.Join(names, " "))
	f := filepath.Join(wdir, "policy")
	return f, stop, os.WriteFile(f, []byte(pol.String()), 0o644)
}

type result struct {
	ok, errors int
	lat        []time.Duration
	elapsed    time.Duration
}

func (r *result) pct(p int) string {
	if len(r.lat) == 0 {
		return "-"
	}
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	return r.lat[min(len(r.lat)-1, len(r.lat)*p/100)].Round(time.Millisecond).String()
}

// load POSTs each origin's entries in order (one in flight per origin,
// spread over the URLs) for dur, and times each acknowledged entry until a
// checkpoint covering it is published.
func load(urls []string, entries [][][]byte, dur time.Duration) (*result, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: len(entries) + 4}, Timeout: time.Minute}
	type sent struct {
		index uint64
		at    time.Time
	}
	var mu sync.Mutex
	var pending []sent
	res := &result{}
	stopWatch := make(chan struct{})
	watchDone := make(chan struct{})
	var lastSize uint64
	go func() {
		defer close(watchDone)
		for {
			select {
			case <-stopWatch:
				return
			case <-time.After(20 * time.Millisecond):
			}
			size, err := checkpointSize(client, urls[0])
			if err != nil || size <= lastSize {
				continue
			}
			lastSize = size
			now := time.Now()
			mu.Lock()
			kept := pending[:0]
			for _, s := range pending {
				if s.index < size {
					res.lat = append(res.lat, now.Sub(s.at))
				} else {
					kept = append(kept, s)
				}
			}
			pending = kept
			mu.Unlock()
		}
	}()
	start := time.Now()
	deadline := start.Add(dur)
	var wg sync.WaitGroup
	for o, es := range entries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := urls[o%len(urls)] + "/add"
			for _, e := range es {
				if time.Now().After(deadline) {
					return
				}
				t0 := time.Now()
				resp, err := client.Post(u, "text/plain", bytes.NewReader(e))
				if err != nil {
					mu.Lock()
					res.errors++
					mu.Unlock()
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				idx, perr := strconv.ParseUint(strings.TrimPrefix(strings.SplitN(strings.TrimSpace(string(body)), "\n", 2)[0], "index "), 10, 64)
				mu.Lock()
				if resp.StatusCode != 200 || perr != nil {
					if res.errors < 3 {
						fmt.Fprintf(os.Stderr, "%s: %s %s\n", u, resp.Status, strings.TrimSpace(string(body)))
					}
					res.errors++
				} else {
					res.ok++
					pending = append(pending, sent{idx, t0})
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	// Let the last entries be published before stopping the watch.
	for range 300 {
		mu.Lock()
		n := len(pending)
		mu.Unlock()
		if n == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(stopWatch)
	<-watchDone
	return res, nil
}

func checkpointSize(c *http.Client, base string) (uint64, error) {
	resp, err := c.Get(base + "/checkpoint")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	lines := strings.SplitN(string(b), "\n", 3)
	if len(lines) < 2 {
		return 0, fmt.Errorf("bad checkpoint")
	}
	return untrusted.ParseDecimal(lines[1])
}
