// Package treegen generates Gentoo-shaped ebuild repositories,
// deterministically from a seed, for tests, benchmarks and the demo:
// categories of packages with ebuilds, metadata.xml, files/ patches and thin
// Manifests with DIST lines, metadata/md5-cache, eclasses, licenses,
// profiles and GLSAs. At the default size it is like the Gentoo main tree:
// about 150,000 files and 300 MB once Manifests are created.
package treegen

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// Options size the tree. The zero value of a field takes the default.
type Options struct {
	// Seed makes the tree; the same seed gives the same bytes.
	Seed uint64
	// Packages is the number of packages (default 19,000, as Gentoo has).
	Packages int
}

// Stats describes a generated tree.
type Stats struct {
	Files int
	Bytes int64
}

// DefaultPackages is the package count of the Gentoo main tree.
const DefaultPackages = 19000

var words = strings.Fields(`the of and to in is for on with as by at from that this be are or an it not
	install build depend use flag ebuild package version license source tarball patch fix update
	src_prepare src_configure src_compile src_install pkg_setup econf emake default inherit eapply
	KEYWORDS IUSE RDEPEND BDEPEND SLOT HOMEPAGE DESCRIPTION amd64 arm64 x86 ppc riscv ~amd64 dev-libs
	sys-apps net-misc app-misc python perl ruby rust golang cmake meson autotools libtool gcc clang
	test doc static-libs ssl zlib xml gtk qt5 qt6 wayland X systemd pam nls ipv6 threads readline`)

type gen struct {
	r     *rand.Rand
	scale float64 // the tree's size relative to the Gentoo main tree
	root  string
	stats Stats
	err   error
}

// Generate writes a tree into dir (which must be empty or absent).
func Generate(dir string, o Options) (Stats, error) {
	if o.Packages <= 0 {
		o.Packages = DefaultPackages
	}
	g := &gen{r: rand.New(rand.NewPCG(o.Seed, 0x7472656567656e)), root: dir, scale: float64(o.Packages) / DefaultPackages}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Stats{}, err
	}
	cats := max(1, o.Packages/112)
	var catNames []string
	for c := range cats {
		catNames = append(catNames, fmt.Sprintf("%s-%s%d", pick(g.r, []string{"app", "dev", "sys", "net", "media", "x11", "games", "sci"}), pick(g.r, []string{"misc", "libs", "util", "python", "lang", "apps", "tools"}), c))
	}
	for i := range o.Packages {
		g.pkg(catNames[i%cats], fmt.Sprintf("pkg%d-%s", i, pick(g.r, words)))
	}
	for _, c := range catNames {
		g.file(c+"/metadata.xml", g.xml(600))
	}
	g.many("eclass", 300, ".eclass", 4000, 40000)
	g.many("licenses", 600, "", 2000, 20000)
	g.many("profiles/desc", 200, ".desc", 200, 3000)
	g.many("profiles/updates", 80, "", 500, 8000)
	g.many("profiles/arch", 400, "/make.defaults", 100, 2000)
	g.many("metadata/glsa", 3000, ".xml", 2000, 8000)
	g.many("metadata/news", 200, ".en.txt", 500, 3000)
	g.file("profiles/categories", []byte(strings.Join(catNames, "\n")+"\n"))
	g.file("profiles/repo_name", []byte("gentoo\n"))
	g.file("profiles/use.desc", g.text(20000))
	g.file("profiles/use.local.desc", g.text(g.scaled(900000)))
	g.file("profiles/package.mask", g.text(g.scaled(300000)))
	g.file("metadata/layout.conf", []byte("masters =\nthin-manifests = true\nsign-manifests = false\nmanifest-hashes = BLAKE2B SHA512\n"))
	g.file("metadata/pkg_desc_index", g.text(g.scaled(1500000)))
	g.file("metadata/timestamp.chk", []byte("Sun, 22 Nov 2026 12:00:00 +0000\n"))
	g.file("header.txt", []byte("# Copyright 1999-2026 Gentoo Authors\n"))
	return g.stats, g.err
}

func pick(r *rand.Rand, from []string) string { return from[r.IntN(len(from))] }

func (g *gen) pkg(cat, name string) {
	dir := cat + "/" + name
	g.file(dir+"/metadata.xml", g.xml(900))
	nver := 1 + g.r.IntN(4)
	var dist []string
	for v := range nver {
		ver := fmt.Sprintf("%d.%d.%d", 1+g.r.IntN(9), g.r.IntN(20), v)
		g.file(fmt.Sprintf("%s/%s-%s.ebuild", dir, name, ver), g.ebuild(1000+g.r.IntN(2000)))
		g.file(fmt.Sprintf("metadata/md5-cache/%s/%s-%s", cat, name, ver), g.text(800+g.r.IntN(1000)))
		tarball := fmt.Sprintf("%s-%s.tar.gz", name, ver)
		dist = append(dist, fmt.Sprintf("DIST %s %d BLAKE2B %s SHA512 %s", tarball, 10000+g.r.IntN(50_000_000), g.hex(64), g.hex(64)))
	}
	g.file(dir+"/Manifest", []byte(strings.Join(dist, "\n")+"\n"))
	if g.r.IntN(10) < 3 {
		for p := range 1 + g.r.IntN(4) {
			g.file(fmt.Sprintf("%s/files/%s-fix%d.patch", dir, name, p), g.text(500+g.r.IntN(9000)))
		}
	}
}

// scaled returns n scaled to the tree's size, at least 2.
func (g *gen) scaled(n int) int { return max(2, int(float64(n)*g.scale)) }

func (g *gen) many(dir string, n int, suffix string, minSize, maxSize int) {
	for i := range g.scaled(n) {
		g.file(fmt.Sprintf("%s/%s%d%s", dir, pick(g.r, words), i, suffix), g.text(minSize+g.r.IntN(maxSize-minSize)))
	}
}

func (g *gen) hex(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	return hex.EncodeToString(b)
}

// text returns about n bytes of word salad, in lines.
func (g *gen) text(n int) []byte {
	b := make([]byte, 0, n+16)
	col := 0
	for len(b) < n {
		w := pick(g.r, words)
		b = append(b, w...)
		col += len(w) + 1
		if col > 70 {
			b = append(b, '\n')
			col = 0
		} else {
			b = append(b, ' ')
		}
	}
	return append(b, '\n')
}

func (g *gen) ebuild(n int) []byte {
	head := "# Copyright 1999-2026 Gentoo Authors\n# Distributed under the terms of the GNU General Public License v2\n\nEAPI=8\n\n"
	return append([]byte(head), g.text(n)...)
}

func (g *gen) xml(n int) []byte {
	return []byte("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<pkgmetadata>\n" + string(g.text(n)) + "</pkgmetadata>\n")
}

func (g *gen) file(rel string, data []byte) {
	if g.err != nil {
		return
	}
	p := filepath.Join(g.root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		g.err = err
		return
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		g.err = err
		return
	}
	g.stats.Files++
	g.stats.Bytes += int64(len(data))
}

// Evolve changes a generated tree as a day of development would: it edits
// some ebuilds and adds a new package version, deterministically from seed.
// It returns the paths (relative, "/"-separated) it changed or added.
func Evolve(dir string, seed uint64, edits int) ([]string, error) {
	r := rand.New(rand.NewPCG(seed, 0x65766f6c7665))
	var ebuilds []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && p != dir {
			return filepath.SkipDir
		}
		if strings.HasSuffix(p, ".ebuild") {
			rel, _ := filepath.Rel(dir, p)
			ebuilds = append(ebuilds, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(ebuilds) == 0 {
		return nil, fmt.Errorf("no ebuilds under %s", dir)
	}
	g := &gen{r: r, root: dir}
	var changed []string
	for range edits {
		e := ebuilds[r.IntN(len(ebuilds))]
		f, err := os.OpenFile(filepath.Join(dir, filepath.FromSlash(e)), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return nil, err
		}
		_, err = f.Write(g.text(100))
		f.Close()
		if err != nil {
			return nil, err
		}
		changed = append(changed, e)
	}
	base := ebuilds[r.IntN(len(ebuilds))]
	added := strings.TrimSuffix(base, ".ebuild") + fmt.Sprintf("-r%d.ebuild", 1+r.IntN(1000))
	g.file(added, g.ebuild(2000))
	return append(changed, added), g.err
}
