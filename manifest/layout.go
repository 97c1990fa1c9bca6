package manifest

import (
	"fmt"
	"strings"
)

// A Layout decides where Create puts Manifests, what they IGNORE, and which
// are compressed.
type Layout int

const (
	// LayoutPlain puts one top-level Manifest over the whole tree.
	LayoutPlain Layout = iota
	// LayoutGentoo follows gemato's "ebuild" profile for ebuild
	// repositories: a Manifest per category and package directory, per
	// top-level directory with subdirectories and in eclass, licenses,
	// metadata and profiles, in metadata/{dtd,glsa,md5-cache,news,xml-schema}
	// and per metadata/md5-cache/<category>; the standard IGNOREs; sub-
	// Manifests of 128 bytes or more gzip-compressed.
	LayoutGentoo
)

// ParseLayout parses "gentoo" or "plain".
func ParseLayout(s string) (Layout, error) {
	switch s {
	case "plain":
		return LayoutPlain, nil
	case "gentoo", "ebuild":
		return LayoutGentoo, nil
	}
	return 0, fmt.Errorf("layout %q: want gentoo or plain", s)
}

func (l Layout) String() string {
	if l == LayoutGentoo {
		return "gentoo"
	}
	return "plain"
}

// compressWatermark is gemato's: below it gzip gains nothing.
const compressWatermark = 128

// wantManifest reports whether directory rel (not the root) gets its own
// Manifest, given its subdirectory and file names (dot-names and ignored
// names already removed).
func (l Layout) wantManifest(rel string, dirs, files []string) bool {
	if l != LayoutGentoo {
		return false
	}
	for _, f := range files {
		if f == "metadata.xml" {
			return true // packages and most categories
		}
	}
	spl := strings.Split(rel, "/")
	switch len(spl) {
	case 1:
		if len(dirs) > 0 {
			return true
		}
		switch rel {
		case "eclass", "licenses", "metadata", "profiles":
			return true
		}
	case 2:
		for _, f := range files {
			if strings.HasSuffix(f, ".ebuild") {
				return true // a package directory without metadata.xml
			}
		}
		if spl[0] == "metadata" {
			switch spl[1] {
			case "dtd", "glsa", "md5-cache", "news", "xml-schema":
				return true
			}
		}
	case 3:
		return spl[0] == "metadata" && spl[1] == "md5-cache"
	}
	return false
}

// ignores returns the IGNORE paths of a new Manifest in directory rel.
func (l Layout) ignores(rel string) []string {
	if l != LayoutGentoo {
		return nil
	}
	switch rel {
	case topDir:
		return []string{"distfiles", "local", "lost+found", "packages"}
	case "metadata":
		return []string{"timestamp", "timestamp.chk", "timestamp.commit", "timestamp.x"}
	case "metadata/dtd", "metadata/glsa", "metadata/news", "metadata/xml-schema":
		return []string{"timestamp.chk", "timestamp.commit"}
	}
	return nil
}

// compress reports whether the Manifest of directory rel, of the given
// uncompressed size, is written gzip-compressed. Package Manifests that
// carry DIST lines stay uncompressed: package managers read distfile
// checksums from the plain Manifest of a package directory.
func (l Layout) compress(rel string, size int, hasDist bool) bool {
	return l == LayoutGentoo && rel != topDir && size >= compressWatermark && !hasDist
}
