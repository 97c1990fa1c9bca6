package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"treelog/audit"
	"treelog/demo/mirror"
	"treelog/demo/network"
	"treelog/internal/testkit/script"
	"treelog/note"
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
		"--mirror", "m1=" + srv.URL, "--alert-command", "cat >> " + alerts, "--mirror-lag", "1ms"}
	var out, errb bytes.Buffer
	if code := run(args, &out, &errb, nil); code != 0 {
		t.Fatalf("honest network: exit %d\n%s%s", code, out.String(), errb.String())
	}
	if !regexp.MustCompile(`log\.treelog\.example: [0-9]+ entries verified, 0 open alert\(s\)`).MatchString(out.String()) {
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
	if code != 3 || !strings.Contains(out.String(), "in use by another auditor") {
		t.Errorf("second auditor on the same state: exit %d\n%s", code, out.String())
	}
	out.Reset()
	code = run([]string{"alerts", "--state", state, "close", "0123"}, &out, &out, nil)
	if code != 3 || !strings.Contains(out.String(), "in use by another auditor") {
		t.Errorf("closing an alert under a running auditor: exit %d\n%s", code, out.String())
	}
}

// TestUsage: configuration mistakes are usage errors (exit 2) that name
// the flag or file, found before the state directory is touched: never
// alerts about the auditor's own mistakes.
func TestUsage(t *testing.T) {
	dir := t.TempDir()
	_, vk, _ := note.GenerateKey(nil, "log.example", note.TypeEd25519)
	_, pvk, _ := note.GenerateKey(nil, "pub.example/k", note.TypeEd25519)
	files := map[string]string{
		"policy":        "log " + vk + " http://127.0.0.1:1\nquorum none\n",
		"nolog":         "quorum none\n",
		"nourl":         "log " + vk + "\nquorum none\n",
		"publishers":    "publisher example.org/tree " + pvk + "\n",
		"no-publishers": "# to be filled in\n",
	}
	for name, text := range files {
		os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644)
	}
	f := func(name string) string { return filepath.Join(dir, name) }
	state := filepath.Join(dir, "state")
	good := []string{"--once", "--policy", f("policy"), "--publishers", f("publishers"), "--state", state}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--help"}, 0, "split view"},
		{nil, 2, "--policy, and --publishers or --trust-root, are required"},
		{[]string{"--policy", "x", "--publishers", "y"}, 2, "--policy"},
		{[]string{"--nope"}, 2, "unknown flag"},
		{[]string{"--once", "--policy", f("policy"), "--publishers", f("no-publishers"), "--state", state}, 2,
			"auditor: --publishers: publishers file " + f("no-publishers") + " lists no publisher"},
		{[]string{"--once", "--policy", f("nolog"), "--publishers", f("publishers"), "--state", state}, 2, "names no log"},
		{[]string{"--once", "--policy", f("nourl"), "--publishers", f("publishers"), "--state", state}, 2, "no URL for log log.example: give --log-url"},
		{append(good, "--mirror", "old=127.0.0.1:7395"), 2, `auditor: --mirror old: URL "127.0.0.1:7395" is not an http:// or https:// URL with a host`},
		{append(good, "--mirror", "127.0.0.1:7395"), 2, `--mirror "127.0.0.1:7395": want NAME=URL`},
		{append(good, "--log-url", "127.0.0.1:7370"), 2, `auditor: --log-url: URL "127.0.0.1:7370" is not an http:// or https:// URL`},
		{append(good, "--peer", "auditor.example"), 2, "auditor: --peer: URL"},
		{append(good, "--alert-webhook", "hooks.example/x"), 2, "auditor: --alert-webhook: URL"},
		{append(good, "--mirror", "a=http://x", "--mirror", "a=http://y"), 2, "each mirror needs a name of its own"},
		{append(good, "--log-origin", "other.example"), 2, `--log-origin "other.example" is not a log of the policy`},
	} {
		var out bytes.Buffer
		if code := run(tc.args, &out, &out, nil); code != tc.code || !strings.Contains(out.String(), tc.want) {
			t.Errorf("auditor %v: %d %q", tc.args, code, out.String())
		}
		if _, err := os.Stat(state); err == nil {
			t.Fatalf("auditor %v created its state directory before failing", tc.args)
		}
	}
}

// TestOutage: a log that cannot be reached is "could not check" (exit 4),
// an unreachable alert of its own, never counted as an alert of
// misbehavior; the status page's /alerts.json is a list, never null.
func TestOutage(t *testing.T) {
	dir := t.TempDir()
	dead := script.DeadURL(t)
	_, vk, _ := note.GenerateKey(nil, "log.example", note.TypeEd25519)
	_, pvk, _ := note.GenerateKey(nil, "pub.example/k", note.TypeEd25519)
	os.WriteFile(filepath.Join(dir, "policy"), []byte("log "+vk+" "+dead+"\nquorum none\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "publishers"), []byte("publisher example.org/tree "+pvk+"\n"), 0o644)
	var out bytes.Buffer
	code := run([]string{"--once", "--policy", filepath.Join(dir, "policy"), "--publishers", filepath.Join(dir, "publishers"), "--state", filepath.Join(dir, "state")}, &out, &out, nil)
	if code != 4 || !strings.Contains(out.String(), "ALERT unreachable: cannot read the log's checkpoint: ") ||
		!strings.Contains(out.String(), "connection refused") || !strings.Contains(out.String(), "0 open alert(s); 1 vantage point(s) could not be read") {
		t.Errorf("log down: exit %d\n%s", code, out.String())
	}

	pol, _ := policy.Parse([]byte("log " + vk + " " + dead + "\nquorum none\n"))
	pubs, _ := trust.ParsePublishers([]byte("publisher example.org/tree " + pvk + "\n"))
	a, err := audit.New(audit.Config{Policy: pol, Publishers: pubs, StateDir: filepath.Join(dir, "state2"), Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/alerts.json")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.TrimSpace(string(b)) != "[]" {
		t.Errorf("/alerts.json with no alert: %q, want []", b)
	}
}
