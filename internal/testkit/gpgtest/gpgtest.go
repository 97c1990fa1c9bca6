// Package gpgtest runs GnuPG (Debian's gnupg) for tests: a temporary
// GNUPGHOME with keys made for the test, and Manifests cleartext-signed
// the way gemato signs them (gpg --batch --clearsign). A test that needs
// gpg fails, naming what is missing, when it is not installed.
package gpgtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A Home is a temporary GNUPGHOME.
type Home struct {
	t   *testing.T
	Dir string
}

// New makes a GNUPGHOME for the test and stops its agent at the end.
func New(t *testing.T) *Home {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		t.Fatalf("this test needs GnuPG (Debian package gnupg; .ci/run installs it): %v", err)
	}
	// gpg-agent's socket path must be short: not under t.TempDir's long names.
	dir, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	h := &Home{t: t, Dir: dir}
	t.Cleanup(func() {
		exec.Command("gpgconf", "--homedir", dir, "--kill", "all").Run()
		os.RemoveAll(dir)
	})
	return h
}

// Run runs gpg with args and stdin, failing the test on error.
func (h *Home) Run(stdin []byte, args ...string) []byte {
	h.t.Helper()
	out, err := h.Try(stdin, args...)
	if err != nil {
		h.t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// Try runs gpg with args and stdin and returns its stdout (or, on error,
// its stderr too).
func (h *Home) Try(stdin []byte, args ...string) ([]byte, error) {
	cmd := exec.Command("gpg", append([]string{"--homedir", h.Dir, "--batch", "--no-tty", "--pinentry-mode", "loopback", "--passphrase", ""}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return append(stdout.Bytes(), stderr.Bytes()...), err
	}
	return stdout.Bytes(), nil
}

// GenKey makes a signing key for uid with algo (e.g. "ed25519",
// "rsa2048") expiring after expire (e.g. "1y", "never") and returns its
// fingerprint.
func (h *Home) GenKey(uid, algo, expire string) string {
	h.t.Helper()
	h.Run(nil, "--quick-gen-key", uid, algo, "sign", expire)
	out := h.Run(nil, "--with-colons", "--fingerprint", uid)
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Split(l, ":"); f[0] == "fpr" && len(f) > 9 {
			return f[9]
		}
	}
	h.t.Fatalf("no fingerprint for %s in:\n%s", uid, out)
	return ""
}

// Export returns the public key of uid, ASCII-armored.
func (h *Home) Export(uid string) []byte {
	h.t.Helper()
	return h.Run(nil, "--armor", "--export", uid)
}

// ExportFile writes the armored public key of uid to dir/name and
// returns its path.
func (h *Home) ExportFile(uid, dir, name string) string {
	h.t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, h.Export(uid), 0o644); err != nil {
		h.t.Fatal(err)
	}
	return p
}

// Clearsign signs data with uid's key as gemato does.
func (h *Home) Clearsign(uid string, data []byte) []byte {
	h.t.Helper()
	return h.Run(data, "--clearsign", "--local-user", uid)
}

// ClearsignFile replaces the file at path by its cleartext-signed form.
func (h *Home) ClearsignFile(uid, path string) {
	h.t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(path, h.Clearsign(uid, data), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// Verify runs gpg --verify on a cleartext-signed message and reports
// whether GnuPG accepts it.
func (h *Home) Verify(data []byte) error {
	_, err := h.Try(data, "--verify")
	return err
}
