//go:build browser

package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"treelog/demo/mirror"
	"treelog/demo/network"
	"treelog/internal/testkit/proc"
)

// TestBrowserStatusPage loads the auditor's status page in a real headless
// Chromium (Debian's chromium; .ci/run installs it) while one mirror is
// frozen on an old snapshot and another is current, and checks what a
// person sees: one open alert naming the frozen mirror, the log's size,
// every witness with a recent cosignature, and both mirrors with the lag
// marked on the frozen one only. Run by scripts/heavy.
func TestBrowserStatusPage(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("this test needs Debian's chromium (apt-get install chromium): %v", err)
	}
	dir := t.TempDir()
	ctx := context.Background()
	// No index: the page's sizes below count the two snapshots alone.
	n, err := network.Start(ctx, filepath.Join(dir, "net"), network.Options{IndexInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	snaps, err := n.PublishHistory(ctx, dir, 20, 2, time.Now().Add(-time.Minute), 3*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	frozen := httptest.NewServer(mirror.NewServer(snaps[0].Dir))
	defer frozen.Close()
	current := httptest.NewServer(mirror.NewServer(snaps[1].Dir))
	defer current.Close()

	bin, err := proc.Build("treelog/cmd/auditor", dir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := proc.Start(bin, "--policy", n.PolicyFile, "--publishers", n.PublishersFile, "--state", filepath.Join(dir, "state"),
		"--mirror", "old-mirror="+frozen.URL, "--mirror", "good-mirror="+current.URL, "--interval", "1h", "--listen", "127.0.0.1:0",
		// Snapshot 1 was logged seconds ago: allow no lag at all, so that
		// the mirror still on snapshot 0 is frozen.
		"--mirror-lag", "1ms")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := p.Stop(sctx); err != nil {
			t.Errorf("auditor did not stop on SIGTERM: %v\n%s", err, p.Logs())
		}
	}()
	waitPass(t, p)

	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(dir, "chromium"), "--dump-dom", p.URL()+"/")
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd = exec.CommandContext(cctx, cmd.Path, cmd.Args[1:]...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	doc, err := html.Parse(strings.NewReader(string(out)))
	if err != nil {
		t.Fatal(err)
	}

	if got := text(byID(doc, "alert-count")); got != "1" {
		t.Errorf("open alerts shown: %q, want 1\n%s", got, out)
	}
	alerts := findAll(doc, func(n *html.Node) bool { return attr(n, "class") == "alert" })
	if len(alerts) != 1 || attr(alerts[0], "data-kind") != "mirror-freeze" || !strings.Contains(text(alerts[0]), "mirror old-mirror is frozen") {
		t.Errorf("alerts shown: %d, want one mirror-freeze alert naming old-mirror", len(alerts))
		for _, a := range alerts {
			t.Logf("alert: %s", text(a))
		}
	}
	if got := text(byID(doc, "log-size")); got != "2" {
		t.Errorf("log size shown: %q, want 2", got)
	}
	if got := text(byID(doc, "log-scanned")); got != "2" {
		t.Errorf("entries verified shown: %q, want 2", got)
	}
	if got := text(byID(doc, "log-age")); !strings.HasSuffix(got, " ago") {
		t.Errorf("quorum age shown: %q", got)
	}
	wrows := rows(byID(doc, "witnesses"))
	if len(wrows) != len(n.Witnesses) {
		t.Fatalf("witness rows: %d, want %d", len(wrows), len(n.Witnesses))
	}
	// The log needs only 2 of 3 cosignatures, so one witness may still be
	// at size 1: behind, yet consistent, which is no problem.
	atSize2 := 0
	for i, r := range wrows {
		if r[0] != n.Witnesses[i].Name || (r[1] != "1" && r[1] != "2") || !strings.HasSuffix(r[2], " ago") || r[3] != "" {
			t.Errorf("witness row %d: %q, want %s at size 1 or 2 cosigned recently, no problem", i, r, n.Witnesses[i].Name)
		}
		if r[1] == "2" {
			atSize2++
		}
	}
	if atSize2 < 2 {
		t.Errorf("%d witnesses shown at the log's size 2, want at least the quorum, 2", atSize2)
	}
	mrows := map[string][]string{}
	for _, r := range rows(byID(doc, "mirrors")) {
		mrows[r[0]] = r
	}
	if r := mrows["old-mirror"]; len(r) != 7 || r[1] != "example.org/tree" || !strings.HasSuffix(r[4], "s") || r[5] != "16" {
		t.Errorf("old-mirror row: %q, want a lag of seconds (snapshot 1 was logged seconds ago) and 16 files checked", r)
	}
	if r := mrows["good-mirror"]; len(r) != 7 || r[4] != "-" || r[5] != "16" || r[6] != "" {
		t.Errorf("good-mirror row: %q, want no lag, 16 files checked and no problem", r)
	}
}

// waitPass waits until the auditor has finished a pass.
func waitPass(t *testing.T, p *proc.Proc) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.URL() + "/status.json")
		if err == nil {
			var st struct {
				Finished time.Time `json:"finished"`
			}
			json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if !st.Finished.IsZero() {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the auditor did not finish a pass in 60s:\n%s", p.Logs())
}

func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for c := range n.Descendants() {
		if c.Type == html.ElementNode && match(c) {
			out = append(out, c)
		}
	}
	return out
}

func byID(doc *html.Node, id string) *html.Node {
	if m := findAll(doc, func(n *html.Node) bool { return attr(n, "id") == id }); len(m) == 1 {
		return m[0]
	}
	return &html.Node{Type: html.ElementNode}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func text(n *html.Node) string {
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return strings.TrimSpace(b.String())
}

// rows returns the cells' text of a table's rows after its header.
func rows(table *html.Node) [][]string {
	var out [][]string
	for _, tr := range findAll(table, func(n *html.Node) bool { return n.Data == "tr" }) {
		tds := findAll(tr, func(n *html.Node) bool { return n.Data == "td" })
		if len(tds) == 0 {
			continue
		}
		var r []string
		for _, td := range tds {
			r = append(r, text(td))
		}
		out = append(out, r)
	}
	return out
}
