package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"treelog/internal/keyfile"
	"treelog/internal/testkit/proc"
	"treelog/manifest"
	"treelog/metamanifest"
	"treelog/note"
	"treelog/signer"
)

const pass = "correct horse battery staple"

// setup is a daemon's files in a fresh directory (short, for socket
// paths): an encrypted key, one tree per origin, the origins file, a
// passphrase file and a --config file.
type setup struct {
	dir, sock, admin, journal, passFile string
	origins                             []string
	vkey                                string
	args                                []string
}

func newSetup(t testing.TB, origins ...string) *setup {
	t.Helper()
	dir, err := os.MkdirTemp("", "signd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := &setup{dir: dir, sock: filepath.Join(dir, "sign.sock"), admin: filepath.Join(dir, "admin.sock"),
		journal: filepath.Join(dir, "journal"), passFile: filepath.Join(dir, "pass"), origins: origins}
	skey, vkey, _ := note.GenerateKey(nil, "example.org/release", note.TypeEd25519)
	if err := keyfile.WriteEncrypted(filepath.Join(dir, "release"), skey, vkey, pass, keyfile.WithWorkFactor(10)); err != nil {
		t.Fatal(err)
	}
	s.vkey = vkey
	cfg := "key " + vkey + " release.key.age\n"
	for i, o := range origins {
		cfg += fmt.Sprintf("origin %s tree%d example.org/release\n", o, i)
		s.makeTree(t, i, time.Now().Add(-time.Hour).Truncate(time.Second))
	}
	os.WriteFile(filepath.Join(dir, "origins"), []byte(cfg), 0o644)
	os.WriteFile(s.passFile, []byte(pass+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "signd.conf"), []byte(fmt.Sprintf(
		"# signd settings\norigins %s/origins\nsocket %s\nadmin-socket %s\njournal %s\nlisten 127.0.0.1:1\n", dir, s.sock, s.admin, s.journal)), 0o644)
	s.args = []string{"serve", "--config", filepath.Join(dir, "signd.conf"), "--listen", "127.0.0.1:0"}
	return s
}

func (s *setup) tree(i int) string { return filepath.Join(s.dir, fmt.Sprintf("tree%d", i)) }

// makeTree (re)writes tree i and its Manifest with TIMESTAMP ts.
func (s *setup) makeTree(t testing.TB, i int, ts time.Time) {
	t.Helper()
	d := s.tree(i)
	os.MkdirAll(filepath.Join(d, "app-misc/hello"), 0o755)
	os.WriteFile(filepath.Join(d, "app-misc/hello/hello-1.0.ebuild"), []byte("EAPI=8\n"), 0o644)
	if _, err := manifest.Create(context.Background(), d, manifest.WithTimestamp(ts)); err != nil {
		t.Fatal(err)
	}
}

// request is what a publisher asks for tree i as it is now.
func (s *setup) request(t testing.TB, i int) *metamanifest.MetaManifest {
	t.Helper()
	top, err := os.ReadFile(filepath.Join(s.tree(i), "Manifest"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := metamanifest.New(s.origins[i], top, "")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (s *setup) sign(m *metamanifest.MetaManifest) ([]byte, error) {
	return signer.Unix(s.sock).Sign(context.Background(), m)
}

func runCmd(args ...string) (string, int) {
	var out bytes.Buffer
	rc := run(args, &out, &out)
	return out.String(), rc
}

func refusedWith(err error, code string) bool {
	var re *signer.RefusedError
	return errors.As(err, &re) && re.Code == code
}

func metrics(t *testing.T, p *proc.Proc) string {
	t.Helper()
	resp, err := http.Get(p.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// The daemon as an operator runs it: --config, locked at start (refusal,
// metric, log line), a wrong passphrase refused, unlock, a signature, the
// relock after a short --unlock-for, a graceful SIGTERM, and the TIMESTAMP
// state across the restart.
func TestDaemon(t *testing.T) {
	s := newSetup(t, "example.org/tree")
	bin, err := proc.Build("treelog/cmd/signd", s.dir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := proc.Start(bin, append(s.args, "--unlock-for", "3s")...)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	if !strings.Contains(p.Logs(), "locked: every request is refused") {
		t.Errorf("no log line says it is locked:\n%s", p.Logs())
	}
	m := s.request(t, 0)
	if _, err := s.sign(m); !refusedWith(err, signer.CodeLocked) || !strings.Contains(err.Error(), "locked since") {
		t.Fatalf("locked daemon: %v", err)
	}
	if got := metrics(t, p); !strings.Contains(got, "signd_locked 1") || !strings.Contains(got, `signd_requests_total{outcome="locked"} 1`) {
		t.Errorf("metrics while locked:\n%s", grep(got, "signd_"))
	}
	os.WriteFile(filepath.Join(s.dir, "wrong"), []byte("wrong\n"), 0o600)
	if out, rc := runCmd("unlock", "--admin-socket", s.admin, "--passphrase-file", filepath.Join(s.dir, "wrong")); rc != exitRefused || !strings.Contains(out, "wrong-passphrase") {
		t.Fatalf("unlock with a wrong passphrase: %d %s", rc, out)
	}
	if out, rc := runCmd("unlock", "--admin-socket", s.admin, "--passphrase-file", s.passFile); rc != 0 || !strings.HasPrefix(out, "unlocked until") {
		t.Fatalf("unlock: %d %s", rc, out)
	}
	msg, err := s.sign(m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(msg, []byte(m.Text())) {
		t.Fatalf("signed:\n%s", msg)
	}
	// It relocks by itself once --unlock-for has passed.
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, _ := runCmd("status", "--admin-socket", s.admin)
		if strings.HasPrefix(out, "locked since") {
			if !strings.Contains(out, "the unlock expired after 3s") {
				t.Errorf("status: %s", out)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still unlocked 20s after an unlock of 3s:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.makeTree(t, 0, m.Timestamp.Add(time.Second))
	if _, err := s.sign(s.request(t, 0)); !refusedWith(err, signer.CodeLocked) {
		t.Fatalf("after the unlock expired: %v", err)
	}
	if got := metrics(t, p); !strings.Contains(got, "signd_locked 1") || !strings.Contains(got, `signd_requests_total{outcome="signed"} 1`) {
		t.Errorf("metrics after relock:\n%s", grep(got, "signd_"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Stop(ctx); err != nil {
		t.Fatalf("graceful stop: %v\n%s", err, p.Logs())
	}

	// Restarted: the last TIMESTAMP signed is remembered.
	p, err = proc.Start(bin, s.args...)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	if _, rc := runCmd("unlock", "--admin-socket", s.admin, "--passphrase-file", s.passFile); rc != 0 {
		t.Fatal("unlock after restart")
	}
	if _, err := s.sign(m); !refusedWith(err, signer.CodeStale) {
		t.Fatalf("the same TIMESTAMP after a restart: %v", err)
	}
	if _, err := s.sign(s.request(t, 0)); err != nil {
		t.Fatalf("a newer TIMESTAMP after a restart: %v", err)
	}
	out, rc := runCmd("journal", "list", "--journal", s.journal)
	if rc != 0 || !strings.Contains(out, "2 signatures") || !strings.Contains(out, "1 signed ") || !strings.Contains(out, "origin example.org/tree timestamp "+m.Timestamp.Format(time.RFC3339)) {
		t.Errorf("journal list: %d\n%s", rc, out)
	}
	if out, rc := runCmd("lock", "--admin-socket", s.admin); rc != 0 || !strings.HasPrefix(out, "locked since") {
		t.Errorf("lock: %d %s", rc, out)
	}
	// Usage and outages have their own exit codes.
	if _, rc := runCmd("status"); rc != exitUsage {
		t.Errorf("status without --admin-socket: %d", rc)
	}
	if out, rc := runCmd("status", "--admin-socket", filepath.Join(s.dir, "nothere")); rc != exitUnavailable || !strings.Contains(out, "unavailable") {
		t.Errorf("status of no daemon: %d %s", rc, out)
	}
	if _, rc := runCmd("serve", "--socket", s.sock); rc != exitUsage {
		t.Errorf("serve without --origins: %d", rc)
	}
}

func grep(s, prefix string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
