// Package load drives a server's benchmarks: concurrent clients, each
// posting its own prepared requests in order, one in flight at a time.
package load

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
)

// PostAll posts bodies[i] to url from client i, one request in flight per
// client, until b.N requests are made in all (each client stops at the end
// of its own slice). A request that fails or answers other than 200 fails
// the benchmark, after all clients have stopped.
func PostAll(b *testing.B, url string, bodies [][][]byte) {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: len(bodies)}}
	defer client.CloseIdleConnections()
	var failed atomic.Int64
	var wg sync.WaitGroup
	per := 0
	if len(bodies) > 0 {
		per = len(bodies[0])
	}
	b.ResetTimer()
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < len(bodies[i]) && i*per+j < b.N+len(bodies); j++ {
				resp, err := client.Post(url, "text/plain", bytes.NewReader(bodies[i][j]))
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d requests failed", n)
	}
}
