package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"treelog/audit"
	"treelog/demo/mirror"
	"treelog/demo/network"
	"treelog/policy"
	"treelog/trust"
)

// The auditor as cron or CI runs it: --once, exit status, alert command.
func TestOnce(t *testing.T) {
	dir := t.TempDir()
	n, err := network.Start(context.Background(), filepath.Join(dir, "net"), network.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	snaps, err := n.PublishHistory(context.Background(), dir, 20, 2, time.Now().Add(-10*time.Minute), 3*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	m := mirror.NewServer(snaps[1].Dir)
	srv := httptest.NewServer(m)
	defer srv.Close()
	alerts := filepath.Join(dir, "alerts.log")
	args := []string{"--once", "--policy", n.PolicyFile, "--publishers", n.PublishersFile, "--state", filepath.Join(dir, "state"),
		"--mirror", "m1=" + srv.URL, "--alert-command", "cat >> " + alerts}
	var out, errb bytes.Buffer
	if code := run(args, &out, &errb, nil); code != 0 {
		t.Fatalf("honest network: exit %d\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "log.treelog.example: 2 entries verified, 0 open alert(s)") {
		t.Errorf("output: %s", out.String())
	}
	// The mirror replays the older snapshot: exit 1, the alert printed and
	// sent to the command.
	m.SetDir(snaps[0].Dir)
	out.Reset()
	if code := run(args, &out, &errb, nil); code != 1 {
		t.Fatalf("replaying mirror: exit %d\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "ALERT mirror-replay: mirror m1 replays an old snapshot") {
		t.Errorf("output: %s", out.String())
	}
	// --once waits for the alert command before it exits.
	if b, _ := os.ReadFile(alerts); !bytes.Contains(b, []byte(`"kind":"mirror-replay"`)) {
		t.Fatalf("the alert command did not receive the alert: %q", b)
	}

	// The operator lists the alerts and closes the one dealt with.
	state := filepath.Join(dir, "state")
	out.Reset()
	if code := run([]string{"alerts", "--state", state}, &out, &errb, nil); code != 0 || !strings.Contains(out.String(), "OPEN") {
		t.Fatalf("alerts: exit %d\n%s%s", code, out.String(), errb.String())
	}
	id, _, _ := strings.Cut(out.String(), " ")
	out.Reset()
	if code := run([]string{"alerts", "--state", state, "close", id}, &out, &errb, nil); code != 0 || !strings.Contains(out.String(), "closed "+id+" mirror-replay") {
		t.Fatalf("alerts close: exit %d\n%s%s", code, out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	if code := run([]string{"alerts", "--state", state, "close", id}, &out, &errb, nil); code != 1 || !strings.Contains(errb.String(), "no open alert") {
		t.Fatalf("closing a closed alert: exit %d\n%s%s", code, out.String(), errb.String())
	}
	out.Reset()
	run([]string{"alerts", "--state", state}, &out, &errb, nil)
	if !strings.Contains(out.String(), id+" closed") {
		t.Fatalf("alerts after close:\n%s", out.String())
	}
}

// One state directory, one auditor: a second is refused while the first
// runs, and so is closing an alert under it.
func TestStateLocked(t *testing.T) {
	dir := t.TempDir()
	n, err := network.Start(context.Background(), filepath.Join(dir, "net"), network.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	state := filepath.Join(dir, "state")
	pol, err := policy.Parse([]byte(fmt.Sprintf("log %s %s\nquorum none\n", n.LogVKey, n.LogURL)))
	if err != nil {
		t.Fatal(err)
	}
	pubs, _ := trust.ParsePublishers([]byte("publisher example.org/tree " + n.PublisherVKey + "\n"))
	first, err := audit.New(audit.Config{Policy: pol, Publishers: pubs, StateDir: state, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	var out bytes.Buffer
	code := run([]string{"--once", "--policy", n.PolicyFile, "--publishers", n.PublishersFile, "--state", state}, &out, &out, nil)
	if code != 1 || !strings.Contains(out.String(), "in use by another auditor") {
		t.Errorf("second auditor on the same state: exit %d\n%s", code, out.String())
	}
	out.Reset()
	code = run([]string{"alerts", "--state", state, "close", "0123"}, &out, &out, nil)
	if code != 1 || !strings.Contains(out.String(), "in use by another auditor") {
		t.Errorf("closing an alert under a running auditor: exit %d\n%s", code, out.String())
	}
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--help"}, 0, "split view"},
		{nil, 2, "--policy, and --publishers or --trust-root, are required"},
		{[]string{"--policy", "x", "--publishers", "y"}, 2, "--policy"},
		{[]string{"--nope"}, 2, "unknown flag"},
	} {
		var out bytes.Buffer
		if code := run(tc.args, &out, &out, nil); code != tc.code || !strings.Contains(out.String(), tc.want) {
			t.Errorf("auditor %v: %d %q", tc.args, code, out.String())
		}
	}
}
