package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"treelog/demo/mirror"
	"treelog/demo/network"
	"treelog/internal/testkit/hostile"
	"treelog/internal/testkit/proc"
	"treelog/metamanifest"
)

// TestHostileBytes: attacker bytes (terminal escapes, a bidi override,
// C1 controls, invalid UTF-8) in every field a hostile MetaManifest,
// proof, log checkpoint, tile or HTTP answer can carry reach no output
// of `treelog verify` raw: not its verdict, not -v, not --json. And a
// 2 GB top-level Manifest is refused by its size, unread.
func TestHostileBytes(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	n, err := network.Start(ctx, filepath.Join(dir, "net"), network.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	snaps, err := n.PublishHistory(ctx, filepath.Join(dir, "pub"), 3, 1, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := proc.Build("treelog/cmd/treelog", dir)
	if err != nil {
		t.Fatal(err)
	}
	const H = hostile.Bytes
	lines := func(p string, edit func([]string) []string) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(p, []byte(strings.Join(edit(strings.Split(string(b), "\n")), "\n")), 0o644)
	}
	mm := func(d string) string { p, _ := metamanifest.Paths(d); return p }
	pf := func(d string) string { _, p := metamanifest.Paths(d); return p }
	// find returns the index of the first line with prefix.
	find := func(ls []string, prefix string) int {
		for i, l := range ls {
			if strings.HasPrefix(l, prefix) {
				return i
			}
		}
		t.Fatalf("no line %q in %q", prefix, ls)
		return -1
	}
	serve := func(h http.HandlerFunc) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	logFiles := http.FileServer(http.Dir(filepath.Join(n.Dir, "log")))
	for _, tc := range []struct {
		name string
		edit func(d string)
		log  string // --log, if any
		// shown: the message quotes the hostile bytes (escaped).
		shown bool
	}{
		{name: "MetaManifest origin", shown: true, edit: func(d string) {
			lines(mm(d), func(ls []string) []string { ls[1] = "origin example.org/tree" + H; return ls })
		}},
		{name: "MetaManifest commit", edit: func(d string) {
			lines(mm(d), func(ls []string) []string {
				return append(ls[:4], append([]string{"commit " + H}, ls[4:]...)...)
			})
		}},
		{name: "MetaManifest signature name", edit: func(d string) {
			lines(mm(d), func(ls []string) []string { i := find(ls, "— "); ls[i] = "— " + H + " " + ls[i][4:]; return ls })
		}},
		{name: "MetaManifest trailing bytes", edit: func(d string) {
			lines(mm(d), func(ls []string) []string { return append(ls, H) })
		}},
		{name: "proof header", edit: func(d string) {
			lines(pf(d), func(ls []string) []string { ls[0] = H; return ls })
		}},
		{name: "proof index", shown: true, edit: func(d string) {
			lines(pf(d), func(ls []string) []string { ls[find(ls, "index ")] = "index 0" + H; return ls })
		}},
		{name: "proof checkpoint origin", shown: true, edit: func(d string) {
			lines(pf(d), func(ls []string) []string { i := find(ls, n.Opts.LogOrigin); ls[i] += H; return ls })
		}},
		{name: "proof checkpoint extension", edit: func(d string) {
			lines(pf(d), func(ls []string) []string {
				i := find(ls, n.Opts.LogOrigin) + 3
				return append(ls[:i], append([]string{"ext " + H}, ls[i:]...)...)
			})
		}},
		{name: "proof cosignature name", edit: func(d string) {
			lines(pf(d), func(ls []string) []string {
				i := find(ls, "— witness")
				ls[i] = "— " + H + ls[i][len("— witness"):]
				return ls
			})
		}},
		{name: "file name in the tree", shown: true, edit: func(d string) {
			os.WriteFile(filepath.Join(d, H+".ebuild"), []byte("EAPI=8\n"), 0o644)
		}},
		{name: "log checkpoint", shown: true, log: serve(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(n.Opts.LogOrigin + H + "\n1\n" + H + "\n\n— " + H + " AAAA\n"))
		})},
		{name: "log error body and tiles", log: serve(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/checkpoint" {
				logFiles.ServeHTTP(w, r)
				return
			}
			w.Write([]byte(strings.Repeat(H, 300)))
		})},
		{name: "HTTP reason phrase", shown: true, log: hostile.RawHTTP(t, "HTTP/1.1 503 "+H+"\r\nContent-Length: 2\r\n\r\n"+H[:2])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := filepath.Join(t.TempDir(), "tree")
			if err := mirror.CopyTree(snaps[0].Dir, d); err != nil {
				t.Fatal(err)
			}
			if tc.edit != nil {
				tc.edit(d)
			}
			for _, extra := range [][]string{nil, {"-v"}, {"--json"}} {
				args := append([]string{"verify", "--policy", n.PolicyFile, "--publishers", n.PublishersFile, "--state", t.TempDir()}, extra...)
				if tc.log != "" {
					args = append(args, "--log", tc.log)
				}
				cmd := exec.Command(bin, append(args, d)...)
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				err := cmd.Run()
				var ee *exec.ExitError
				if !errors.As(err, &ee) {
					t.Fatalf("%v: %v, want a refusal\n%s", extra, err, out.String())
				}
				// Where the message quotes the bytes, they show escaped.
				if tc.shown && !strings.Contains(strings.ToLower(out.String()), `\x1b[2j`) {
					t.Errorf("%v: the hostile bytes are not shown escaped:\n%s", extra, out.String())
				}
				if bad := hostile.Find(out.String()); bad != "" {
					t.Errorf("%v: exit %d, output holds %s:\n%s", extra, ee.ExitCode(), bad, out.String())
				}
			}
		})
	}

	// The size first: a 2 GB top-level Manifest (sparse: it costs no disk)
	// is refused by its size, before it is read, so that the memory
	// treelog verify uses stays that of an honest tree's verification.
	t.Run("2 GB top-level Manifest", func(t *testing.T) {
		rss := func(d string) (int64, string) {
			cmd := exec.Command(bin, "verify", "--offline", "--policy", n.PolicyFile, "--publishers", n.PublishersFile, d)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			cmd.Run()
			return cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10, out.String()
		}
		honest, out := rss(snaps[0].Dir)
		if !strings.HasPrefix(out, "verified ") {
			t.Fatalf("the honest tree: %s", out)
		}
		d := filepath.Join(t.TempDir(), "tree")
		if err := mirror.CopyTree(snaps[0].Dir, d); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(filepath.Join(d, "Manifest"), 2<<30); err != nil {
			t.Fatal(err)
		}
		big, out := rss(d)
		if !strings.Contains(out, "tree check: the top-level Manifest is larger than the ") || !strings.Contains(out, " bytes the MetaManifest pins") {
			t.Errorf("a 2 GB Manifest: %s", out)
		}
		t.Logf("peak RSS: %d MiB verifying the honest tree, %d MiB refusing the 2 GB Manifest", honest>>20, big>>20)
		if big > honest+16<<20 {
			t.Errorf("refusing a 2 GB Manifest took %d MiB at peak, the honest tree %d MiB: it was read", big>>20, honest>>20)
		}
	})
}
