package main

import (
	"net"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"treelog/internal/testkit/proc"
	"treelog/internal/testkit/testlog"
	"treelog/note"
)

// TestSlowClients holds slow-loris connections open against the real
// daemon (headers a byte at a time, a body that trickles, connections that
// say nothing) while an honest log keeps getting cosignatures; then the
// daemon drops every slow connection by itself.
func TestSlowClients(t *testing.T) {
	dir := t.TempDir()
	bin, err := proc.Build("treelog/cmd/witness", dir)
	if err != nil {
		t.Fatal(err)
	}
	sk, _, _ := note.GenerateKey(nil, "witness.example/w", note.TypeCosignatureV1)
	write(t, dir, "w.key", sk+"\n")
	lg, _ := testlog.New("example.org/a")
	write(t, dir, "logs", "log "+lg.VKey+"\n")
	p, err := proc.Start(bin, "serve", "--key", filepath.Join(dir, "w.key"), "--logs", filepath.Join(dir, "logs"),
		"--db", filepath.Join(dir, "w.db"), "--listen", "127.0.0.1:0",
		"--read-header-timeout", "1s", "--read-timeout", "2s", "--write-timeout", "2s", "--idle-timeout", "2s")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	u, _ := url.Parse(p.URL())

	// Each slow client writes its part a byte every 100ms until the
	// daemon cuts it off, and reports when that happened.
	kinds := map[string]string{
		"slow headers": "POST /add-checkpoint HTTP/1.1\r\nHost: w\r\nX-Padding: " + string(make([]byte, 1000)),
		"slow body":    "POST /add-checkpoint HTTP/1.1\r\nHost: w\r\nContent-Length: 10000\r\n\r\n" + string(make([]byte, 10000)),
		"silent":       "",
	}
	var wg sync.WaitGroup
	cut := make(chan string, 300)
	for kind, msg := range kinds {
		for range 60 {
			c, err := net.Dial("tcp", u.Host)
			if err != nil {
				t.Fatalf("%s: %v", kind, err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				deadline := time.Now().Add(30 * time.Second)
				for i := 0; time.Now().Before(deadline); i++ {
					if i < len(msg) {
						c.SetWriteDeadline(time.Now().Add(time.Second))
						if _, err := c.Write([]byte{msg[i]}); err != nil {
							cut <- kind
							return
						}
					}
					c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
					var b [512]byte
					if _, err := c.Read(b[:]); err != nil && !isTimeout(err) {
						cut <- kind
						return
					}
				}
				cut <- kind + " (never cut)"
			}()
		}
	}

	// Meanwhile, an honest log is cosigned as usual.
	for i := range 20 {
		lg.Grow(1)
		if code := post(t, p.URL(), lg.WitnessRequest(uint64(i), uint64(i+1))); code != 200 {
			t.Fatalf("honest request %d while 180 slow clients hold connections: %d", i, code)
		}
	}
	wg.Wait()
	close(cut)
	got := map[string]int{}
	for k := range cut {
		got[k]++
	}
	for kind := range kinds {
		if got[kind] != 60 {
			t.Errorf("%s: %d of 60 connections cut by the daemon (%v)", kind, got[kind], got)
		}
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
