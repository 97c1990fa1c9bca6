package signd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"treelog/internal/keyfile"
	"treelog/manifest"
	"treelog/metamanifest"
	"treelog/note"
	"treelog/signer"
	"treelog/trust"
)

const (
	testOrigin = "example.org/tree"
	testPass   = "correct horse battery staple"
)

// clock is a settable clock for unit tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is a daemon serving on real Unix sockets in a temporary
// directory, with one origin whose tree is dir/tree.
type fixture struct {
	dir, tree   string
	sock, admin string
	vkey        string
	clock       *clock
	reg         *prometheus.Registry
	d           *Daemon
	srv         *Server
	j           *Journal
}

// writeKey writes an encrypted publisher key (cheap scrypt, for tests) and
// returns its vkey.
func writeKey(t testing.TB, prefix, name, pass string) string {
	t.Helper()
	skey, vkey, err := note.GenerateKey(nil, name, note.TypeEd25519)
	if err != nil {
		t.Fatal(err)
	}
	if err := keyfile.WriteEncrypted(prefix, skey, vkey, pass, keyfile.WithWorkFactor(10)); err != nil {
		t.Fatal(err)
	}
	return vkey
}

// makeTree writes a small tree and its Manifest with TIMESTAMP ts.
func makeTree(t testing.TB, dir string, ts time.Time) {
	t.Helper()
	os.MkdirAll(filepath.Join(dir, "app-misc/hello"), 0o755)
	os.WriteFile(filepath.Join(dir, "app-misc/hello/hello-1.0.ebuild"), []byte("EAPI=8\n"), 0o644)
	if _, err := manifest.Create(context.Background(), dir, manifest.WithTimestamp(ts)); err != nil {
		t.Fatal(err)
	}
}

// request describes the tree in dir as a publisher would ask for it.
func request(t testing.TB, dir string) *metamanifest.MetaManifest {
	t.Helper()
	top, err := os.ReadFile(filepath.Join(dir, "Manifest"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := metamanifest.New(testOrigin, top, "")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newFixture(t *testing.T, extraConfig string) *fixture {
	t.Helper()
	dir, err := os.MkdirTemp("", "signd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	f := &fixture{dir: dir, tree: filepath.Join(dir, "tree"), sock: filepath.Join(dir, "s"), admin: filepath.Join(dir, "a"),
		clock: &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}}
	f.vkey = writeKey(t, filepath.Join(dir, "rel"), "example.org/release", testPass)
	makeTree(t, f.tree, f.clock.now().Add(-time.Hour))
	cfg := fmt.Sprintf("key %s rel.key.age\norigin %s tree example.org/release\n%s", f.vkey, testOrigin, extraConfig)
	os.WriteFile(filepath.Join(dir, "origins"), []byte(cfg), 0o644)
	f.start(t, Access{UIDs: map[uint32]bool{uint32(os.Getuid()): true}})
	return f
}

// start (re)starts the daemon on the fixture's files.
func (f *fixture) start(t *testing.T, access Access) {
	t.Helper()
	data, _ := os.ReadFile(filepath.Join(f.dir, "origins"))
	cfg, err := ParseConfig(data, f.dir, "origins")
	if err != nil {
		t.Fatal(err)
	}
	f.j, _, err = OpenJournal(filepath.Join(f.dir, "journal"))
	if err != nil {
		t.Fatal(err)
	}
	f.reg = prometheus.NewRegistry()
	f.d, err = New(cfg, f.j, WithClock(f.clock.now), WithUnlockFor(time.Hour), WithRegistry(f.reg))
	if err != nil {
		t.Fatal(err)
	}
	f.srv = &Server{Daemon: f.d, Access: access, AdminAccess: Access{UIDs: map[uint32]bool{uint32(os.Getuid()): true}}}
	sl, err := Listen(f.sock, 0o660, -1)
	if err != nil {
		t.Fatal(err)
	}
	al, err := Listen(f.admin, 0o600, -1)
	if err != nil {
		t.Fatal(err)
	}
	go f.srv.ServeSign(sl)
	go f.srv.ServeAdmin(al)
	t.Cleanup(f.stop)
}

func (f *fixture) stop() {
	if f.srv == nil {
		return
	}
	f.srv.Shutdown(context.Background())
	f.j.Close()
	f.srv = nil
}

func (f *fixture) admin1(t *testing.T, cmd string, passes ...string) (string, error) {
	t.Helper()
	body, err := signer.Call(context.Background(), f.admin, MarshalAdminRequest(cmd, passes))
	return string(body), err
}

func (f *fixture) sign(m *metamanifest.MetaManifest) ([]byte, error) {
	return signer.Unix(f.sock).Sign(context.Background(), m)
}

// wantRefused checks err is the daemon's refusal with code, mentioning all of want.
func wantRefused(t *testing.T, err error, code string, want ...string) {
	t.Helper()
	var re *signer.RefusedError
	if !errors.As(err, &re) || re.Code != code {
		t.Fatalf("got %v, want a refusal %q", err, code)
	}
	for _, w := range want {
		if !strings.Contains(re.Message, w) {
			t.Errorf("refusal %q does not say %q", re.Message, w)
		}
	}
}

func (f *fixture) verify(t *testing.T, msg []byte) *metamanifest.Signed {
	t.Helper()
	pubs, err := trust.ParsePublishers([]byte("publisher " + testOrigin + " " + f.vkey + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := metamanifest.Verify(msg, pubs)
	if err != nil {
		t.Fatalf("the daemon's signature does not verify: %v", err)
	}
	return s
}

// Locked at start: every request refused with "locked since"; a wrong
// passphrase leaves it locked; the right one unlocks; the signature
// verifies and is in the journal before the answer.
func TestLockUnlockSign(t *testing.T) {
	f := newFixture(t, "")
	m := request(t, f.tree)
	_, err := f.sign(m)
	wantRefused(t, err, signer.CodeLocked, "locked since 2026-03-01T12:00:00Z", "signd unlock")
	if v := testutil.ToFloat64(f.d.m.locked); v != 1 {
		t.Errorf("signd_locked %v while locked", v)
	}
	_, err = f.admin1(t, CmdUnlock, "wrong", "also wrong")
	wantRefused(t, err, signer.CodeWrongPass, "example.org/release", "stays locked")
	if st, _ := f.admin1(t, CmdStatus); !strings.HasPrefix(st, "locked since") {
		t.Errorf("status after a wrong passphrase:\n%s", st)
	}
	st, err := f.admin1(t, CmdUnlock, "wrong", testPass)
	if err != nil || !strings.HasPrefix(st, "unlocked until 2026-03-01T13:00:00Z") {
		t.Fatalf("unlock: %v\n%s", err, st)
	}
	if v := testutil.ToFloat64(f.d.m.locked); v != 0 {
		t.Errorf("signd_locked %v while unlocked", v)
	}
	msg, err := f.sign(m)
	if err != nil {
		t.Fatal(err)
	}
	s := f.verify(t, msg)
	if s.Text() != m.Text() {
		t.Errorf("signed another MetaManifest:\n%s", s.Text())
	}
	recs, cut, err := ReadJournal(filepath.Join(f.dir, "journal"))
	if err != nil || cut != 0 || len(recs) != 1 || string(recs[0].MetaManifest) != string(msg) || recs[0].UID != uint32(os.Getuid()) {
		t.Fatalf("journal: %v cut %d %+v", err, cut, recs)
	}
	for outcome, want := range map[string]float64{"signed": 1, signer.CodeLocked: 1} {
		if v := testutil.ToFloat64(f.d.m.requests.WithLabelValues(outcome)); v != want {
			t.Errorf("signd_requests_total{outcome=%q} = %v, want %v", outcome, v, want)
		}
	}
	// An operator locks it at once.
	if _, err := f.admin1(t, CmdLock); err != nil {
		t.Fatal(err)
	}
	m2 := *m
	_, err = f.sign(&m2)
	wantRefused(t, err, signer.CodeLocked, "locked by uid")
}

// The unlock lasts --unlock-for on the daemon's clock, then it relocks.
func TestRelocksAfterUnlockFor(t *testing.T) {
	f := newFixture(t, "")
	if _, err := f.admin1(t, CmdUnlock, testPass); err != nil {
		t.Fatal(err)
	}
	f.clock.add(59 * time.Minute)
	if _, err := f.sign(request(t, f.tree)); err != nil {
		t.Fatalf("59 minutes into an unlock of 1h: %v", err)
	}
	f.clock.add(time.Minute)
	makeTree(t, f.tree, f.clock.now().Add(-time.Minute))
	_, err := f.sign(request(t, f.tree))
	wantRefused(t, err, signer.CodeLocked, "locked since 2026-03-01T13:00:00Z", "the unlock expired after 1h0m0s")
	if v := testutil.ToFloat64(f.d.m.locked); v != 1 {
		t.Errorf("signd_locked %v after the unlock expired", v)
	}
}

// The daemon signs only the tree on its disk, as it is when it signs.
func TestRefusals(t *testing.T) {
	f := newFixture(t, "")
	if _, err := f.admin1(t, CmdUnlock, testPass); err != nil {
		t.Fatal(err)
	}
	good := request(t, f.tree)

	// A hash that does not match the tree on disk.
	bad := *good
	bad.ManifestHashes = manifest.HashBytes([]byte("another Manifest\n"), metamanifest.Hashes)
	_, err := f.sign(&bad)
	wantRefused(t, err, signer.CodeMismatch, "does not have the hashes of the request")
	bad = *good
	bad.ManifestSize++
	_, err = f.sign(&bad)
	wantRefused(t, err, signer.CodeMismatch, "the request says")
	// A TIMESTAMP that is not the Manifest's.
	bad = *good
	bad.Timestamp = good.Timestamp.Add(time.Second)
	_, err = f.sign(&bad)
	wantRefused(t, err, signer.CodeMismatch, "is not the TIMESTAMP")
	// An origin it does not hold.
	bad = *good
	bad.Origin = "example.org/other"
	_, err = f.sign(&bad)
	wantRefused(t, err, signer.CodeUnknownOrigin, `"example.org/other" is not configured`)

	// A file of the tree changed after the Manifest was made.
	ebuild := filepath.Join(f.tree, "app-misc/hello/hello-1.0.ebuild")
	os.WriteFile(ebuild, []byte("EAPI=8\necho pwned\n"), 0o644)
	_, err = f.sign(good)
	wantRefused(t, err, signer.CodeTreeInvalid, "does not verify", "hello-1.0.ebuild")
	os.WriteFile(ebuild, []byte("EAPI=8\n"), 0o644)

	// The Manifest changed between hashing and signing: after the checks,
	// before the signature (the hook runs at that point).
	f.d.afterCheck = func(string) {
		makeTree(t, f.tree, good.Timestamp.Add(time.Minute))
	}
	_, err = f.sign(good)
	wantRefused(t, err, signer.CodeTreeChanged, "changed while the tree was being checked")
	f.d.afterCheck = nil

	// None of these was signed or recorded.
	if n := f.j.Len(); n != 0 {
		t.Fatalf("journal holds %d records after refusals", n)
	}
	cur := request(t, f.tree)
	if _, err := f.sign(cur); err != nil {
		t.Fatal(err)
	}
	// Not newer than the last signed: the same again, and an older one.
	_, err = f.sign(cur)
	wantRefused(t, err, signer.CodeStale, "is not newer than")
	makeTree(t, f.tree, cur.Timestamp.Add(-time.Hour))
	_, err = f.sign(request(t, f.tree))
	wantRefused(t, err, signer.CodeStale, "is not newer than")
	// Too far in the future would block every later snapshot.
	makeTree(t, f.tree, f.clock.now().Add(time.Hour))
	_, err = f.sign(request(t, f.tree))
	wantRefused(t, err, signer.CodeFuture, "in the future")
	// Malformed requests.
	for _, req := range []string{"", "sign please\n", signer.RequestHeader + "\norigin x\n"} {
		_, err := signer.Call(context.Background(), f.sock, []byte(req))
		wantRefused(t, err, signer.CodeMalformed)
	}
	if n := f.j.Len(); n != 1 {
		t.Fatalf("journal holds %d records, want 1", n)
	}
}

// skip-tree-verify checks only the top-level Manifest.
func TestSkipTreeVerify(t *testing.T) {
	f := newFixture(t, "skip-tree-verify "+testOrigin+"\n")
	f.admin1(t, CmdUnlock, testPass)
	os.WriteFile(filepath.Join(f.tree, "app-misc/hello/hello-1.0.ebuild"), []byte("changed\n"), 0o644)
	if _, err := f.sign(request(t, f.tree)); err != nil {
		t.Fatalf("with skip-tree-verify: %v", err)
	}
}

// A caller the access list does not name is refused, whatever the socket
// file's mode: the kernel's peer credentials decide.
func TestPeerCredentialsRefused(t *testing.T) {
	f := newFixture(t, "")
	f.stop()
	f.start(t, Access{UIDs: map[uint32]bool{uint32(os.Getuid()) + 1: true}, GIDs: map[uint32]bool{}})
	f.admin1(t, CmdUnlock, testPass)
	_, err := f.sign(request(t, f.tree))
	wantRefused(t, err, signer.CodeDenied, fmt.Sprintf("uid %d", os.Getuid()), "may not use this socket")
	if v := testutil.ToFloat64(f.d.m.requests.WithLabelValues(signer.CodeDenied)); v != 1 {
		t.Errorf("denied requests counted %v", v)
	}
	// By group: the caller's group opens it.
	f.stop()
	f.start(t, Access{UIDs: map[uint32]bool{}, GIDs: map[uint32]bool{uint32(os.Getgid()): true}})
	f.admin1(t, CmdUnlock, testPass)
	if _, err := f.sign(request(t, f.tree)); err != nil {
		t.Fatalf("caller in an allowed group: %v", err)
	}
}

// The last TIMESTAMP per origin survives a restart (the journal is the
// state), and a record cut short by a crash is dropped, not fatal.
func TestStateSurvivesRestart(t *testing.T) {
	f := newFixture(t, "")
	f.admin1(t, CmdUnlock, testPass)
	m := request(t, f.tree)
	msg, err := f.sign(m)
	if err != nil {
		t.Fatal(err)
	}
	f.stop()
	// A crash while appending the next record leaves part of it.
	jf, _ := os.OpenFile(filepath.Join(f.dir, "journal"), os.O_WRONLY|os.O_APPEND, 0)
	jf.Write((&Record{Time: f.clock.now(), MetaManifest: msg}).Marshal()[:60])
	jf.Close()
	f.start(t, Access{UIDs: map[uint32]bool{uint32(os.Getuid()): true}})
	f.admin1(t, CmdUnlock, testPass)
	_, err = f.sign(m)
	wantRefused(t, err, signer.CodeStale, "is not newer than "+m.Timestamp.Format(time.RFC3339))
	makeTree(t, f.tree, m.Timestamp.Add(time.Second))
	if _, err := f.sign(request(t, f.tree)); err != nil {
		t.Fatal(err)
	}
	recs, cut, err := ReadJournal(filepath.Join(f.dir, "journal"))
	if err != nil || cut != 0 || len(recs) != 2 {
		t.Fatalf("journal after restart: %v, cut %d, %d records", err, cut, len(recs))
	}
	if st, _ := f.admin1(t, CmdStatus); !strings.Contains(st, "last "+m.Timestamp.Add(time.Second).Format(time.RFC3339)) {
		t.Errorf("status:\n%s", st)
	}
}

// A key file that holds another key than the configured vkey is refused
// at unlock, and the daemon stays locked.
func TestUnlockChecksTheKey(t *testing.T) {
	f := newFixture(t, "")
	f.stop()
	other := writeKey(t, filepath.Join(f.dir, "other"), "example.org/release", testPass)
	_ = other
	os.Rename(filepath.Join(f.dir, "other.key.age"), filepath.Join(f.dir, "rel.key.age"))
	f.start(t, Access{UIDs: map[uint32]bool{uint32(os.Getuid()): true}})
	_, err := f.admin1(t, CmdUnlock, testPass)
	wantRefused(t, err, signer.CodeInternal, "not the configured")
	_, err = f.sign(request(t, f.tree))
	wantRefused(t, err, signer.CodeLocked)
}

func TestParseConfig(t *testing.T) {
	_, vkey, _ := note.GenerateKey(nil, "k", note.TypeEd25519)
	good := "# keys\nkey " + vkey + " /etc/k.key.age\norigin a.example/t /srv/t k\norigin b.example/t rel k\nskip-tree-verify b.example/t\n"
	c, err := ParseConfig([]byte(good), "/etc/signd", "origins")
	if err != nil {
		t.Fatal(err)
	}
	if o := c.Origins["b.example/t"]; o.Dir != "/etc/signd/rel" || o.VerifyTree || !c.Origins["a.example/t"].VerifyTree {
		t.Errorf("parsed %+v", o)
	}
	for _, bad := range []struct{ text, want string }{
		{"", "no origin"},
		{"key " + vkey + "\n", "want \"key <vkey>"},
		{"key nope f\n", "verifier key"},
		{"key " + vkey + " f\nkey " + vkey + " g\n", "already on line 1"},
		{"origin a.example/t d k\n", `no key named "k"`},
		{"key " + vkey + " f\norigin a.example/t d\n", "want \"origin"},
		{"key " + vkey + " f\norigin a+b d k\n", "origin"},
		{"key " + vkey + " f\norigin a.example/t d k\norigin a.example/t e k\n", "configured twice"},
		{"key " + vkey + " f\norigin a.example/t d k k\n", "named twice"},
		{"key " + vkey + " f\norigin a.example/t d k\nskip-tree-verify b\n", "not configured"},
		{"keys x\n", "unknown keyword"},
	} {
		if _, err := ParseConfig([]byte(bad.text), "/", "origins"); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: %v, want %q", bad.text, err, bad.want)
		}
	}
}

func TestJournalFormat(t *testing.T) {
	f := newFixture(t, "")
	f.admin1(t, CmdUnlock, testPass)
	msg, err := f.sign(request(t, f.tree))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(f.dir, "journal"))
	want := fmt.Sprintf("%s\nsigned 2026-03-01T12:00:00Z uid %d pid %d size %d\n%s", JournalHeader, os.Getuid(), os.Getpid(), len(msg), msg)
	if string(data) != want {
		t.Errorf("journal:\n%s\nwant:\n%s", data, want)
	}
	// Every prefix parses (a crash may cut it anywhere); a changed
	// complete record is corruption.
	for i := range len(data) {
		recs, complete, err := ParseJournal(data[:i])
		if err != nil || len(recs) != 0 || complete > i {
			t.Fatalf("prefix %d: %v, %d records, complete %d", i, err, len(recs), complete)
		}
	}
	for _, bad := range []string{
		strings.Replace(string(data), "uid", "UID", 1),
		strings.Replace(string(data), "size ", "size 0", 1),
		strings.Replace(string(data), "treelog-metamanifest/v1", "treelog-metamanifest/v2", 1),
		"not a journal\n",
	} {
		if _, _, err := ParseJournal([]byte(bad)); !errors.Is(err, ErrJournalCorrupt) {
			t.Errorf("%.40q: %v, want ErrJournalCorrupt", bad, err)
		}
	}
}
