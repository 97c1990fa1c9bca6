package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"treelog/internal/testkit/proc"
	"treelog/internal/testkit/testlog"
	"treelog/note"
)

// The daemon as an operator runs it: flags and a --config file, SIGHUP to
// add a log (a changed key in the file is not applied), operator commands,
// /metrics, and a graceful SIGTERM.
func TestDaemon(t *testing.T) {
	dir := t.TempDir()
	bin, err := proc.Build("treelog/cmd/witness", dir)
	if err != nil {
		t.Fatal(err)
	}
	sk, _, _ := note.GenerateKey(nil, "witness.example/w", note.TypeCosignatureV1)
	write(t, dir, "w.key", sk+"\n")
	a, _ := testlog.New("example.org/a")
	b, _ := testlog.New("example.org/b")
	a.Grow(10)
	b.Grow(10)
	write(t, dir, "logs", "# the logs I witness\nlog "+a.VKey+"\n")
	db := filepath.Join(dir, "w.db")
	write(t, dir, "witness.conf", "# witness settings\nkey "+filepath.Join(dir, "w.key")+"\nlogs = "+filepath.Join(dir, "logs")+"\ndb "+db+"\nlisten 127.0.0.1:1\n")
	// The command line wins over the file (listen).
	p, err := proc.Start(bin, "serve", "--config", filepath.Join(dir, "witness.conf"), "--listen", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	if code := post(t, p.URL(), a.WitnessRequest(0, 5)); code != 200 {
		t.Fatalf("log a: %d", code)
	}
	if code := post(t, p.URL(), b.WitnessRequest(0, 5)); code != 404 {
		t.Fatalf("log b before reload: %d", code)
	}
	// Add b; try to change a's key in the file: b is added, a keeps its key.
	a2, _ := testlog.New("example.org/a")
	write(t, dir, "logs", "log "+a2.VKey+"\nlog "+b.VKey+"\n")
	p.Cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, func() bool { return post(t, p.URL(), b.WitnessRequest(0, 5)) == 200 })
	if !strings.Contains(p.Logs(), "configuration not applied") || !strings.Contains(p.Logs(), "key differs from the pinned key") {
		t.Errorf("a changed key was not reported:\n%s", p.Logs())
	}
	if code := post(t, p.URL(), a.WitnessRequest(5, 10)); code != 200 {
		t.Errorf("log a with its pinned key after reload: %d", code)
	}
	resp, err := http.Get(p.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(m, []byte(`witness_add_checkpoint_requests_total{code="200"} 3`)) || !bytes.Contains(m, []byte("witness_logs 2")) {
		t.Errorf("metrics:\n%s", m)
	}
	// Operator: disable b (kept state), then SIGHUP.
	out, code := runCmd(t, "logs", "--db", db, "disable", "example.org/b")
	if code != 0 || !strings.Contains(out, "send SIGHUP") {
		t.Fatalf("logs disable: %d %s", code, out)
	}
	p.Cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, func() bool { return post(t, p.URL(), b.WitnessRequest(5, 10)) == 404 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Stop(ctx); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, p.Logs())
	}
	if !strings.Contains(p.Logs(), "msg=stopped") {
		t.Errorf("no graceful stop in the log:\n%s", p.Logs())
	}
	out, _ = runCmd(t, "logs", "--db", db, "list")
	if !strings.Contains(out, "example.org/a\n  key "+a.VKey+"\n  size 10") || !strings.Contains(out, "example.org/b DISABLED") {
		t.Errorf("logs list:\n%s", out)
	}
	if out, code := runCmd(t, "logs", "--db", db, "remove", "example.org/b"); code != 2 || !strings.Contains(out, "--forget-state") {
		t.Errorf("remove without --forget-state: %d %s", code, out)
	}
	if out, code := runCmd(t, "logs", "--db", db, "rekey", "example.org/a", b.VKey); code != 1 || !strings.Contains(out, "not an Ed25519 key named") {
		t.Errorf("rekey with another origin's key: %d %s", code, out)
	}
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "Commands:"},
		{[]string{"--help"}, 0, "serve"},
		{[]string{"serve", "--help"}, 0, "pins that key"},
		{[]string{"serve"}, 2, "--key and --logs are required"},
		{[]string{"serve", "--nope"}, 2, "unknown flag"},
		{[]string{"logs"}, 2, "want list"},
		{[]string{"frob"}, 2, "unknown command"},
	} {
		out, code := runCmd(t, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.want) {
			t.Errorf("witness %v: %d %q, want %d containing %q", tc.args, code, out, tc.code, tc.want)
		}
	}
}

// TestNoStrayDatabase: reading or editing a database that is not there is
// a mistaken --db, named, and creates nothing; serve with a port in use
// creates no database either.
func TestNoStrayDatabase(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	for _, args := range [][]string{{"logs", "--db", missing, "list"}, {"logs", "--db", missing, "disable", "x"}, {"evidence", "--db", missing}} {
		out, code := runCmd(t, args...)
		if code != 2 || !strings.Contains(out, "--db "+missing+": ") || !strings.Contains(out, "created by 'witness serve'") {
			t.Errorf("witness %v: %d %q", args, code, out)
		}
		if _, err := os.Stat(missing); err == nil {
			t.Fatalf("witness %v created %s", args, missing)
		}
	}
	sk, _, _ := note.GenerateKey(nil, "witness.example/w", note.TypeCosignatureV1)
	write(t, dir, "w.key", sk)
	write(t, dir, "logs", "")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	out, code := runCmd(t, "serve", "--key", filepath.Join(dir, "w.key"), "--logs", filepath.Join(dir, "logs"), "--db", missing, "--listen", busy.Addr().String())
	if code != 2 || !strings.Contains(out, "--listen") {
		t.Errorf("serve on a busy port: %d %q", code, out)
	}
	write(t, dir, "badlogs", "log not-a-key\n")
	out, code = runCmd(t, "serve", "--key", filepath.Join(dir, "w.key"), "--logs", filepath.Join(dir, "badlogs"), "--db", missing, "--listen", "127.0.0.1:0")
	if code != 2 || !strings.Contains(out, "witness serve: --logs "+filepath.Join(dir, "badlogs")+": log list: line 1") {
		t.Errorf("serve with a bad --logs: %d %q", code, out)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Fatal("serve on a busy port created its database")
	}
}

func runCmd(t *testing.T, args ...string) (string, int) {
	var out bytes.Buffer
	code := run(args, &out, &out)
	return out.String(), code
}

func write(t *testing.T, dir, name, content string) {
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func post(t *testing.T, base string, body []byte) int {
	resp, err := http.Post(base+"/add-checkpoint", "text/plain", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 100 {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal(fmt.Errorf("condition not met in 5s"))
}
